"""The tier file's fingerprint: whatever changes what is written invalidates the watermark."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.helpers import TIERS, make_config

BASE: dict[str, Any] = {"salesforce": {"tier_field": "Support_Tier__c", "fields": ["ACV__c"]}}


@pytest.mark.parametrize(
    "change",
    [
        {"zendesk": {"organization_field": "customer_tier"}},
        {"salesforce": {"tier_field": "Other_Tier__c", "fields": ["ACV__c"]}},
        {"salesforce": {"tier_field": "Support_Tier__c", "fields": ["ACV__c"], "where": "Type = 'Customer'"}},
        {"salesforce": {"tier_field": "Support_Tier__c", "fields": ["ACV__c"], "object": "Customer__c"}},
        {"tiers": [{**TIERS[0], "tag": "tier_gold"}, *TIERS[1:]]},
        {"tiers": [TIERS[1], TIERS[0], TIERS[2]]},  # order decides what counts as a downgrade
        {"unknown_value": "starter"},
        {"rules": [{"tier": "enterprise", "when": {"field": "ACV__c", "gte": 1}}]},
    ],
)
def test_what_changes_the_writes_changes_the_fingerprint(change: dict[str, Any]) -> None:
    assert make_config(**(BASE | change)).fingerprint != make_config(**BASE).fingerprint


@pytest.mark.parametrize(
    "change",
    [
        {"tiers": [{**TIERS[0], "title": "Gold"}, *TIERS[1:]]},  # labels are planned on every run
        {"zendesk": {"organization_field_title": "Customer tier"}},
        {"max_change_fraction": 0.5},
        {"salesforce": {"tier_field": "Support_Tier__c", "fields": ["ACV__c"], "max_api_usage_fraction": 0.5}},
    ],
)
def test_what_writes_nothing_keeps_the_fingerprint(change: dict[str, Any]) -> None:
    assert make_config(**(BASE | change)).fingerprint == make_config(**BASE).fingerprint
