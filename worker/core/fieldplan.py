"""Plan the managed dropdown field: create it, or add/rename our options, never drop one.

Zendesk replaces a dropdown's whole option list on update and wipes the value of every
organization that held an omitted option (OAS UpdateOrganizationField: "Options that are not
passed will be removed. As a result, these values will be removed from any organizations.").
So the plan keeps every existing option, including ones tiersync did not create.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

from worker.core.actions import Action
from worker.core.config import TierFile
from worker.core.errors import RemoteStateError
from worker.core.model import FieldOption, OrganizationFieldState
from worker.core.plan import FieldPlan

DROPDOWN_TYPES = ("dropdown", "tagger")  # "tagger" is the legacy name of the dropdown type


def unread_field(config: TierFile) -> FieldPlan:
    """The field plan of a run with nothing to write: the field was not read, so nothing is done to it."""
    return FieldPlan(action=Action.NONE, key=config.zendesk.organization_field,
                     title=config.zendesk.organization_field_title)


def plan_field(config: TierFile, state: OrganizationFieldState | None) -> FieldPlan:
    """Decide what to do with the organization field named in ``zendesk.organization_field``.

    Raises:
        RemoteStateError: the key belongs to a field of another type, or the field has duplicate
            option values (Zendesk makes such a field uneditable until they are removed).

    """
    key, title = config.zendesk.organization_field, config.zendesk.organization_field_title
    wanted = tuple((tier.title, tier.tag) for tier in config.tiers)
    if state is None:
        return FieldPlan(action=Action.CREATE, key=key, title=title, add=wanted)
    if state.key != key:
        raise RemoteStateError(
            f"Zendesk organization field {state.key!r} (id {state.id}) differs from zendesk.organization_field "
            f"{key!r} only in letter case; Zendesk will not create a second field with that key",
            hint=f"set zendesk.organization_field to {state.key!r} to use that field, or choose a new key",
        )
    if state.type not in DROPDOWN_TYPES:
        raise RemoteStateError(
            f"Zendesk organization field {key!r} (id {state.id}) is a {state.type!r} field, not a dropdown",
            hint="set zendesk.organization_field in the tier file to a new key, or change that field in Zendesk",
        )
    repeated = [value for value, count in Counter(o.value.casefold() for o in state.options).items() if count > 1]
    if repeated:
        raise RemoteStateError(
            f"Zendesk organization field {key!r} has duplicate option values {repeated}",
            hint="remove the duplicates in Admin Center; Zendesk cannot update the field until then",
        )
    _refuse_case_only_differences(state, wanted)
    by_value = {option.value: option for option in state.options}
    add = tuple((name, tag) for name, tag in wanted if tag not in by_value)
    rename = tuple((by_value[tag].id or 0, by_value[tag].name, name)
                   for name, tag in wanted if tag in by_value and by_value[tag].name != name)
    ours = {tag for _, tag in wanted}
    foreign = tuple(option.value for option in state.options if option.value not in ours)
    action = Action.UPDATE if add or rename else Action.NONE
    return FieldPlan(action=action, key=key, title=title, field_id=state.id, add=add, rename=rename,
                     foreign_options=foreign)


def _refuse_case_only_differences(state: OrganizationFieldState, wanted: tuple[tuple[str, str], ...]) -> None:
    """Refuse an option whose value equals one of our tags but for letter case.

    Option values are tags, and Zendesk treats tags without regard to case (it stores them
    lower-cased: "About tags", support.zendesk.com), so adding our tag beside such an option would be
    refused as a duplicate on every run. The operator decides which spelling stays.
    """
    exact = {option.value for option in state.options}
    folded = {option.value.casefold(): option for option in state.options}
    for _, tag in wanted:
        twin = folded.get(tag.casefold())
        if tag not in exact and twin is not None:
            raise RemoteStateError(
                f"Zendesk organization field {state.key!r} has option {twin.name!r} with tag {twin.value!r}, which "
                f"differs from the tier tag {tag!r} only in letter case; Zendesk cannot hold both",
                hint=f"in Admin Center change that option's tag to {tag!r}, or set the tier's tag to another value",
            )


def with_holders(plan: FieldPlan, holders: Mapping[str, int], *, prune: bool) -> FieldPlan:
    """After a full read: count who holds each option no tier uses, and (``prune``) remove the unheld ones.

    Zendesk wipes an omitted option's value from every organization that holds it, so only an
    option that no organization holds is ever removed, and only when the operator asks.
    """
    in_use = tuple((value, holders.get(value, 0)) for value in plan.foreign_options if holders.get(value, 0))
    remove = tuple(value for value in plan.foreign_options if prune and not holders.get(value, 0))
    action = plan.action if not remove or plan.action is Action.CREATE else Action.UPDATE
    return replace(plan, action=action, remove=remove, in_use=in_use)


def merged_options(state: OrganizationFieldState, plan: FieldPlan) -> list[FieldOption]:
    """Every existing option (renamed where planned, ids kept, pruned ones left out), then the new ones (no id)."""
    new_names = {option_id: new for option_id, _, new in plan.rename}
    options = [FieldOption(o.id, new_names.get(o.id or 0, o.name), o.value) for o in state.options
               if o.value not in plan.remove]
    options += [FieldOption(None, name, tag) for name, tag in plan.add]
    return options
