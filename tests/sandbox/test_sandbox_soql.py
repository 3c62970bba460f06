"""The sandbox's SOQL subset, evaluated directly (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from worker.core.ids import to_18
from worker.sandbox.salesforce import ACCOUNT_SCHEMA
from worker.sandbox.soql import SoqlError, parse

ID_A, ID_B, ID_C = (to_18(f"001000000000{n}Ab") for n in "123")
RECORDS: list[dict[str, Any]] = [
    {"Id": ID_A, "Name": "Alpha", "Type": "Customer", "Support_Tier__c": "Enterprise", "AnnualContractValue__c": 10.0,
     "Strategic__c": True, "SystemModstamp": "2024-01-01T00:00:00.000+0000"},
    {"Id": ID_B, "Name": "beta 50%", "Type": "Prospect", "Support_Tier__c": None, "AnnualContractValue__c": None,
     "Strategic__c": False, "SystemModstamp": "2024-01-01T00:00:01.000+0000"},
    {"Id": ID_C, "Name": "O'Brien", "Type": "Customer", "Support_Tier__c": "starter", "AnnualContractValue__c": 2.5,
     "Strategic__c": False, "SystemModstamp": "2024-06-01T10:00:00.000+0000"},
]


def names(soql: str) -> list[str]:
    query = parse(soql, {"Account": ACCOUNT_SCHEMA})
    return [r["Name"] for r in query.run(RECORDS, ACCOUNT_SCHEMA.fields)]


@pytest.mark.parametrize(("where", "expected"), [
    ("SystemModstamp > 2024-01-01T00:00:00Z", ["beta 50%", "O'Brien"]),
    ("SystemModstamp >= 2024-01-01T00:00:01+00:00", ["beta 50%", "O'Brien"]),
    ("SystemModstamp = 2024-01-01T02:00:01.000+0200", ["beta 50%"]),  # instants, not strings
    ("SystemModstamp < 2024-01-01T00:00:00.500Z", ["Alpha"]),
    ("Name = 'O\\'Brien'", ["O'Brien"]),
    ("Name LIKE '%50\\%'", ["beta 50%"]),
    ("Name LIKE 'a_pha'", ["Alpha"]),
    ("Support_Tier__c IN ('ENTERPRISE', null)", ["Alpha", "beta 50%"]),
    ("Support_Tier__c NOT IN ('Enterprise')", ["beta 50%", "O'Brien"]),
    ("AnnualContractValue__c > 2.5", ["Alpha"]),
    ("AnnualContractValue__c <> 10", ["beta 50%", "O'Brien"]),
    ("Strategic__c = false AND (Type = 'Customer' OR Name = 'beta 50%')", ["beta 50%", "O'Brien"]),
    ("NOT (Type = 'Customer')", ["beta 50%"]),
    (f"Id = '{ID_C[:15]}'", ["O'Brien"]),
    (f"Id = '{ID_C.lower()}'", ["O'Brien"]),
])
def test_where(where: str, expected: list[str]) -> None:
    assert names(f"SELECT Id FROM Account WHERE {where}") == expected


def test_order_limit_offset() -> None:
    assert names("SELECT Name FROM Account ORDER BY Support_Tier__c") == ["beta 50%", "Alpha", "O'Brien"]
    assert names("SELECT Name FROM Account ORDER BY Support_Tier__c DESC") == ["O'Brien", "Alpha", "beta 50%"]
    assert names("SELECT Name FROM Account ORDER BY Support_Tier__c ASC NULLS LAST") == ["Alpha", "O'Brien", "beta 50%"]
    assert names("SELECT Name FROM Account ORDER BY Type DESC, Name LIMIT 2") == ["beta 50%", "Alpha"]
    assert names("select name from account order by name limit 1 offset 1") == ["beta 50%"]


def test_fields_are_canonical_and_count() -> None:
    query = parse("SELECT id, NAME, support_tier__c FROM ACCOUNT", {"Account": ACCOUNT_SCHEMA})
    assert query.fields == ["Id", "Name", "Support_Tier__c"] and query.object_name == "Account"
    assert parse("SELECT COUNT() FROM Account", {"Account": ACCOUNT_SCHEMA}).count_only


@pytest.mark.parametrize(("soql", "code"), [
    ("", "MALFORMED_QUERY"),
    ("SELECT FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'x' OR Name = 'y' AND Type = 'z'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Strategic__c = 'true'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE AnnualContractValue__c = '5'", "INVALID_FIELD"),
    ("SELECT Id FROM Account ORDER BY Nope", "INVALID_FIELD"),
    ("SELECT Contact.Id FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity", "INVALID_TYPE"),
])
def test_errors(soql: str, code: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse(soql, {"Account": ACCOUNT_SCHEMA})
    assert caught.value.code == code
