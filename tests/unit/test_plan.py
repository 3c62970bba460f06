import pytest

from tests.unit.helpers import account, account_id, make_config, org
from worker.core.actions import Action
from worker.core.errors import PlanRefusedError
from worker.core.plan import FieldPlan, Outcome, RejectReason, build_plan, check_change_fraction, only_tier

FIELD = FieldPlan(action=Action.NONE, key="support_tier", title="Support tier", field_id=1)


def plan_for(accounts, organizations, *, config=None, full=True, population=0):
    return build_plan(config or make_config(), accounts, organizations, FIELD, full=full, population=population)


def outcome_of(plan, n):
    return next(item for item in plan.accounts if item.account_id == account_id(n))


def test_every_account_ends_in_exactly_one_outcome() -> None:
    accounts = [account(1, "Enterprise"), account(2, "Starter"), account(3, "Platinum"), account(4, "Enterprise"),
                account(5, "Professional")]
    organizations = [org(1, None), org(2, "tier_starter"), org(3, "tier_starter"),
                     org(5, None, org_id=5001), org(5, None, external_id=account_id(5)[:15], org_id=5002)]
    plan = plan_for(accounts, organizations)
    assert len(plan.accounts) == 5
    assert outcome_of(plan, 1).outcome is Outcome.SET_TIER
    assert outcome_of(plan, 1).target_tag == "tier_enterprise"
    assert outcome_of(plan, 2).outcome is Outcome.UNCHANGED
    assert outcome_of(plan, 3).outcome is Outcome.REJECTED
    assert outcome_of(plan, 3).reason is RejectReason.UNKNOWN_VALUE
    assert outcome_of(plan, 4).outcome is Outcome.NO_ORGANIZATION
    assert outcome_of(plan, 5).reason is RejectReason.DUPLICATE_ORGANIZATIONS
    assert [d.organization_ids for d in plan.duplicates] == [(5001, 5002)]


def test_a_plan_without_its_unchanged_accounts_counts_them_and_keeps_the_same_totals() -> None:
    accounts = [account(1, "Enterprise"), account(2, "Starter"), account(3, "Platinum"), account(4, "Enterprise"),
                account(6, "Starter"), account(7, "Enterprise")]
    organizations = [org(1, None), org(2, "tier_starter"), org(3, "tier_starter"), org(6, "tier_starter"),
                     org(7, "tier_enterprise"), org(9, "tier_starter")]
    listed = plan_for(accounts, organizations)
    counted = build_plan(make_config(), accounts, organizations, FIELD, full=True, keep_unchanged=False)
    assert [i.account_id for i in counted.accounts] == [account_id(n) for n in (1, 3, 4)]
    assert counted.unchanged_by_tier == (("enterprise", 1), ("starter", 2))
    assert counted.account_count == listed.account_count == 6
    assert counted.outcome_counts() == listed.outcome_counts()
    assert counted.tier_counts() == listed.tier_counts() == {"enterprise": {"set_tier": 1, "unchanged": 1},
                                                             "starter": {"unchanged": 2}}
    assert counted.population == listed.population == 5
    assert counted.fingerprint == listed.fingerprint
    assert counted.orphans == listed.orphans  # an organization whose account is only counted is still claimed
    assert [o.organization_id for o in counted.orphans] == [1009]  # only the one no account claims
    starter = only_tier(counted, "tier_starter", "starter")
    assert starter.account_count == 3 and starter.outcome_counts()[Outcome.UNCHANGED] == 2


def test_matches_15_char_and_case_folded_external_ids() -> None:
    organizations = [org(1, None, external_id=account_id(1)[:15]), org(2, None, external_id=account_id(2).lower())]
    plan = plan_for([account(1), account(2)], organizations)
    assert {item.outcome for item in plan.accounts} == {Outcome.SET_TIER}


def test_duplicate_account_rows_are_deduplicated() -> None:
    plan = plan_for([account(1, "Starter"), account(1, "Enterprise")], [org(1)])
    assert len(plan.accounts) == 1
    assert plan.accounts[0].target_tag == "tier_enterprise"


