"""Business-rule conditions and actions: what the definitions list, and what rules may use.

The rules are triggers, views and SLA policies. One table per rule kind, built at request time from
the account's groups and organization fields (an organization field's condition is
``organization.custom_fields.<key>``). A condition or action the definitions do not list is a 422
RecordInvalid, as are an operator the field does not take and a value outside the field's listed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from worker.sandbox.zendesk.fields import OrganizationFieldsMixin
from worker.sandbox.zendesk.groups import GroupsMixin
from worker.sandbox.zendesk.state import RecordInvalid, invalid

RuleKind = Literal["trigger", "view", "sla_policy"]
Values = tuple[tuple[str, str], ...]  # (value, title)

OPERATORS = {"is": "Is", "is_not": "Is not", "less_than": "Less than", "greater_than": "Greater than",
             "changed": "Changed", "value": "Changed to", "value_previous": "Changed from",
             "not_changed": "Not changed", "not_value": "Not changed to", "not_value_previous": "Not changed from",
             "includes": "Contains at least one of the following", "not_includes": "Contains none of the following",
             "present": "Present", "not_present": "Not present"}
TERMINAL = frozenset({"changed", "not_changed", "present", "not_present"})
_CHANGES = ("changed", "value", "value_previous", "not_changed", "not_value", "not_value_previous")
_ORDERED = ("is", "is_not", "less_than", "greater_than")
STATUSES: Values = (("new", "New"), ("open", "Open"), ("pending", "Pending"), ("hold", "On-hold"),
                    ("solved", "Solved"), ("closed", "Closed"))
TYPES: Values = (("question", "Question"), ("incident", "Incident"), ("problem", "Problem"), ("task", "Task"))
PRIORITIES: Values = (("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent"))
UPDATE_TYPES: Values = (("Create", "Created"), ("Change", "Updated"))
_ORG_FIELD_OPERATORS = {"dropdown": ("is", "is_not", "present", "not_present"),
                        "multiselect": ("includes", "not_includes", "present", "not_present"),
                        "checkbox": ("is",),
                        "integer": (*_ORDERED, "present", "not_present"),
                        "decimal": (*_ORDERED, "present", "not_present"),
                        "currency": (*_ORDERED, "present", "not_present"),
                        "date": (*_ORDERED, "present", "not_present")}


@dataclass(frozen=True)
class RuleField:
    """One condition (or action) subject: its operators and, for a closed list, its values."""

    subject: str
    title: str
    type: str
    operators: tuple[str, ...] = ()
    values: Values | None = None  # None: any value
    group: str = "ticket"
    nullable: bool = False


class RulesMixin(GroupsMixin, OrganizationFieldsMixin):
    """The condition and action tables of the account, and the checks rules pass on create and update."""

    def condition_fields(self, kind: RuleKind) -> list[RuleField]:
        """The condition subjects ``kind`` accepts now (the same for ``all`` and ``any``)."""
        groups = self._group_values()
        same = ("is", "is_not")
        if kind == "trigger":
            ticket = [RuleField("update_type", "Ticket", "list", ("is",), UPDATE_TYPES),
                      RuleField("status", "Status", "list", (*_ORDERED, *_CHANGES), STATUSES),
                      RuleField("type", "Type", "list", (*same, *_CHANGES), TYPES),
                      RuleField("priority", "Priority", "list", (*_ORDERED, *_CHANGES), PRIORITIES),
                      RuleField("group_id", "Group", "list", (*same, *_CHANGES), groups),
                      RuleField("assignee_id", "Assignee", "autocomplete", (*same, *_CHANGES)),
                      RuleField("requester_id", "Requester", "autocomplete", (*same, "changed", "not_changed")),
                      RuleField("organization_id", "Organization", "autocomplete",
                                (*same, "changed", "not_changed"))]
        else:
            ticket = [RuleField("type", "Type", "list", same, TYPES),
                      RuleField("group_id", "Group", "list", same, groups),
                      RuleField("assignee_id", "Assignee", "autocomplete", same),
                      RuleField("requester_id", "Requester", "autocomplete", same),
                      RuleField("organization_id", "Organization", "autocomplete", same)]
            if kind == "view":  # an SLA policy's targets are per priority, and it applies whatever the status
                ticket[:0] = [RuleField("status", "Status", "list", _ORDERED, STATUSES),
                              RuleField("priority", "Priority", "list", _ORDERED, PRIORITIES)]
        ticket.append(RuleField("current_tags", "Tags", "text", ("includes", "not_includes")))
        return ticket + [self._org_field_condition(f) for f in self.ordered_fields() if f["active"]]

    def _group_values(self) -> Values:
        """A group condition or action takes a group id (a string, as Zendesk lists it) or "" for none."""
        return (("", "-"), *((str(g["id"]), g["name"]) for g in sorted(self.groups.values(), key=lambda g: g["id"])
                             if not g["deleted"]))

    def _org_field_condition(self, fld: dict[str, Any]) -> RuleField:
        options: Values | None = None
        if "custom_field_options" in fld:
            options = tuple((o["value"], o["name"]) for o in fld["custom_field_options"])
        elif fld["type"] == "checkbox":
            options = (("true", "Checked"), ("false", "Unchecked"))
        operators = _ORG_FIELD_OPERATORS.get(fld["type"], ("is", "is_not", "present", "not_present"))
        kind = "list" if options is not None and fld["type"] != "checkbox" else fld["type"]
        return RuleField(f"organization.custom_fields.{fld['key']}", fld["title"], kind, operators, options,
                         group="organization", nullable=True)

    def trigger_actions(self) -> list[RuleField]:
        """The action subjects a trigger accepts now."""
        groups = self._group_values()
        return [RuleField("status", "Status", "list", values=STATUSES[1:]),
                RuleField("type", "Type", "list", values=TYPES),
                RuleField("priority", "Priority", "list", values=PRIORITIES),
                RuleField("group_id", "Group", "list", values=groups, nullable=True),
                RuleField("assignee_id", "Assignee", "list", nullable=True),
                RuleField("set_tags", "Set tags", "text"),
                RuleField("current_tags", "Add tags", "text"),
                RuleField("remove_tags", "Remove tags", "text")]

    def check_conditions(self, kind: RuleKind, conditions: dict[str, list[dict[str, Any]]], attr: str) -> None:
        """Raise RecordInvalid unless every condition names a known subject, one of its operators and values."""
        known = {f.subject: f for f in self.condition_fields(kind)}
        for part in ("all", "any"):
            for cond in conditions[part]:
                fld = known.get(cond["field"])
                if fld is None:
                    raise RecordInvalid(invalid(attr, f"{cond['field']!r} is not a valid condition field "
                                                f"({part} conditions)", "InvalidValue"))
                if cond["operator"] not in fld.operators:
                    raise RecordInvalid(invalid(attr, f"{cond['operator']!r} is not a valid operator for "
                                                f"{fld.subject}", "InvalidValue"))
                if cond["operator"] not in TERMINAL:
                    _check_value(fld, cond.get("value"), attr)

    def check_actions(self, actions: list[dict[str, Any]]) -> None:
        """Raise RecordInvalid unless every trigger action names a known subject and one of its values."""
        known = {f.subject: f for f in self.trigger_actions()}
        for action in actions:
            fld = known.get(action["field"])
            if fld is None:
                raise RecordInvalid(invalid("actions", f"{action['field']!r} is not a valid action field",
                                            "InvalidValue"))
            _check_value(fld, action.get("value"), "actions")


def _check_value(fld: RuleField, value: Any, attr: str) -> None:
    values = value if isinstance(value, list) else [value]
    if value is None or (fld.values is None and any(v is None or isinstance(v, dict) for v in values)):
        raise RecordInvalid(invalid(attr, f"{fld.subject}: a value is required", "BlankValue"))
    if fld.values is not None:
        allowed = {v for v, _ in fld.values}
        if not values or any(_as_text(v) not in allowed for v in values):
            raise RecordInvalid(invalid(attr, f"{fld.subject}: {value!r} is not one of its values",
                                        "InvalidValue"))


def _as_text(value: Any) -> str | None:
    """How a value compares with a definition's values (``true``, ``"20455932"`` for 20455932)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    return None


