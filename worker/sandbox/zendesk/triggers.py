"""Ticket triggers: validation against the trigger definitions, and ``/api/v2/triggers``.

``title`` and ``actions`` are required; ``conditions`` is ``{"all", "any"}`` (the deprecated top-level
``all``/``any`` are read when ``conditions`` is absent); ``category_id`` is a string naming an existing
category, and the write-only ``category`` object creates one. As the OAS notes, an update that sets
conditions or actions replaces both: what it leaves out is cleared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, NOT_FOUND, error, json_body, record_invalid, router
from worker.sandbox.zendesk.categories import TriggerCategoriesMixin
from worker.sandbox.zendesk.pagination import SortKey, paginate
from worker.sandbox.zendesk.rules import RulesMixin, action_definition, condition_definition, parse_conditions
from worker.sandbox.zendesk.state import RecordInvalid, invalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

_TRIGGER = r"/api/v2/triggers/(?P<id>\d+)"


class TriggersMixin(TriggerCategoriesMixin, RulesMixin):
    """The trigger rules of the account."""

    def render_trigger(self, trigger: dict[str, Any]) -> dict[str, Any]:
        category_id = trigger["category_id"]
        return {"url": f"{self.base_url}/api/v2/triggers/{trigger['id']}.json", **trigger,
                "raw_title": trigger["title"], "category_id": None if category_id is None else str(category_id),
                "conditions": {part: [dict(c) for c in trigger["conditions"][part]] for part in ("all", "any")},
                "actions": [dict(a) for a in trigger["actions"]]}

    def create_trigger(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and create a trigger from an API payload; raises RecordInvalid."""
        with self.lock:
            position = max((t["position"] for t in self.triggers.values()), default=0) + 1
            trigger: dict[str, Any] = {"id": 0, "title": "", "description": None, "active": True,
                                       "position": position, "category_id": None,
                                       "conditions": {"all": [], "any": []}, "actions": [], "restriction": None,
                                       "default": False}
            new_category = self._apply_trigger_changes(trigger, data, creating=True)
            if new_category is not None:
                trigger["category_id"] = int(self.add_trigger_category(*new_category))
            trigger["id"] = self.new_id("trigger")
            trigger["created_at"] = trigger["updated_at"] = self.now_iso()
            self.triggers[trigger["id"]] = trigger
            return trigger

    def update_trigger(self, trigger: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """PUT semantics (see the module docstring); raises RecordInvalid and then changes nothing."""
        with self.lock:
            changed = dict(trigger)
            new_category = self._apply_trigger_changes(changed, data, creating=False)
            if new_category is not None:
                changed["category_id"] = int(self.add_trigger_category(*new_category))
            trigger.update(changed, updated_at=self.now_iso())
            return trigger

    def _apply_trigger_changes(self, trigger: dict[str, Any], data: dict[str, Any],
                               creating: bool) -> tuple[str, int | None] | None:
        """Validate ``data`` onto ``trigger`` (a copy); returns a category to create (name, position), if any."""
        if creating or "title" in data:
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise RecordInvalid(invalid("title", "Title: cannot be blank", "BlankValue"))
            trigger["title"] = title.strip()
        if "description" in data:
            trigger["description"] = None if data["description"] is None else str(data["description"])
        for attr, kind in (("active", bool), ("position", int)):
            if attr in data:
                if not isinstance(data[attr], kind) or (kind is int and isinstance(data[attr], bool)):
                    raise RecordInvalid(invalid(attr, f"{attr.title()} is invalid", "InvalidValue"))
                trigger[attr] = data[attr]
        if creating or any(k in data for k in ("conditions", "actions", "all", "any")):
            trigger["conditions"] = self._trigger_conditions(data)
            actions = data.get("actions")
            if not isinstance(actions, list) or not actions or not all(
                    isinstance(a, dict) and isinstance(a.get("field"), str) for a in actions):
                raise RecordInvalid(invalid("actions", "Actions: cannot be blank", "BlankValue"))
            trigger["actions"] = [{"field": a["field"], "value": a.get("value")} for a in actions]
            self.check_conditions("trigger", trigger["conditions"], "conditions")
            self.check_actions(trigger["actions"])
        if data.get("category_id") is not None:
            category = self.find_trigger_category(data["category_id"])
            if category is None:
                raise RecordInvalid(invalid("category_id", f"Category {data['category_id']} does not exist",
                                            "InvalidValue"))
            trigger["category_id"] = category["id"]
        elif isinstance(data.get("category"), dict):
            name, position = data["category"].get("name"), data["category"].get("position")
            if not isinstance(name, str) or not name.strip():
                raise RecordInvalid(invalid("category", "Category name cannot be blank", "BlankValue"))
            return name.strip(), position if isinstance(position, int) else None
        elif "category_id" in data:
            trigger["category_id"] = None
        return None

    @staticmethod
    def _trigger_conditions(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        raw = data.get("conditions")
        if raw is None:
            raw = {"all": data.get("all"), "any": data.get("any")}  # the deprecated top-level form
        if not isinstance(raw, dict):
            raise RecordInvalid(invalid("conditions", "Conditions must be {all: [...], any: [...]}",
                                        "InvalidValue"))
        return {part: parse_conditions(raw.get(part), "conditions") for part in ("all", "any")}


def _order(zd: FakeZendesk) -> tuple[list[int], SortKey]:
    """Trigger ids in list order (position, then id), and that sort key."""
    def key(trigger_id: int) -> tuple[int, ...]:
        return zd.triggers[trigger_id]["position"], trigger_id

    return sorted(zd.triggers, key=key), key


@router.route("GET", "/api/v2/triggers")
def _list_triggers(zd: FakeZendesk, request: Request) -> Response:
    ids, key = _order(zd)
    active, category_id = request.param("active"), request.param("category_id")
    if active in ("true", "false"):
        ids = [i for i in ids if zd.triggers[i]["active"] is (active == "true")]
    if category_id is not None:
        ids = [i for i in ids if str(zd.triggers[i]["category_id"]) == category_id]
    return paginate(zd, request, ids, "triggers", lambda i: zd.render_trigger(zd.triggers[i]), key=key)


@router.route("GET", "/api/v2/triggers/definitions")
def _trigger_definitions(zd: FakeZendesk, request: Request) -> Response:
    conditions = [condition_definition(f) for f in zd.condition_fields("trigger")]
    return Response(200, {"definitions": {"actions": [action_definition(f) for f in zd.trigger_actions()],
                                          "conditions_all": conditions, "conditions_any": conditions}})


@router.route("POST", "/api/v2/triggers")
def _create_trigger(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("trigger")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "trigger parameter is required")
    try:
        trigger = zd.create_trigger(data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(201, {"trigger": zd.render_trigger(trigger)})


@router.route("GET", _TRIGGER)
def _show_trigger(zd: FakeZendesk, request: Request) -> Response:
    trigger = zd.triggers.get(int(request.params["id"]))
    if trigger is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"trigger": zd.render_trigger(trigger)})


@router.route("PUT", _TRIGGER)
def _update_trigger(zd: FakeZendesk, request: Request) -> Response:
    trigger = zd.triggers.get(int(request.params["id"]))
    if trigger is None:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("trigger")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "trigger parameter is required")
    try:
        zd.update_trigger(trigger, data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(200, {"trigger": zd.render_trigger(trigger)})


@router.route("DELETE", _TRIGGER)
def _delete_trigger(zd: FakeZendesk, request: Request) -> Response:
    trigger_id = int(request.params["id"])
    if trigger_id not in zd.triggers:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    del zd.triggers[trigger_id]
    return Response(204)
