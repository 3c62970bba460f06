"""Terminal rendering of the routing section: the diff of triggers, views and SLA policies, and what was done."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from worker.core.actions import Action
from worker.core.routing_plan import RoutingOutcome, RoutingPlan, Why
from worker.core.rules import Kind
from worker.render.text import literal

_SIGN = {Action.CREATE: "[green]+[/green]", Action.UPDATE: "[yellow]~[/yellow]", Action.DELETE: "[red]-[/red]",
         Action.NONE: "[yellow]![/yellow]"}
KIND_NAMES = {Kind.TRIGGER: "trigger", Kind.VIEW: "view", Kind.SLA_POLICY: "SLA policy"}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def render_routing(plan: RoutingPlan, console: Console) -> None:
    """Print the routing diff: one line per object that changes or drifted, its attributes old -> new."""
    category = "create" if plan.category_action is Action.CREATE else "exists"
    console.print(f"[bold]Routing[/bold] (trigger category {literal(repr(plan.category))}: {category})")
    in_step = 0
    for change in plan.changes:
        if change.why is Why.IN_STEP:
            in_step += 1
            continue
        where = f" (id {change.object_id})" if change.object_id is not None else ""
        console.print(f"  {_SIGN[change.action]} {KIND_NAMES[change.kind]:<10} {literal(change.title)}{where}: "
                      f"{literal(change.action.value)}, {literal(change.why.value)}")
        for attribute in change.attributes:
            console.print(f"      {literal(attribute.name)}: {literal(_shown(attribute.old))} → "
                          f"{literal(_shown(attribute.new))}")
    console.print(f"  {in_step} in step")
    for collision in plan.collisions:
        console.print(f"  [yellow]![/yellow] {KIND_NAMES[collision.kind]} {collision.object_id} "
                      f"{literal(repr(collision.title))} has one of tiersync's titles but no marker: left alone "
                      "(name collision)")
    for duplicate in plan.duplicates:
        ids = ", ".join(str(i) for i in duplicate.object_ids)
        console.print(f"  [yellow]![/yellow] {KIND_NAMES[duplicate.kind]}s {ids} all carry the marker "
                      f"{literal(duplicate.key)}: the first is kept in step, the others are reported, never deleted")


def routing_counts(plan: RoutingPlan) -> str:
    """``1 trigger, 1 view, 1 SLA policy`` to create/update/delete, for the plan's summary line."""
    parts = []
    for action in (Action.CREATE, Action.UPDATE, Action.DELETE):
        counted = [(kind, plan.count(kind, action)) for kind in Kind]
        named = [f"{n} {KIND_NAMES[kind]}{'' if n == 1 else 's'}" for kind, n in counted if n]
        if named:
            parts.append(f"{action.value} {', '.join(named)}".replace("SLA policys", "SLA policies"))
    return "; ".join(parts) or "no routing change"


def render_routing_outcome(outcome: RoutingOutcome, console: Console) -> None:
    """Print what the routing apply did."""
    done = {action: sum(1 for _, a in outcome.done if a is action) for action in Action}
    category = " · trigger category created" if outcome.category_created else ""
    console.print(f"[bold]Routing applied:[/bold] {done[Action.CREATE]} created, {done[Action.UPDATE]} updated, "
                  f"{done[Action.DELETE]} deleted{category}; {outcome.managed_after} managed objects now")
    for key in outcome.adopted:
        console.print(f"  [yellow]note:[/yellow] the create of {literal(key)} failed, but Zendesk had committed it: "
                      "kept it (no duplicate)")
