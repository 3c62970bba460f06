"""Salesforce object metadata the fake org serves: Account's fields (``describe``) and its SOQL schema.

Another sObject is an addition here: its field list, its :class:`~worker.sandbox.soql.Schema`, its defaults.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox import soql


def _picklist(*values: str) -> list[dict[str, Any]]:
    return [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in values]


def _field(name: str, label: str, ftype: str, *, custom: bool = False, nillable: bool = True,
           picklist: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    soap = {"id": "tns:ID", "string": "xsd:string", "picklist": "xsd:string", "currency": "xsd:double",
            "boolean": "xsd:boolean", "datetime": "xsd:dateTime"}[ftype]
    return {"name": name, "label": label, "type": ftype, "soapType": soap, "custom": custom,
            "nillable": nillable, "filterable": True, "sortable": ftype != "textarea",
            "updateable": name not in ("Id", "SystemModstamp", "CreatedDate", "LastModifiedDate", "IsDeleted"),
            "length": extra.pop("length", 0), "picklistValues": picklist or [], "defaultValue": None, **extra}


TIER_VALUES = ("Enterprise", "Tier 1", "Professional", "Tier 2", "Starter", "Tier 3")

ACCOUNT_FIELDS: list[dict[str, Any]] = [
    _field("Id", "Account ID", "id", nillable=False, length=18),
    _field("IsDeleted", "Deleted", "boolean", nillable=False),
    _field("Name", "Account Name", "string", nillable=False, length=255),
    _field("Type", "Account Type", "picklist", picklist=_picklist("Customer", "Prospect", "Partner"), length=255),
    _field("Support_Tier__c", "Support Tier", "picklist", custom=True, picklist=_picklist(*TIER_VALUES),
           length=255),
    _field("AnnualContractValue__c", "Annual Contract Value", "currency", custom=True, precision=18, scale=2),
    _field("Complexity__c", "Complexity", "picklist", custom=True, picklist=_picklist("High", "Medium", "Low"),
           length=255),
    _field("Strategic__c", "Strategic", "boolean", custom=True, nillable=False, defaultValue=False),
    _field("CreatedDate", "Created Date", "datetime", nillable=False),
    _field("LastModifiedDate", "Last Modified Date", "datetime", nillable=False),
    _field("SystemModstamp", "System Modstamp", "datetime", nillable=False),
]
ACCOUNT_SCHEMA = soql.Schema("Account", {f["name"]: f["type"] for f in ACCOUNT_FIELDS})
ACCOUNT_DEFAULTS: dict[str, Any] = {"IsDeleted": False, "Type": "Customer", "Support_Tier__c": None,
                                    "AnnualContractValue__c": None, "Complexity__c": None, "Strategic__c": False}
