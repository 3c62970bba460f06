"""Removing a tier: its dropdown option stays while organizations hold it, and goes only when asked."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import World

pytestmark = pytest.mark.integration


def _without_starter(world: World) -> None:
    text = world.config_path.read_text()
    text = re.sub(r"  - name: starter\n(    .*\n|      .*\n)*", "", text)
    world.config_path.write_text(text.replace("unknown_value: report", "unknown_value: report"))


def _option_values(world: World) -> list[str]:
    (field,) = world.sandbox.zendesk.fields.values()
    return [o["value"] for o in field["custom_field_options"]]


def test_a_removed_tiers_option_is_kept_while_held_and_pruned_only_when_asked(world: World) -> None:
    assert world.cli("sync", "--full").exit_code == 0
    holders = [i for i in world.sandbox.zendesk.organizations if world.tier_of(i) == "tier_starter"]
    assert holders
    _without_starter(world)
    shown = world.cli("sync", "--full", "--dry-run")
    assert f"Option 'tier_starter' is no tier's any more; kept while {len(holders)} organization(s) hold it" in \
        " ".join(shown.stdout.split())
    kept = world.cli("sync", "--full", "--prune-options", "--json")
    assert kept.exit_code == 0, kept.stderr
    assert kept.json()["field"]["options_in_use"] == {"tier_starter": len(holders)}
    assert "tier_starter" in _option_values(world) and all(world.tier_of(i) == "tier_starter" for i in holders)
    for organization_id in holders:  # an admin moves them elsewhere by hand
        world.sandbox.zendesk.organizations[organization_id]["organization_fields"]["support_tier"] = None
    plain = world.cli("sync", "--full")
    assert plain.exit_code == 0 and "tier_starter" in _option_values(world)  # never without the flag
    pruned = world.cli("sync", "--full", "--prune-options", "--json")
    assert pruned.exit_code == 0, pruned.stderr
    assert pruned.json()["field"]["removed_options"] == ["tier_starter"]
    assert "tier_starter" not in _option_values(world)
    assert {"tier_enterprise", "tier_professional"} <= set(_option_values(world))


def test_prune_options_needs_a_full_read(world: World) -> None:
    run = world.cli("sync", "--prune-options")
    assert run.exit_code == 2 and "--prune-options needs --full" in run.stderr
