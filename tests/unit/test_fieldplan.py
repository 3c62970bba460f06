import pytest

from tests.unit.helpers import make_config
from worker.core.actions import Action
from worker.core.errors import RemoteStateError
from worker.core.fieldplan import merged_options, plan_field
from worker.core.model import FieldOption, OrganizationFieldState


def state(*options, type_="dropdown"):
    return OrganizationFieldState(id=9, key="support_tier", type=type_, title="Support tier",
                                  options=tuple(FieldOption(i, n, v) for i, n, v in options))


def test_creates_missing_field_with_every_tier() -> None:
    plan = plan_field(make_config(), None)
    assert plan.action == "create"
    assert [tag for _, tag in plan.add] == ["tier_enterprise", "tier_professional", "tier_starter"]


def test_adds_and_renames_without_dropping_foreign_options() -> None:
    current = state((1, "Enterprise", "tier_enterprise"), (2, "Pro", "tier_professional"), (3, "Gold", "legacy_gold"))
    plan = plan_field(make_config(), current)
    assert plan.action == "update"
    assert plan.add == (("Starter", "tier_starter"),)
    assert plan.rename == ((2, "Pro", "Professional"),)
    assert plan.foreign_options == ("legacy_gold",)
    merged = merged_options(current, plan)
    assert [(o.id, o.name, o.value) for o in merged] == [
        (1, "Enterprise", "tier_enterprise"), (2, "Professional", "tier_professional"), (3, "Gold", "legacy_gold"),
        (None, "Starter", "tier_starter")]


def test_up_to_date_field_needs_nothing() -> None:
    current = state((1, "Enterprise", "tier_enterprise"), (2, "Professional", "tier_professional"),
                    (3, "Starter", "tier_starter"))
    assert plan_field(make_config(), current).action == "none"


def test_wrong_type_is_a_remote_state_error() -> None:
    with pytest.raises(RemoteStateError, match="is a 'text' field, not a dropdown"):
        plan_field(make_config(), state(type_="text"))


def test_duplicate_option_values_are_refused() -> None:
    with pytest.raises(RemoteStateError, match="duplicate option values"):
        plan_field(make_config(), state((1, "A", "tier_starter"), (2, "B", "tier_starter")))


def test_a_field_key_that_differs_only_in_case_is_refused_with_the_fix() -> None:
    current = OrganizationFieldState(id=9, key="Support_Tier", type="dropdown", title="Support tier", options=())
    with pytest.raises(RemoteStateError, match=r"differs from zendesk\.organization_field 'support_tier' only in") as e:
        plan_field(make_config(), current)
    assert "set zendesk.organization_field to 'Support_Tier'" in e.value.hint


def test_an_option_tag_that_differs_only_in_case_is_refused_with_the_fix() -> None:
    current = state((1, "Enterprise", "Tier_Enterprise"), (2, "Professional", "tier_professional"))
    with pytest.raises(RemoteStateError, match="'Tier_Enterprise', which differs from the tier tag 'tier_enterprise'"):
        plan_field(make_config(), current)


def test_an_option_no_tier_uses_is_kept_while_held_and_pruned_only_when_asked() -> None:
    from worker.core.fieldplan import with_holders

    current = state((1, "Enterprise", "tier_enterprise"), (2, "Professional", "tier_professional"),
                    (3, "Starter", "tier_starter"), (4, "Gold", "legacy_gold"), (5, "Silver", "legacy_silver"))
    plan = plan_field(make_config(), current)
    held = with_holders(plan, {"legacy_gold": 12}, prune=False)
    assert (held.action, held.remove, held.in_use) == (Action.NONE, (), (("legacy_gold", 12),))
    pruned = with_holders(plan, {"legacy_gold": 12}, prune=True)
    assert (pruned.action, pruned.remove) == (Action.UPDATE, ("legacy_silver",))
    assert [o.value for o in merged_options(current, pruned)] == [
        "tier_enterprise", "tier_professional", "tier_starter", "legacy_gold"]
