"""Property-based layer: a state machine over in-memory Salesforce/Zendesk.

Hypothesis interleaves Salesforce edits, human edits in Zendesk (org values, option labels,
deleted options), failing organizations and full / incremental / dry runs of
:func:`worker.engine.run_sync`, and checks after every run:

* I1 no data lost: one outcome per account read, summary totals add up to the accounts read, a
  full run reads every account, an incremental run reads every account changed since the last
  applied run plus every account whose write failed, and failed writes are retried until done.
* I2 convergence: after a full (or incremental) run without failed writes, the same run again
  plans no change and writes nothing.
* I4 no clobbering: the foreign option ``legacy_gold`` is never dropped or renamed; an
  organization whose account is rejected (unknown, blank, duplicate) or that no account claims
  keeps its value byte-identical; an organization only ever receives its own account's tag; a dry
  run writes nothing.
* Never an empty value, never a value outside our tags or the field's options, and a write to a
  failing organization changes nothing.
* The change rail refuses exactly when replacements exceed ``max_change_fraction`` of the
  population, and a refused plan writes nothing and leaves the run state alone.

Expected outcomes come from an independent model of the tier file (``TIERS`` in helpers) and of
Salesforce ids (15 characters case-sensitive, 18 characters case-insensitive), not from the core.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from tests.unit.fakes import FakeOrg, FakeSalesforce, FakeZendesk, MemoryStateStore
from tests.unit.helpers import TIERS, make_config
from worker.core.errors import ExitCode
from worker.core.ids import to_18
from worker.core.model import FieldOption, OrganizationFieldState
from worker.core.plan import Outcome, RejectReason
from worker.core.record import RunRecord
from worker.engine import Mode, Services, SyncRequest, run_sync
from worker.io.http import CallCounter
from worker.render.json import run_summary

# Most worlds disable the change rail (max_change_fraction=1.0 never refuses) so that interleavings
# reach apply; the others keep the default 0.25 and check that a refused plan writes nothing.
CONFIGS = {1.0: make_config(max_change_fraction=1.0), 0.25: make_config()}
FIELD_KEY = CONFIGS[1.0].zendesk.organization_field
FIELD_TITLE = CONFIGS[1.0].zendesk.organization_field_title
TIER_FIELD = "Support_Tier__c"
LEGACY = "legacy_gold"
OUR_TAGS = tuple(tier["tag"] for tier in TIERS)
TITLES = {tier["tag"]: tier["title"] for tier in TIERS}
TIER_OF_TAG = {tier["tag"]: tier["name"] for tier in TIERS}
TAG_BY_VALUE = {value.strip().casefold(): tier["tag"] for tier in TIERS for value in tier["salesforce_values"]}

KNOWN_VALUES = ["Enterprise", "Tier 1", "Professional", "Starter", "  tier 1 ", "STARTER", "enterprise"]
UNKNOWN_VALUES = ["Platinum", "Gold", "Tier 2"]
BLANK_VALUES = ["", "   ", None]
VALUES = st.one_of(st.sampled_from(KNOWN_VALUES), st.sampled_from(KNOWN_VALUES),
                   st.sampled_from(UNKNOWN_VALUES + BLANK_VALUES))  # two thirds map to a tier

# 15-character ids in case twins ("001A..." and "001a..." are different Salesforce records).
BASES = [f"001{letter}0000{n:07d}" for n in range(1, 6) for letter in "Aa"]
FORMS = {
    "18": lambda id18: id18,
    "18lower": lambda id18: id18.lower(),
    "18upper": lambda id18: id18.upper(),
    "15": lambda id18: id18[:15],
    "15lower": lambda id18: id18[:15].lower(),  # names the lower-case twin, or no account at all
    "15upper": lambda id18: id18[:15].upper(),
}
FORM_CHOICES = st.sampled_from(["18", "15", "18", "15", "18lower", "18upper", "15lower", "15upper"])
OUT_OF_SCOPE = to_18("001A00000000099")


def tag_for(value: Any) -> str | None:
    """The tag a Salesforce value maps to (None for unknown or blank), per the tier file."""
    if not isinstance(value, str):
        return None
    return TAG_BY_VALUE.get(value.strip().casefold())


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def claimed_account(external_id: str | None, account_ids: list[str]) -> str | None:
    """Which account an external_id names: 15 chars compare exactly, 18 chars ignoring case."""
    if not external_id:
        return None
    for account_id in account_ids:
        if len(external_id) == 15 and external_id == account_id[:15]:
            return account_id
        if len(external_id) == 18 and external_id.casefold() == account_id.casefold():
            return account_id
    return None


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """8 accounts with 0-2 organizations each, a field holding legacy_gold, and orphan organizations."""
    bases = draw(st.lists(st.sampled_from(BASES), min_size=8, max_size=8, unique=True))
    ours = {tag: draw(st.sampled_from(["absent", "same", "relabelled"])) for tag in OUR_TAGS}
    options = [FieldOption(1, "Legacy gold", LEGACY)]
    options += [FieldOption(2 + i, TITLES[tag] if state == "same" else f"{TITLES[tag]} (old)", tag)
                for i, (tag, state) in enumerate(ours.items()) if state != "absent"]
    options = draw(st.permutations(options))
    present = [None, *(o.value for o in options)]
    accounts = []
    for base in bases:
        count = draw(st.sampled_from([1, 1, 1, 0, 2]))
        orgs = [(draw(FORM_CHOICES), draw(st.sampled_from(present)), draw(st.sampled_from([False, False, True])))
                for _ in range(count)]  # (external_id form, current value, writes to it fail)
        accounts.append((to_18(base), draw(VALUES), orgs))
    orphans = [("LEGACY-42", LEGACY), (OUT_OF_SCOPE, draw(st.sampled_from(present))),
               (None, draw(st.sampled_from(present))), ("   ", draw(st.sampled_from(present)))]
    rail = draw(st.sampled_from([1.0, 1.0, 1.0, 0.25]))
    return {"accounts": accounts, "options": tuple(options), "orphans": orphans, "rail": rail}


class EngineMachine(RuleBasedStateMachine):
    """Salesforce, Zendesk and the run state, driven through run_sync."""

    @initialize(world=worlds())
    def build_world(self, world: dict[str, Any]) -> None:
        self.config = CONFIGS[world["rail"]]
        self.sf = FakeSalesforce(TIER_FIELD)
        field = OrganizationFieldState(id=77, key=FIELD_KEY, type="dropdown", title=FIELD_TITLE,
                                       options=world["options"])
        self.zd = FakeZendesk(field_key=FIELD_KEY, field_state=field)
        self.store = MemoryStateStore()
        self.services = Services(self.sf, self.zd, self.store, CallCounter())
        self.account_ids = [account_id for account_id, _, _ in world["accounts"]]
        org_id = 100
        for n, (account_id, value, orgs) in enumerate(world["accounts"]):
            self.sf.tick()  # distinct modstamps, so the watermark leaves most accounts behind
            self.sf.add(account_id, value, name=f"Account {n}")
            for form, tag, fails in orgs:
                self.zd.orgs[org_id] = FakeOrg(FORMS[form](account_id), tag, f"Org {org_id} ({form})")
                if fails:
                    self.zd.fail_ids.add(org_id)
                org_id += 1
        for n, (external_id, tag) in enumerate(world["orphans"]):
            self.zd.orgs[900 + n] = FakeOrg(external_id, tag, f"Orphan {n}")
        self.org_ids = sorted(self.zd.orgs)
        self.owner = {org: claimed_account(self.zd.orgs[org].external_id, self.account_ids) for org in self.org_ids}
        self.claims = {account_id: [org for org in self.org_ids if self.owner[org] == account_id]
                       for account_id in self.account_ids}
        self.dirty: set[str] = set()  # changed in Salesforce since the last applied run read them
        self.pending: set[str] = set()  # accounts whose last write failed

    # -- the world changes ----------------------------------------------------------------------
    @rule(n=st.integers(0, 7), value=VALUES, advance=st.sampled_from([0, 1, 1, 2]))
    def salesforce_user_changes_tier(self, n: int, value: Any, advance: int) -> None:
        account_id = self.account_ids[n]
        self.sf.set_tier(account_id, value, advance=advance)
        self.dirty.add(account_id)

    @rule(k=st.integers(0, 99), value=st.sampled_from([None, *OUR_TAGS, LEGACY]))
    def agent_edits_org_tier(self, k: int, value: str | None) -> None:
        org_id = self.org_ids[k % len(self.org_ids)]
        self.zd.human_set_tier(org_id, value if value in self.zd.option_values() else None)

    @rule(k=st.integers(0, 99))
    def toggle_failing_org(self, k: int) -> None:
        writable = [org_id for org_id in self.org_ids  # the only orgs a run ever writes
                    if (owner := self.owner[org_id]) is not None and len(self.claims[owner]) == 1] or self.org_ids
        org_id = writable[k % len(writable)]
        self.zd.fail_ids ^= {org_id}

    @rule(tag=st.sampled_from(OUR_TAGS))
    def admin_relabels_option(self, tag: str) -> None:
        if tag in self.zd.option_values():
            self.zd.human_rename_option(tag, f"{TITLES[tag]} (edited)")

    @rule(tag=st.sampled_from(OUR_TAGS))
    def admin_deletes_option(self, tag: str) -> None:
        if tag in self.zd.option_values():
            self.zd.human_delete_option(tag)

    # -- runs -------------------------------------------------------------------------------------
    @rule()
    def incremental_sync(self) -> None:
        record = self.run("incremental", dry_run=False)
        if record.error is None and not record.failed_writes():
            again = self.run("incremental", dry_run=False)
            self.assert_idle(again, "incremental run repeated right after a clean incremental run")

    @rule()
    def full_sync(self) -> None:
        record = self.run("full", dry_run=False)
        if record.error is not None or record.failed_writes():  # refused by the change rail, or partial
            return
        self.assert_converged()
        again = self.run("full", dry_run=False)
        self.assert_idle(again, "full run repeated right after a clean full run")
        incremental = self.run("incremental", dry_run=False)
        self.assert_idle(incremental, "incremental run right after a clean full run")

    @rule(mode=st.sampled_from(["full", "incremental"]))
    def dry_run(self, mode: Mode) -> None:
        self.run(mode, dry_run=True)

    @precondition(lambda self: self.zd.fail_ids)
    @rule()
    def failures_clear(self) -> None:
        self.zd.fail_ids.clear()

    # -- the checks -------------------------------------------------------------------------------
    def run(self, mode: Mode, *, dry_run: bool) -> RunRecord:
        zd, sf, store = self.zd, self.sf, self.store
        before = zd.snapshot()
        field_before = zd.field_state
        assert field_before is not None
        state_before, saves_before = store.state, store.saves
        writes_before, field_plans_before = len(zd.writes), len(zd.field_plans)

        sf.begin_run()
        record = run_sync(self.config, self.services, SyncRequest(mode=mode, dry_run=dry_run))
        plan = record.plan
        assert plan is not None, record.error
        assert not store.locked, "the run lock was not released"

        # I1: every account read ends in exactly one outcome, and the totals add up.
        read = set(sf.returned)
        ids = [item.account_id for item in plan.accounts]
        assert len(ids) == len(set(ids)), f"an account has several outcomes: {Counter(ids).most_common(3)}"
        assert set(ids) <= read, f"read {sorted(read)} but planned {sorted(ids)}"
        # A full run lists only what it writes or rejects; the accounts already at their tier are counted.
        counted = Counter({tier: n for tier, n in plan.unchanged_by_tier})
        assert not counted or plan.full
        assert len(ids) + sum(counted.values()) == len(read), (len(ids), counted, len(read))
        unlisted: Counter[str] = Counter()
        for account_id in read - set(ids):
            orgs, tag = self.claims[account_id], tag_for(self.sf.value(account_id))
            assert len(orgs) == 1 and tag is not None and before[orgs[0]] == tag, f"{account_id} was not listed"
            unlisted[TIER_OF_TAG[tag]] += 1
        assert unlisted == counted, (unlisted, counted)
        summary = run_summary(record)
        assert sum(summary["outcomes"].values()) == summary["accounts"] == len(read)
        assert summary["writes"]["planned"] == len(plan.changes)
        full = mode == "full" or state_before.watermark is None
        assert plan.full == full
        if full:
            assert read == set(self.account_ids), "a full run must read every account"
        missed = (self.dirty | self.pending) - read
        assert not missed, f"{mode} run did not read changed/failed accounts {sorted(missed)}"

        # Every outcome is the one the tier file and the ids call for.
        for item in plan.accounts:
            self.check_outcome(item, before)

        # The change rail: refuse when replacements exceed max_change_fraction of the population
        # (the plan's denominator: exactly this run's matches on a full read, at least them otherwise).
        replacements = sum(1 for item in plan.changes if item.current_tag is not None)
        matched = sum(1 for account_id in read if len(self.claims[account_id]) == 1)
        population = plan.population
        assert population == matched if plan.full else population >= matched, (plan.full, population, matched)
        refused = population > 0 and replacements / population > self.config.max_change_fraction
        assert (record.refusal is not None) == refused, (record.refusal, replacements, population)
        if refused and not dry_run:
            assert record.error is not None and record.exit_code == ExitCode.PLAN_REFUSED
        else:
            assert record.error is None, record.error

        # I4 on the field: legacy_gold (and every option) survives; no duplicate values.
        values_before = [o.value for o in field_before.options]
        values_after = zd.option_values()
        assert LEGACY in values_after, "the foreign option legacy_gold was dropped"
        assert set(values_before) <= set(values_after), f"options dropped: {set(values_before) - set(values_after)}"
        assert len(values_after) == len(set(values_after)), f"duplicate option values {values_after}"
        if read:  # an idle incremental run does not read the field at all
            assert LEGACY in plan.field.foreign_options
        foreign_ids = {o.id for o in field_before.options if o.value not in OUR_TAGS}
        assert not {option_id for option_id, _, _ in plan.field.rename} & foreign_ids, "renames a foreign option"
        assert all(tag in OUR_TAGS and tag not in values_before for _, tag in plan.field.add), plan.field.add
        legacy_before = next(o for o in field_before.options if o.value == LEGACY)
        assert zd.field_state is not None and legacy_before in zd.field_state.options, "legacy_gold was altered"

        new_writes = zd.writes[writes_before:]
        if dry_run or refused:
            assert new_writes == [], f"a dry run or refused plan wrote {new_writes}"
            assert zd.field_plans[field_plans_before:] == [] and zd.field_state == field_before
            assert zd.snapshot() == before, "a dry run changed an organization"
            assert store.saves == saves_before and store.state == state_before, "a dry run saved state"
            assert record.writes == {} and not record.field_applied
        else:
            self.check_writes(record, new_writes)
            failed = {account_id for account_id, _, _ in record.failed_writes()}
            assert record.exit_code == (ExitCode.PARTIAL if failed else ExitCode.OK)
            assert store.saves == saves_before + 1
            self.pending = (self.pending - read) | failed
            assert set(store.state.failed_ids) == self.pending, (store.state.failed_ids, self.pending)
            self.dirty -= read
            assert store.state.watermark is not None
            assert store.state.population == matched if plan.full else store.state.population >= matched

        # I4 on organizations: only an account's own tag ever lands on its single organization.
        after = zd.snapshot()
        for org_id, value in after.items():
            if value == before[org_id]:
                continue
            account_id = self.owner[org_id]
            assert account_id is not None, f"org {org_id} changed but no account claims it"
            assert len(self.claims[account_id]) == 1, f"org {org_id} changed but its account has duplicates"
            assert account_id in read, f"org {org_id} changed but its account was not read"
            assert value == tag_for(sf.value(account_id)), f"org {org_id} got {value!r}"
            assert org_id not in zd.fail_ids
        for org_id in self.protected_orgs():
            assert after[org_id] == before[org_id], f"protected org {org_id}: {before[org_id]!r} -> {after[org_id]!r}"
        return record

    def check_outcome(self, item: Any, before: dict[int, str | None]) -> None:
        value = self.sf.value(item.account_id)
        orgs = self.claims[item.account_id]
        tag = tag_for(value)
        where = f"account {item.account_id} value={value!r} orgs={orgs}"
        if not orgs:
            assert item.outcome is Outcome.NO_ORGANIZATION, (where, item)
        elif len(orgs) > 1:
            assert item.outcome is Outcome.REJECTED, (where, item)
            assert item.reason is RejectReason.DUPLICATE_ORGANIZATIONS, (where, item)
        elif tag is None:
            assert item.outcome is Outcome.REJECTED, (where, item)
            reason = RejectReason.BLANK_VALUE if is_blank(value) else RejectReason.UNKNOWN_VALUE
            assert item.reason is reason, (where, item)
            assert item.organization_id == orgs[0]
        else:
            current = before[orgs[0]]
            assert item.organization_id == orgs[0] and item.current_tag == current, (where, item)
            assert item.target_tag == tag, (where, item)
            expected = Outcome.UNCHANGED if current == tag else Outcome.SET_TIER
            assert item.outcome is expected, (where, item)

    def check_writes(self, record: RunRecord, new_writes: list[Any]) -> None:
        assert record.plan is not None
        planned = [(item.organization_id, item.target_tag) for item in record.plan.changes]
        assert [(w.organization_id, w.tag) for w in new_writes] == planned
        for write in new_writes:
            assert write.tag, "an empty value was written"
            assert write.tag in OUR_TAGS, f"wrote a value we do not manage: {write.tag!r}"
            assert write.tag in write.options, f"wrote {write.tag!r} before the field had that option"
            if write.organization_id in self.zd.fail_ids:
                assert not write.ok and write.after == write.before, write
        assert set(record.writes) == {org_id for org_id, _ in planned}
        expected_failed = {item.account_id for item in record.plan.changes if item.organization_id in self.zd.fail_ids}
        assert {account_id for account_id, _, _ in record.failed_writes()} == expected_failed

    def protected_orgs(self) -> list[int]:
        """Orgs no account claims, or whose account is rejected (duplicate, unknown or blank value)."""
        return [org_id for org_id in self.org_ids
                if (account_id := self.owner[org_id]) is None or len(self.claims[account_id]) > 1
                or tag_for(self.sf.value(account_id)) is None]

    def assert_converged(self) -> None:
        """After a clean full run, each singly-claimed org with a mappable account holds that tag."""
        for account_id, orgs in self.claims.items():
            tag = tag_for(self.sf.value(account_id))
            if len(orgs) == 1 and tag is not None:
                assert self.zd.orgs[orgs[0]].tier_tag == tag, (account_id, orgs[0], self.zd.orgs[orgs[0]], tag)
        values = self.zd.option_values()
        assert all(tag in values for tag in OUR_TAGS)
        assert self.zd.field_state is not None
        labels = {o.value: o.name for o in self.zd.field_state.options}
        assert all(labels[tag] == TITLES[tag] for tag in OUR_TAGS), labels

    def assert_idle(self, record: RunRecord, what: str) -> None:
        assert record.plan is not None
        assert record.plan.changes == (), f"{what} planned {record.plan.changes}"
        assert record.plan.field.action == "none", f"{what} planned field {record.plan.field}"
        assert record.writes == {} and not record.field_applied, what


EngineMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestEngineProperties = EngineMachine.TestCase