def parse_conditions(raw: Any, attr: str) -> list[dict[str, Any]]:
    """A list of ``{field, operator, value}`` from a request; raises RecordInvalid for any other shape."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(c, dict) and isinstance(c.get("field"), str)
                                            and isinstance(c.get("operator"), str) for c in raw):
        raise RecordInvalid(invalid(attr, "Conditions must be a list of {field, operator, value}", "InvalidValue"))
    return [{"field": c["field"], "operator": c["operator"], "value": c.get("value")} for c in raw]


def condition_definition(fld: RuleField) -> dict[str, Any]:
    """A condition in the triggers/views definitions shape (OAS TriggerConditionDefinitionObjectAll)."""
    out: dict[str, Any] = {"group": fld.group, "nullable": fld.nullable, "operators": [
        {"terminal": op in TERMINAL, "title": OPERATORS[op], "value": op} for op in fld.operators],
        "repeatable": False, "subject": fld.subject, "title": fld.title, "type": fld.type}
    if fld.values is not None:
        out["values"] = [{"enabled": True, "title": title, "value": value} for value, title in fld.values]
    return out


def action_definition(fld: RuleField) -> dict[str, Any]:
    """An action in the triggers definitions shape (OAS TriggerActionDefinitionObject)."""
    out: dict[str, Any] = {"group": fld.group, "nullable": fld.nullable, "repeatable": False,
                           "subject": fld.subject, "title": fld.title, "type": fld.type}
    if fld.values is not None:
        out["values"] = [{"enabled": True, "title": title, "value": value} for value, title in fld.values]
    return out


def sla_definition(fld: RuleField) -> dict[str, Any]:
    """A filter condition in the SLA policies definitions shape (OAS SLAPolicyFilterDefinitionResponse)."""
    listed = [{"title": title, "value": value} for value, title in fld.values or ()]
    return {"group": fld.group, "operators": [{"title": OPERATORS[op], "value": op} for op in fld.operators],
            "target": None, "title": fld.title, "value": fld.subject,
            "values": {"list": listed, "type": "list" if fld.values is not None else fld.type}}
