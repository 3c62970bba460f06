"""Trigger categories and ``/api/v2/trigger_categories``: string ids, cursor pagination, JSON:API-style errors.

The OAS answers this resource's errors as ``{"errors": [{"code", "title"}]}`` (a blank name is a 400
``InvalidTriggerCategory``, not a 422), creates with 200, and refuses to delete a category that holds
active triggers; the inactive triggers of a deleted category go with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, as_id, json_body, router
from worker.sandbox.zendesk.pagination import cursor_page
from worker.sandbox.zendesk.state import ZendeskState

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

_CATEGORY = r"/api/v2/trigger_categories/(?P<id>[^/]+)"


def category_error(status: int, code: str, title: str) -> Response:
    return Response(status, {"errors": [{"code": code, "title": title}]})


def _not_found() -> Response:
    return category_error(404, "TriggerCategoryNotFound", "Category can\u2019t be found. Check the ID and try again.")


class TriggerCategoriesMixin(ZendeskState):
    """The trigger-category rules of the account; ids are integers here and strings on the wire."""

    def add_trigger_category(self, name: str, position: int | None = None) -> str:
        """Create a category directly (no HTTP); returns its id (a string, as the API gives it)."""
        with self.lock:
            category_id = self.new_id("trigger_category")
            if position is None:
                position = max((c["position"] for c in self.trigger_categories.values()), default=-1) + 1
            now = self.now_iso()
            self.trigger_categories[category_id] = {"id": category_id, "name": name, "position": position,
                                                    "created_at": now, "updated_at": now}
            return str(category_id)

    def find_trigger_category(self, raw_id: Any) -> dict[str, Any] | None:
        """The category whose id is ``raw_id`` (a string or an integer), if any."""
        category_id = as_id(raw_id)
        return None if category_id is None else self.trigger_categories.get(category_id)

    def render_trigger_category(self, category: dict[str, Any], rule_counts: bool = False) -> dict[str, Any]:
        out = {**category, "id": str(category["id"])}
        if rule_counts:
            held = [t for t in self.triggers.values() if t["category_id"] == category["id"]]
            out["active_count"] = sum(1 for t in held if t["active"])
            out["inactive_count"] = len(held) - out["active_count"]
        return out


def _category_changes(data: Any, creating: bool) -> tuple[dict[str, Any], Response | None]:
    """The name and position a request sets, or the 400 it gets."""
    if not isinstance(data, dict):
        return {}, category_error(400, "InvalidTriggerCategory", "trigger_category parameter is required")
    changes: dict[str, Any] = {}
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            return {}, category_error(400, "InvalidTriggerCategory", "Name cannot be blank")
        changes["name"] = name.strip()
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            return {}, category_error(400, "InvalidTriggerCategory", "Position must be a non-negative integer")
        changes["position"] = position
    return changes, None


@router.route("GET", "/api/v2/trigger_categories")
def _list_categories(zd: FakeZendesk, request: Request) -> Response:
    def order(category_id: int) -> tuple[int, ...]:
        return zd.trigger_categories[category_id]["position"], category_id

    ids = sorted(zd.trigger_categories, key=order)
    counts = "rule_counts" in (request.param("include") or "").split(",")
    return cursor_page(zd, request, ids, "trigger_categories",
                       lambda i: zd.render_trigger_category(zd.trigger_categories[i], counts), key=order)


@router.route("POST", "/api/v2/trigger_categories")
def _create_category(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    changes, refusal = _category_changes(json_body(request).get("trigger_category"), creating=True)
    if refusal is not None:
        return refusal
    category_id = zd.add_trigger_category(changes["name"], changes.get("position"))
    return Response(200, {"trigger_category": zd.render_trigger_category(zd.trigger_categories[int(category_id)])})


@router.route("GET", _CATEGORY)
def _show_category(zd: FakeZendesk, request: Request) -> Response:
    category = zd.find_trigger_category(request.params["id"])
    if category is None:
        return _not_found()
    return Response(200, {"trigger_category": zd.render_trigger_category(category)})


@router.route("PATCH", _CATEGORY)
def _update_category(zd: FakeZendesk, request: Request) -> Response:
    category = zd.find_trigger_category(request.params["id"])
    if category is None:
        return _not_found()
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    changes, refusal = _category_changes(json_body(request).get("trigger_category"), creating=False)
    if refusal is not None:
        return refusal
    category.update(changes, updated_at=zd.now_iso())
    return Response(200, {"trigger_category": zd.render_trigger_category(category)})


@router.route("DELETE", _CATEGORY)
def _delete_category(zd: FakeZendesk, request: Request) -> Response:
    category = zd.find_trigger_category(request.params["id"])
    if category is None:
        return _not_found()
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    held = [t for t in zd.triggers.values() if t["category_id"] == category["id"]]
    if any(t["active"] for t in held):
        return category_error(400, "TriggerCategoryNotEmpty", "A category with active ticket triggers cannot be "
                              "deleted.")
    for trigger in held:
        del zd.triggers[trigger["id"]]
    del zd.trigger_categories[category["id"]]
    return Response(204)
