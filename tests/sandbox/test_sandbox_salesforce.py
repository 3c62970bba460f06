"""The fake Salesforce, driven through simple-salesforce exactly as production code drives it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from simple_salesforce import format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from worker.core.ids import to_18
from worker.sandbox.salesforce import FakeSalesforce
from worker.sandbox.server import ManualClock, Sandbox

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bulk_ids(sb: Sandbox) -> list[str]:
    return [sb.salesforce.add_account(Name=f"Bulk {n:05d}", Support_Tier__c="Starter") for n in range(2345)]


def test_versions_need_no_auth(sb: Sandbox, ca_env: str) -> None:
    response = requests.get(f"{sb.salesforce_url}/services/data/", timeout=5)
    assert response.status_code == 200
    assert response.json() == [{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}]
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")


def test_query_all_iter_follows_next_records_url(sb: Sandbox, sf, bulk_ids: list[str]) -> None:
    first = sf.query("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk%'")
    assert first["totalSize"] == 2345 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    record = first["records"][0]
    assert list(record) == ["attributes", "Id", "Name"]
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{record['Id']}"}

    records = list(sf.query_all_iter("select id, NAME from account where name like 'bulk%' order by name desc"))
    assert len(records) == 2345
    assert records[0]["Name"] == "Bulk 02344" and set(records[0]) == {"attributes", "Id", "Name"}
    assert {r["Id"] for r in records} == set(bulk_ids)
    assert any("/query/01g" in path for _, path in sb.salesforce.requests)


def test_batch_size_header(sf, bulk_ids: list[str]) -> None:
    page = sf.query("SELECT Id FROM Account WHERE Name LIKE 'Bulk%'", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(page["records"]) == 500
    more = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert len(more["records"]) == 500 and more["nextRecordsUrl"].endswith("-1000")


def test_unknown_query_locator(sf) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("/services/data/v59.0/query/01gD0000002HU6KIAW-2000", identifier_is_url=True)
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_filters_through_format_soql(sb: Sandbox, sf) -> None:
    clock = ManualClock()
    state = sb.salesforce
    state.clock, saved_clock = clock, state.clock
    try:
        clock.now = 4_000_000_000.0  # 2096: later than anything else in the module
        old = state.add_account(Name="Filter Old", Support_Tier__c="Tier 1", AnnualContractValue__c=5.5,
                                Strategic__c=True)
        clock.advance(3600)
        new = state.add_account(Name="Filter New", Support_Tier__c=None, Complexity__c="High")
    finally:
        state.clock = saved_clock
    cutoff = datetime.fromtimestamp(4_000_000_000 + 60, UTC)
    soql = format_soql("SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > {} AND Name LIKE {}",
                       cutoff, "Filter%")
    assert [r["Id"] for r in sf.query(soql)["records"]] == [new]
    assert sf.query(soql)["records"][0]["SystemModstamp"].endswith(".000+0000")

    def ids(where: str) -> list[str]:
        return [r["Id"] for r in sf.query(f"SELECT Id FROM Account WHERE Name LIKE 'Filter%' AND ({where})"
                                          " ORDER BY Name")["records"]]

    assert ids("Support_Tier__c = null") == [new]
    assert ids("Support_Tier__c != null") == [old]
    assert ids("support_tier__c = 'TIER 1'") == [old]  # text comparison is case-insensitive
    assert ids(format_soql("Id IN {}", [old[:15], "001000000000000AAA"])) == [old]  # 15-char ids match
    assert ids(format_soql("Id NOT IN {}", [old])) == [new]
    assert ids("AnnualContractValue__c >= 5 OR Complexity__c = 'High'") == [new, old]
    assert ids("NOT Strategic__c = true") == [new]
    assert ids("SystemModstamp >= 2096-10-02T07:06:40.000+0000 AND SystemModstamp < 2096-10-02T07:06:41+00:00") \
        == [old]
    assert sf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Filter%'")["totalSize"] == 2


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id, Foo__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Foo__c = 1", "INVALID_FIELD"),
    ("SELECT Id FROM Contactz", "INVALID_TYPE"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Type = 'c'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_query_errors(sf, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    assert caught.value.content[0]["errorCode"] == code


def test_invalid_field_message_is_salesforces(sf) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id, Foo__c FROM Account")
    assert caught.value.content == [{
        "message": "No such column 'Foo__c' on entity 'Account'. If you are attempting to use a custom field, be sure "
                   "to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
                   "for the appropriate names.",
        "errorCode": "INVALID_FIELD"}]


def test_api_usage_limits_and_request_limit_exceeded(make_sf) -> None:
    with Sandbox(salesforce_daily_limit=3) as own:
        own.salesforce.add_account(Name="Only")
        client = make_sf(own)
        client.query("SELECT Id FROM Account")
        assert client.api_usage["api-usage"].used == 1 and client.api_usage["api-usage"].total == 3
        assert client.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 1}
        client.query("SELECT Id FROM Account")
        with pytest.raises(SalesforceRefusedRequest) as caught:
            client.query("SELECT Id FROM Account")
        assert caught.value.status == 403
        assert caught.value.content == [{"message": "TotalRequests Limit exceeded.",
                                         "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        assert client.api_usage["api-usage"].used == 3
        assert own.salesforce.api_used == 3


def test_bad_token_is_invalid_session(sb: Sandbox, make_sf) -> None:
    client = make_sf(sb, token="00Dwrong!token")
    with pytest.raises(SalesforceExpiredSession) as caught:
        client.query("SELECT Id FROM Account")
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_describe_and_unknown_path(sb: Sandbox, sf) -> None:
    describe = sf.Account.describe()
    assert describe["name"] == "Account"
    tier = next(f for f in describe["fields"] if f["name"] == "Support_Tier__c")
    assert tier["type"] == "picklist" and {"Enterprise", "Tier 1"} <= {p["value"] for p in tier["picklistValues"]}
    assert describe["fields"] == sb.salesforce.describe_fields
    response = sf.session.get(f"{sb.salesforce_url}/services/data/v59.0/nope",
                              headers={"Authorization": f"Bearer {sb.salesforce.access_token}"}, timeout=5)
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_fault_injection(sb: Sandbox, sf) -> None:
    sb.salesforce.fail_next(1, 503, [{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}],
                            headers={"Retry-After": "2"}, path_contains="/query")
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.status == 503
    assert len(sf.query("SELECT Id FROM Account LIMIT 1")["records"]) == 1


def test_add_and_update_account_state() -> None:
    clock = ManualClock()
    state = FakeSalesforce(clock=clock)
    first = state.add_account(Name="A", Support_Tier__c="Enterprise")
    second = state.add_account(name="B")  # field names are case-insensitive
    assert len(first) == 18 and first.startswith("001") and to_18(first[:15]) == first
    assert state.accounts[first]["SystemModstamp"] == "2024-05-01T12:00:00.000+0000"
    assert state.accounts[second]["SystemModstamp"] == "2024-05-01T12:00:00.001+0000"  # strictly increasing
    state.update_account(first[:15], Support_Tier__c="Starter")
    assert state.accounts[first]["Support_Tier__c"] == "Starter"
    assert state.accounts[first]["SystemModstamp"] == "2024-05-01T12:00:00.002+0000"
    clock.advance(10)
    state.update_account(first, Type="Prospect")
    assert state.accounts[first]["SystemModstamp"] == "2024-05-01T12:00:10.000+0000"
    with pytest.raises(ValueError, match="No such column"):
        state.add_account(Nmae="typo")
