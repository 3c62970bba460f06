"""Both sides' changes between full runs: what the Zendesk export and the Salesforce removals mean.

An incremental run reads the accounts whose SystemModstamp moved (deleted and out-of-scope ones
included) and the organizations Zendesk's incremental export says changed since the last run. This
module decides, without I/O, which exported organizations need a look (not our own writes read back,
not ones an earlier run already saw), which planned changes are hand edits of the managed field, and
what happens to the organization of an account that left the scope.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from worker.core.config import TierFile
from worker.core.edits import EditAction, ManualEdit, Removal, RemovalAction
from worker.core.matching import OrganizationIndex
from worker.core.model import ChangedOrganization, Organization, OrganizationExport, RemovedAccount
from worker.core.plan import AccountPlan, Outcome, Plan, RejectReason

WRITTEN_TTL_SECONDS = 24 * 3600  # an own write the export never read back (its organization deleted?) is forgotten
EXPORT_MARGIN_SECONDS = 60  # the export's start_time must be at least a minute in the past (OAS IncrementalUnixTime)
READ_MARGIN_SECONDS = 2  # a full read's start, by a Date header (whole seconds), less this: no edit slips between


@dataclass(frozen=True)
class ExportReview:
    """What an export read means for this run.

    Attributes:
        changed: organizations changed by someone else since the last run, to be checked against Salesforce.
        created: ids among ``changed`` created since the last run (new links, not edits of a value).
        read_back: ids of our own earlier writes the export delivered (forgotten from the written list).
        mark: where the next export starts.
        seen: ids delivered at the ``mark`` second (a later export re-delivers them: no look, no report).

    """

    changed: tuple[Organization, ...]
    created: frozenset[int]
    read_back: frozenset[int]
    mark: int | None
    seen: tuple[int, ...]


def review_export(export: OrganizationExport, mark: int | None, seen: Collection[int],
                  written: Mapping[int, str | None]) -> ExportReview:
    """Sort the export's organizations into already seen, our own writes read back, and changed by someone.

    ``written`` maps organization ids to the value an earlier run wrote there. An organization that comes
    back holding that value is our write read back; one holding another value was changed after it.
    """
    changed: list[Organization] = []
    created: set[int] = set()
    read_back: set[int] = set()
    for item in export.organizations:
        organization = item.organization
        if mark is not None and (item.updated_at < mark or (item.updated_at == mark and organization.id in seen)):
            continue  # delivered to an earlier run already (inclusive page boundaries)
        if organization.id in written:
            read_back.add(organization.id)
            if written[organization.id] == organization.tier_tag:
                continue
        changed.append(organization)
        if _new_link(item, mark, written):
            created.add(organization.id)
    next_mark = mark if export.end_time is None else max(export.end_time, mark or export.end_time)
    at_mark = {item.organization.id for item in export.organizations if item.updated_at == next_mark}
    if next_mark == mark:
        at_mark |= set(seen)
    return ExportReview(tuple(changed), frozenset(created), frozenset(read_back), next_mark, tuple(sorted(at_mark)))


WrittenEntry = tuple[int, str | None, int]  # organization id, value written, when (unix seconds)


def _new_link(item: ChangedOrganization, mark: int | None, written: Mapping[int, str | None]) -> bool:
    """An organization made since the last run, without a value, that we never wrote: a new link, not an edit."""
    return (item.created_at is not None and mark is not None and item.created_at >= mark
            and item.organization.id not in written and item.organization.tier_tag is None)


def next_written(previous: Sequence[WrittenEntry], read_back: Collection[int],
                 writes: Iterable[tuple[int, str | None]], now: int) -> tuple[WrittenEntry, ...]:
    """The own writes the next export may still read back: earlier ones not yet read back, plus this run's."""
    kept = {org_id: (org_id, value, at) for org_id, value, at in previous
            if org_id not in read_back and now - at < WRITTEN_TTL_SECONDS}
    for org_id, value in writes:
        kept[org_id] = (org_id, value, now)
    return tuple(sorted(kept.values()))


def mark_manual_edits(plan: Plan, edited: Collection[str], on_manual_edit: str) -> Plan:
    """Find the hand edits among the accounts looked at because Zendesk changed (``edited``).

    A planned change there is a hand edit: restored (left in the plan's changes) or, under ``report``,
    held back as a rejection. An account whose outcome is already rejected is listed and left.
    """
    edits: list[ManualEdit] = []
    items: list[AccountPlan] = []
    for item in plan.accounts:
        if item.account_id in edited and item.organization_id is not None:
            item, edit = _hand_edit(item, on_manual_edit)
            if edit is not None:
                edits.append(edit)
        items.append(item)
    return replace(plan, accounts=tuple(items), manual_edits=tuple(edits))


_HELD = "changed by hand in Zendesk; left as found because zendesk.on_manual_edit is report"


def _hand_edit(item: AccountPlan, on_manual_edit: str) -> tuple[AccountPlan, ManualEdit | None]:
    org_id = item.organization_id
    assert org_id is not None
    if item.outcome is Outcome.SET_TIER:
        restore = on_manual_edit == "restore"
        edit = ManualEdit(org_id, item.account_id, item.account_name, item.current_tag,
                          item.target_tag, EditAction.RESTORE if restore else EditAction.REPORT)
        if not restore:
            item = replace(item, outcome=Outcome.REJECTED, reason=RejectReason.MANUAL_EDIT, detail=_HELD)
        return item, edit
    if item.outcome is Outcome.REJECTED and item.reason is not RejectReason.DUPLICATE_ORGANIZATIONS:
        return item, ManualEdit(org_id, item.account_id, item.account_name, item.current_tag,
                                None, EditAction.NONE, item.detail)
    return item, None


def plan_removals(config: TierFile, removed: Iterable[RemovedAccount],
                  organizations: Iterable[Organization]) -> tuple[Removal, ...]:
    """One Removal per removed account whose organization holds one of our tiers' tags.

    An organization without a value, or with a value no tier uses, is not tiersync's: nothing to keep
    or clear. Several organizations claiming the account are listed and never cleared.
    """
    index = OrganizationIndex.build(organizations)
    tags = {tier.tag for tier in config.tiers}
    clear = config.salesforce.on_account_removed == "clear"
    removals: list[Removal] = []
    for account in sorted({a.id: a for a in removed}.values(), key=lambda a: a.id):
        claims = [o for o in index.by_account.get(account.id, ()) if o.tier_tag in tags]
        if not claims:
            continue
        several = len(index.by_account[account.id]) > 1
        for organization in claims:
            assert organization.tier_tag is not None
            action = RemovalAction.CLEAR if clear and not several else RemovalAction.KEEP
            detail = "several organizations claim this account; none is cleared" if several and clear else ""
            removals.append(Removal(account.id, account.name, organization.id, account.reason,
                                    organization.tier_tag, action, detail))
    return tuple(removals)
