"""Desired routing vs live Zendesk rules -> a routing plan: create, update (attribute by attribute), delete.

tiersync owns only objects that carry its marker. An unmarked object with one of our titles is a
name collision, reported and never touched; two marked objects with one key are duplicates,
reported and never deleted (the lowest id is the one kept in step). A managed object whose content
differs from the tier file is updated when the tier file changed since tiersync wrote it (the
marker's digest no longer matches the desired content), and is *drift* when a person edited it: then
``on_drift: enforce`` restores it and ``report`` leaves it and says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from worker.core.actions import Action
from worker.core.rules import Kind, RuleObject


class Why(StrEnum):
    """Why a routing object changes (or is left as it is)."""

    NEW = "new"
    MISSING = "missing"  # it was ours and is gone (deleted by hand, or never created)
    CONFIG_CHANGED = "tier file changed"
    DRIFT_RESTORED = "edited in Zendesk; restored (on_drift: enforce)"
    DRIFT_REPORTED = "edited in Zendesk; left as it is (on_drift: report)"
    REMOVED = "no longer in the tier file"
    IN_STEP = "in step"


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of a routing object, as it is and as it should be."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RoutingChange:
    """What happens to one managed object.

    Attributes:
        key: ``<tier>:<kind>``.
        kind: trigger, view or SLA policy.
        action: create, update, delete, or none (in step, or drift left as it is).
        why: the reason, shown to the operator.
        title: the object's title (desired, or live for a delete).
        object_id: Zendesk's id of the live object, if there is one.
        desired: what should exist (None for a delete).
        attributes: for an update or reported drift, each attribute that differs, old -> new.

    """

    key: str
    kind: Kind
    action: Action
    why: Why
    title: str
    object_id: int | None = None
    desired: RuleObject | None = None
    attributes: tuple[AttributeChange, ...] = ()

    @property
    def writes(self) -> bool:
        """True when applying this change makes a request that writes."""
        return self.action is not Action.NONE


@dataclass(frozen=True)
class Collision:
    """An unmarked object that has the title of one of ours: never modified, reported."""

    kind: Kind
    object_id: int | None
    title: str


@dataclass(frozen=True)
class Duplicate:
    """Several marked objects with one key (found in the wild): reported, never deleted."""

    key: str
    kind: Kind
    object_ids: tuple[int | None, ...]


@dataclass(frozen=True)
class RoutingPlan:
    """Every routing decision of one run, before anything is written.

    Attributes:
        category: the owned trigger category's name and whether it must be created.
        changes: one entry per desired or managed object, in apply order (triggers, views, SLA policies).
        collisions / duplicates: what was found and left alone.

    """

    category: str
    category_action: Action
    changes: tuple[RoutingChange, ...]
    collisions: tuple[Collision, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()

    @property
    def writes(self) -> tuple[RoutingChange, ...]:
        """The changes that write."""
        return tuple(change for change in self.changes if change.writes)

    @property
    def drift(self) -> tuple[RoutingChange, ...]:
        """Managed objects a person edited (restored or reported)."""
        return tuple(c for c in self.changes if c.why in (Why.DRIFT_RESTORED, Why.DRIFT_REPORTED))

    def count(self, kind: Kind, action: Action) -> int:
        """How many objects of ``kind`` get ``action``."""
        return sum(1 for change in self.changes if change.kind is kind and change.action is action)


def compared(rule: RuleObject) -> dict[str, Any]:
    """The compared content of a rule: its title and attributes (never its id, description or position)."""
    return {"title": rule.title, **rule.attributes}


def attribute_changes(live: RuleObject, desired: RuleObject) -> tuple[AttributeChange, ...]:
    """Each compared attribute that differs, old -> new, in a stable order."""
    old, new = compared(live), compared(desired)
    return tuple(AttributeChange(name, old.get(name), new.get(name))
                 for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name))


def plan_routing(desired: Sequence[RuleObject], live: Iterable[RuleObject], *, category: str,
                 category_exists: bool, enforce: bool) -> RoutingPlan:
    """Compare the desired objects with every live trigger, view and SLA policy.

    Args:
        desired: from :func:`worker.core.routing.desired_rules` (each carries its marker).
        live: every object of the three kinds in the account, managed or not.
        category: the owned trigger category's name.
        category_exists: whether Zendesk has that category.
        enforce: ``on_drift: enforce``.

    """
    live = list(live)
    managed, duplicates = _managed_by_key(live)
    changes = [_change(rule, managed.get(rule.key), enforce=enforce) for rule in desired]
    wanted = {rule.key for rule in desired}
    changes += [RoutingChange(key, obj.kind, Action.DELETE, Why.REMOVED, obj.title, obj.id)
                for key, obj in sorted(managed.items()) if key not in wanted]
    order = list(Kind)
    changes.sort(key=lambda c: order.index(c.kind))  # stable: tier order kept within a kind
    return RoutingPlan(category, Action.NONE if category_exists else Action.CREATE, tuple(changes),
                       _collisions(desired, live), duplicates)


def _managed_by_key(live: list[RuleObject]) -> tuple[dict[str, RuleObject], tuple[Duplicate, ...]]:
    grouped: dict[str, list[RuleObject]] = defaultdict(list)
    for obj in live:
        marker = obj.marker
        if marker is not None and marker.key.endswith(f":{obj.kind.value}"):
            grouped[marker.key].append(obj)
    kept = {key: min(objs, key=lambda o: o.id or 0) for key, objs in grouped.items()}
    duplicates = tuple(Duplicate(key, objs[0].kind, tuple(sorted(o.id or 0 for o in objs)))
                       for key, objs in sorted(grouped.items()) if len(objs) > 1)
    return kept, duplicates


def _change(desired: RuleObject, live: RuleObject | None, *, enforce: bool) -> RoutingChange:
    key = desired.key
    if live is None:
        return RoutingChange(key, desired.kind, Action.CREATE, Why.NEW, desired.title, desired=desired)
    base = RoutingChange(key, desired.kind, Action.NONE, Why.IN_STEP, desired.title, live.id, desired)
    differences = attribute_changes(live, desired)
    if not differences:
        return base
    written = live.marker.digest if live.marker else None
    config_changed = written != desired.content_digest()
    hand_edited = written != live.content_digest()
    if config_changed or enforce:
        why = Why.CONFIG_CHANGED if config_changed or not hand_edited else Why.DRIFT_RESTORED
        return _replace(base, Action.UPDATE, why, differences)
    return _replace(base, Action.NONE, Why.DRIFT_REPORTED, differences)


def _replace(base: RoutingChange, action: Action, why: Why, differences: tuple[AttributeChange, ...]) -> RoutingChange:
    return RoutingChange(base.key, base.kind, action, why, base.title, base.object_id, base.desired, differences)


def _collisions(desired: Sequence[RuleObject], live: list[RuleObject]) -> tuple[Collision, ...]:
    ours = {(rule.kind, rule.title.casefold()) for rule in desired}
    return tuple(Collision(obj.kind, obj.id, obj.title) for obj in live
                 if obj.marker is None and (obj.kind, obj.title.casefold()) in ours)


@dataclass
class RoutingOutcome:
    """What apply did: one line per object written, and how many managed objects exist afterwards."""

    done: list[tuple[str, Action]] = field(default_factory=list)
    category_created: bool = False
    managed_after: int = 0
    adopted: list[str] = field(default_factory=list)  # creates that had been committed despite an error