def test_orphans_only_on_full_reads() -> None:
    organizations = [org(1), org(99), org(7, external_id="not-a-salesforce-id"), org(8, external_id=None)]
    full = plan_for([account(1)], organizations)
    assert [(o.organization_id, o.why) for o in full.orphans] == [
        (1007, "external_id is not a Salesforce id"), (1099, "no Salesforce account in scope has this id")]
    assert full.organizations_without_external_id == 1
    assert plan_for([account(1)], organizations, full=False).orphans == ()


@pytest.mark.parametrize(
    ("current", "outcome", "reason"),
    [
        (None, Outcome.SET_TIER, None),                 # no value yet: the fallback applies
        ("tier_enterprise", Outcome.REJECTED, RejectReason.WOULD_DOWNGRADE),
        ("tier_professional", Outcome.REJECTED, RejectReason.WOULD_DOWNGRADE),
        ("tier_starter", Outcome.UNCHANGED, None),
        ("legacy_gold", Outcome.REJECTED, RejectReason.WOULD_DOWNGRADE),  # a value we do not know is kept
    ],
)
def test_unknown_value_never_downgrades(current, outcome, reason) -> None:
    config = make_config(unknown_value="starter")
    item = plan_for([account(1, "Platinum")], [org(1, current)], config=config).accounts[0]
    assert (item.outcome, item.reason) == (outcome, reason)


def test_known_value_may_downgrade() -> None:
    item = plan_for([account(1, "Starter")], [org(1, "tier_enterprise")]).accounts[0]
    assert item.outcome is Outcome.SET_TIER
    assert item.replaces_value


def test_never_writes_an_empty_value() -> None:
    plan = plan_for([account(n, v) for n, v in enumerate(["", None, "  ", "Nope"])], [org(n) for n in range(4)])
    assert plan.changes == ()


def test_change_rail_counts_replacements_only() -> None:
    accounts = [account(n, "Starter") for n in range(10)]
    first_run = plan_for(accounts, [org(n, None) for n in range(10)])
    check_change_fraction(first_run, 0.25, force=False)  # 10 initial assignments: allowed
    flip = plan_for(accounts, [org(n, "tier_enterprise") for n in range(10)])
    with pytest.raises(PlanRefusedError, match="replace the tier of 10 of 10 organizations"):
        check_change_fraction(flip, 0.25, force=False)
    check_change_fraction(flip, 0.25, force=True)


def test_change_rail_uses_known_population() -> None:
    flip = plan_for([account(1, "Starter")], [org(1, "tier_enterprise")], full=False, population=100)
    assert flip.population == 100
    check_change_fraction(flip, 0.25, force=False)


def test_a_full_run_measures_the_population_afresh() -> None:
    """A shrunken population (external ids cleared) must not keep an old, larger denominator."""
    flip = plan_for([account(1, "Starter"), account(2, "Starter")],
                    [org(1, "tier_enterprise"), org(2, "tier_enterprise")], full=True, population=8)
    assert flip.population == 2
    with pytest.raises(PlanRefusedError, match="2 of 2"):
        check_change_fraction(flip, 0.25, force=False)


def test_fingerprint_is_stable_and_tracks_writes() -> None:
    a = plan_for([account(1), account(2, "Starter")], [org(1), org(2)])
    b = plan_for([account(2, "Starter"), account(1)], [org(2), org(1)])
    c = plan_for([account(1), account(2, "Professional")], [org(1), org(2)])
    assert a.fingerprint == b.fingerprint != c.fingerprint


@pytest.mark.parametrize("full", [True, False])
def test_padded_external_ids_behave_the_same_in_full_and_incremental_runs(full: bool) -> None:
    organizations = [org(1, None, external_id=f" {account_id(1)}\t"), org(2, None)]
    plan = plan_for([account(1), account(2)], organizations, full=full)
    assert outcome_of(plan, 1).outcome is Outcome.NO_ORGANIZATION  # show_many can never find it
    assert outcome_of(plan, 2).outcome is Outcome.SET_TIER
    if full:
        assert "organization 1001" in outcome_of(plan, 1).detail and "whitespace" in outcome_of(plan, 1).detail
        assert [(o.organization_id, o.why) for o in plan.orphans] == [
            (1001, "external_id has surrounding whitespace, so incremental runs cannot find it; trim it in Zendesk")]
