"""The routing section of the one path: read Zendesk's rules, plan them (worker.core), apply the plan.

Every read happens while planning, before anything is written: a failed, truncated or
permission-limited read ends the run with nothing created or deleted. Creates converge: after a
create that failed or timed out (Zendesk may still have committed it), the object is looked up by
its marker before anything else is tried, so a retry never makes a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from worker.core.actions import Action
from worker.core.config import TierFile
from worker.core.errors import RemoteStateError, TiersyncError
from worker.core.ports import RoutingTarget
from worker.core.routing import RoutingContext, desired_rules
from worker.core.routing_plan import RoutingChange, RoutingOutcome, RoutingPlan, plan_routing
from worker.core.rules import Kind, RuleObject
from worker.core.runstate import RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedRouting:
    """A routing plan with the context it was planned in (apply re-derives objects from it)."""

    plan: RoutingPlan
    context: RoutingContext
    managed_before: int


def plan_routing_section(tier_file: TierFile, target: RoutingTarget, state: RunState, *,
                         force: bool) -> PlannedRouting:
    """Read groups, definitions, the category and every rule; plan against the tier file.

    Raises:
        RemoteStateError: a group is missing, or Zendesk lists none of the objects the last apply
            left (a read that may be incomplete is never a reason to create), unless ``force``.
        TiersyncError: any failed read, typed by the HTTP choke point.

    """
    category_id = target.find_category(tier_file.routing.category)
    context = RoutingContext(target.groups(), category_id, target.definitions())
    desired = desired_rules(tier_file, context)
    live = [obj for kind in Kind for obj in target.list_rules(kind)]
    plan = plan_routing(desired, live, category=tier_file.routing.category, category_exists=category_id is not None,
                        enforce=tier_file.routing.on_drift == "enforce")
    managed = sum(1 for obj in live if obj.marker is not None)
    if managed == 0 and state.routing_objects > 0 and not force:
        raise RemoteStateError(
            f"Zendesk lists none of the {state.routing_objects} triggers, views and SLA policies the last routing "
            "apply left; refusing to create them again from a read that may be incomplete",
            hint="check that the token still belongs to an admin; if a person deleted them, run "
                 "`tiersync routing apply --force` to create them again",
        )
    return PlannedRouting(plan, context, managed)


def apply_routing_section(tier_file: TierFile, planned: PlannedRouting, target: RoutingTarget,
                          outcome: RoutingOutcome | None = None, *, field_created: bool = False,
                          before_write: Callable[[], None] = lambda: None) -> RoutingOutcome:
    """Make exactly the planned changes: category first, then triggers, views and SLA policies.

    ``outcome`` is filled as changes are made, so a caller still knows what was done when a later
    change fails. When this run created the organization field, the definitions are read again:
    Zendesk offers a field as a condition only once it exists, and the objects are then written
    with the field's condition rather than the tag fallback the plan had to assume.
    """
    outcome = outcome if outcome is not None else RoutingOutcome(managed_after=planned.managed_before)
    context = planned.context
    if field_created:
        context = replace(context, definitions=target.definitions())
    if planned.plan.category_action is Action.CREATE:
        context = replace(context, category_id=_create_category(target, planned.plan.category))
        outcome.category_created = True
    desired = {rule.key: rule for rule in desired_rules(tier_file, context)}  # with the category's id
    for change in planned.plan.writes:
        before_write()  # the run lock's check: stop before a write this run may no longer make
        _apply_one(change, desired, target, outcome)
        outcome.done.append((change.key, change.action))
    return outcome


def _create_category(target: RoutingTarget, name: str) -> str:
    try:
        return target.create_category(name)
    except TiersyncError:
        found = target.find_category(name)  # committed before the error? then it is ours to use
        if found is None:
            raise
        return found


def _apply_one(change: RoutingChange, desired: dict[str, RuleObject], target: RoutingTarget,
               outcome: RoutingOutcome) -> None:
    if change.action is Action.DELETE:
        assert change.object_id is not None
        _delete(target, change.kind, change.object_id)
        outcome.managed_after -= 1
        return
    rule = desired[change.key]
    if change.action is Action.UPDATE:
        assert change.object_id is not None
        target.update_rule(rule.with_id(change.object_id))
        return
    _create_converging(target, rule, change.key, outcome)
    outcome.managed_after += 1


def _delete(target: RoutingTarget, kind: Kind, object_id: int) -> None:
    try:
        target.delete_rule(kind, object_id)
    except RemoteStateError as exc:
        if exc.http_status != 404:  # already gone is what we wanted
            raise


def _create_converging(target: RoutingTarget, rule: RuleObject, key: str, outcome: RoutingOutcome) -> None:
    try:
        target.create_rule(rule)
    except TiersyncError:
        committed = next((obj for obj in target.list_rules(rule.kind)
                          if obj.marker is not None and obj.marker.key == key), None)
        if committed is None:
            raise
        log.warning("routing: the create of %s failed but Zendesk has it (id %s); kept it", key, committed.id)
        outcome.adopted.append(key)
        if committed.marker is not None and committed.marker.digest != rule.content_digest():
            target.update_rule(rule.with_id(committed.id or 0))
