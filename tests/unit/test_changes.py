"""The pure side of incremental change: reading an export, remembering own writes, hand edits, removals."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.helpers import account, account_id, make_config, org
from worker.core.changes import (
    WRITTEN_TTL_SECONDS,
    mark_manual_edits,
    next_written,
    plan_removals,
    review_export,
)
from worker.core.edits import EditAction, RemovalAction
from worker.core.fieldplan import unread_field
from worker.core.model import ChangedOrganization, OrganizationExport, RemovedAccount
from worker.core.plan import Outcome, RejectReason, build_plan
from worker.core.runstate import (
    RunState,
    format_stamp,
    next_watermark,
    parse_stamp,
    second_is_over,
    seen_at_watermark,
)


def changed(n: int, tag: str | None, updated_at: int, created_at: int | None = 0) -> ChangedOrganization:
    return ChangedOrganization(org(n, tag), updated_at, created_at)


def test_organizations_delivered_before_at_the_marks_second_are_passed_over() -> None:
    export = OrganizationExport((changed(1, "a", 100), changed(2, "a", 100), changed(3, "a", 130)), end_time=130)
    review = review_export(export, mark=100, seen={1001}, written={})
    assert [o.id for o in review.changed] == [1002, 1003]
    assert review.mark == 130 and review.seen == (1003,)


def test_own_writes_read_back_are_not_changes_unless_the_value_moved_since() -> None:
    export = OrganizationExport((changed(1, "tier_a", 150), changed(2, None, 150)), end_time=150)
    review = review_export(export, mark=100, seen=(), written={1001: "tier_a", 1002: "tier_b"})
    assert [o.id for o in review.changed] == [1002]  # ours was changed again after we wrote it
    assert review.read_back == {1001, 1002}


def test_organizations_created_since_the_mark_are_new_links_not_edits() -> None:
    export = OrganizationExport((changed(1, None, 150, created_at=140), changed(2, None, 150, created_at=5)),
                                end_time=150)
    assert review_export(export, mark=100, seen=(), written={}).created == {1001}


def test_an_empty_or_refused_export_leaves_the_mark_and_keeps_what_was_seen_there() -> None:
    for export in (OrganizationExport(end_time=None), OrganizationExport(too_recent=True)):
        review = review_export(export, mark=100, seen=(7, 8), written={})
        assert review.mark == 100 and review.seen == (7, 8)
    same_second = OrganizationExport((changed(1, "a", 100),), end_time=100)
    assert review_export(same_second, mark=100, seen=(7,), written={}).seen == (7, 1001)


def test_written_entries_last_until_read_back_or_a_day() -> None:
    previous = ((1, "a", 1_000), (2, "b", 1_000), (3, None, 1_000 - WRITTEN_TTL_SECONDS))
    kept = next_written(previous, read_back={1}, writes=[(4, None), (2, "c")], now=2_000)
    assert kept == ((2, "c", 2_000), (4, None, 2_000))


def plan_for(accounts: list, organizations: list):  # type: ignore[no-untyped-def]
    return build_plan(make_config(), accounts, organizations, unread_field(make_config()), full=False)


def test_a_change_on_an_edited_account_is_a_hand_edit_restored_or_held() -> None:
    plan = plan_for([account(1, "Enterprise"), account(2, "Enterprise"), account(3, "Platinum")],
                    [org(1, "tier_starter"), org(2, "tier_starter"), org(3, "tier_starter")])
    edited = {account_id(1), account_id(3)}
    restored = mark_manual_edits(plan, edited, "restore")
    assert [(e.organization_id, e.found, e.expected, e.action) for e in restored.manual_edits] == [
        (1001, "tier_starter", "tier_enterprise", EditAction.RESTORE),
        (1003, "tier_starter", None, EditAction.NONE)]
    assert {i.account_id for i in restored.changes} == {account_id(1), account_id(2)}
    held = mark_manual_edits(plan, edited, "report")
    assert {i.account_id for i in held.changes} == {account_id(2)}  # account 2 changed in Salesforce: not an edit
    item = next(i for i in held.accounts if i.account_id == account_id(1))
    assert item.outcome is Outcome.REJECTED and item.reason is RejectReason.MANUAL_EDIT


def test_removals_touch_only_organizations_holding_one_of_our_tags() -> None:
    config = make_config(salesforce={"tier_field": "Support_Tier__c", "on_account_removed": "clear"})
    removed = [RemovedAccount(account_id(n), f"A{n}", "deleted") for n in (1, 2, 3, 4)]
    organizations = [org(1, "tier_enterprise"), org(2, None), org(3, "legacy_gold"),
                     org(4, "tier_starter"), org(4, "tier_starter", org_id=2004)]
    removals = plan_removals(config, removed, organizations)
    assert [(r.organization_id, r.action) for r in removals] == [
        (1001, RemovalAction.CLEAR), (1004, RemovalAction.KEEP), (2004, RemovalAction.KEEP)]
    assert "several organizations" in removals[1].detail
    kept = plan_removals(make_config(), removed[:1], organizations)
    assert [r.action for r in kept] == [RemovalAction.KEEP]


def test_the_rows_at_the_watermarks_second_are_remembered() -> None:
    rows = [("A", "2026-01-01T00:00:05.100+0000"), ("B", "2026-01-01T00:00:05.900+0000"),
            ("C", "2026-01-01T00:00:04.999+0000")]
    assert seen_at_watermark(rows, "2026-01-01T00:00:05.900+0000", [("Z", "2026-01-01T00:00:05.000+0000")]) == (
        ("A", "2026-01-01T00:00:05.100+0000"), ("B", "2026-01-01T00:00:05.900+0000"),
        ("Z", "2026-01-01T00:00:05.000+0000"))
    assert seen_at_watermark(rows, None) == ()


def test_rows_at_the_watermark_are_passed_over_only_once_their_second_was_over_before_the_read() -> None:
    six = parse_stamp("2026-01-01T00:00:06.000+0000").timestamp()  # type: ignore[union-attr]
    assert second_is_over("2026-01-01T00:00:05.900+0000", six)
    assert not second_is_over("2026-01-01T00:00:05.900+0000", six - 0.5)  # the query may have run within second 5
    assert not second_is_over("2026-01-01T00:00:05.900+0000", None) and not second_is_over(None, six)


def test_incremental_state_survives_a_round_trip_and_bad_values_are_set_aside() -> None:
    state = RunState(watermark="2026-01-01T00:00:05.000+0000", salesforce_seen=((account_id(1), "x"),),
                     zendesk_mark=1_700_000_000, zendesk_seen=(5, 6), written=((5, None, 1), (6, "t", 2)),
                     pending_removals=((account_id(2), "deleted"),))
    assert RunState.from_json(state.to_json()) == state
    assert RunState.from_json('{"watermark": null}') == RunState()  # state from before these fields
    for bad in ('{"zendesk_mark": -1}', '{"zendesk_mark": true}', '{"zendesk_seen": ["x"]}',
                '{"written": [[1, 2, 3]]}', '{"pending_removals": [["nope", "deleted"]]}',
                '{"pending_removals": [["' + account_id(2) + '", "gone"]]}', '{"salesforce_seen": [["x"]]}'):
        assert RunState.from_json(bad).discarded, bad


@given(st.lists(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)), min_size=1),
       st.booleans())
def test_the_watermark_of_canonical_stamps_is_their_latest_time(moments: list[datetime], with_iso: bool) -> None:
    stamps = [format_stamp(m.replace(tzinfo=UTC)) for m in moments]
    if with_iso:  # another spelling forces the parsing path; the answer is the same
        stamps.append(moments[0].replace(tzinfo=UTC).isoformat().replace("+00:00", "Z"))
    expected = format_stamp(max(m.replace(tzinfo=UTC, microsecond=m.microsecond // 1000 * 1000) for m in moments))
    assert next_watermark(stamps, None) == expected


def test_writes_before_a_full_read_are_forgotten_by_it() -> None:
    from tests.unit.test_engine_incremental import World

    world = World(accounts=10)
    assert world.store.state.written  # the full run's writes await reading back
    world.later(3600)
    before = len(world.store.state.written)
    assert world.run("full").exit_code == 0  # it saw every value: nothing of the earlier writes is needed
    assert before and world.store.state.written == ()


def test_the_stamp_tracker_keeps_the_latest_stamp_and_only_the_rows_in_its_second() -> None:
    from worker.core.runstate import StampTracker

    tracker = StampTracker()
    for row_id, stamp in [("A", "2026-01-01T00:00:05.100+0000"), ("B", "2026-01-01T00:00:04.999+0000"),
                              ("C", None), ("D", "2026-01-01T00:00:05.000Z"), ("E", "not a time"),
                              ("F", "2026-01-01T00:00:05.900+0000")]:
        tracker.add(row_id, stamp)
    assert tracker.latest == "2026-01-01T00:00:05.900+0000"
    assert tracker.rows == [("A", "2026-01-01T00:00:05.100+0000"), ("D", "2026-01-01T00:00:05.000Z"),
                            ("F", "2026-01-01T00:00:05.900+0000")]
    tracker.add("G", "2026-01-01T00:00:06.000+0000")
    assert tracker.rows == [("G", "2026-01-01T00:00:06.000+0000")]
