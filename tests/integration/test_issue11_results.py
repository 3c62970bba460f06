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
