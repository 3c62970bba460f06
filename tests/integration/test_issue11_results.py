"""Issue 11, "wrong results, silently": each case drives the real CLI against the HTTPS sandbox."""

from __future__ import annotations

import pytest

from tests.integration.conftest import World, expected_tags

pytestmark = pytest.mark.integration


def test_tier_field_in_another_letter_case_reads_the_values(world: World) -> None:
    text = world.config_path.read_text().replace("tier_field: Support_Tier__c", "tier_field: support_tier__c")
    world.config_path.write_text(text.replace("unknown_value: report", "unknown_value: starter"))
    expected = expected_tags(world)
    run = world.cli("sync", "--full", "--json")
    assert run.exit_code == 0, run.stderr
    assert {org_id: world.tier_of(org_id) for org_id in expected} == expected
    assert run.json()["outcomes"]["rejected"] > 0  # unknown values stay unknown; blank is not every account


def test_a_new_organization_field_is_filled_for_every_account(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    world.config_path.write_text(world.config_path.read_text().replace(
        "organization_field: support_tier", "organization_field: customer_tier"))
    run = world.cli("sync", "--json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["mode"] == "full"
    expected = expected_tags(world)
    organizations = world.sandbox.zendesk.organizations
    assert {org_id: organizations[org_id]["organization_fields"].get("customer_tier") for org_id in expected} == expected
