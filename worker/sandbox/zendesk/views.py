"""Views: written in one format, read in another, and ``/api/v2/views``.

Create and update take ``{"view": {title, description, active, restriction, all, any, output}}`` with
``output`` ``{columns, group_by, group_order, sort_by, sort_order}``; reads give ``conditions``
``{all, any}`` and ``execution`` (columns as ``{id, title}``). ``conditions``/``execution`` in a write
are ignored, so writing back what was read is the documented 422 (no ``all``). The ``all`` conditions
must test status, type, group_id, assignee_id or requester_id; at most 10 columns, all known ones; an
update that sets ``all`` or ``any`` replaces both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, NOT_FOUND, as_id, error, json_body, record_invalid, router
from worker.sandbox.zendesk.pagination import paginate
from worker.sandbox.zendesk.rules import RulesMixin, condition_definition, parse_conditions
from worker.sandbox.zendesk.state import USER_ID, RecordInvalid, invalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

# The OAS "View columns" table: column id -> title (``status`` as the OAS ViewObject example titles it).
VIEW_COLUMNS = {"assigned": "Assigned", "assignee": "Assignee", "due_date": "Due Date", "group": "Group",
                "nice_id": "ID", "updated": "Updated", "updated_assignee": "Assignee updated",
                "updated_requester": "Requester updated", "updated_by_type": "Updater",
                "organization": "Organization", "priority": "Priority", "created": "Requested",
                "requester": "Requester", "locale_id": "Requester language", "satisfaction_score": "Satisfaction",
                "solved": "Solved", "status": "Status", "description": "Subject", "submitter": "Submitter",
                "ticket_form": "Ticket form", "type": "Type", "brand": "Brand", "custom_status_id": "Ticket status"}
UNSORTABLE = frozenset({"description", "submitter", "custom_status_id"})  # neither group_by nor sort_by
MAX_COLUMNS = 10
REQUIRED_ALL = ("status", "type", "group_id", "assignee_id", "requester_id")
REQUIRED_ALL_MESSAGE = ("View must test for at least one of the following ticket properties in the ALL conditions "
                        "section: Status, Type, Group, Assignee, Requester.")
_VIEW = r"/api/v2/views/(?P<id>\d+)"


class ViewsMixin(RulesMixin):
    """The view rules of the account."""

    def render_view(self, view: dict[str, Any]) -> dict[str, Any]:
        """The OAS ViewObject: ``conditions`` and ``execution``, not the write format."""
        out = {k: view[k] for k in ("id", "title", "description", "active", "position", "default", "restriction",
                                     "created_at", "updated_at")}
        out["conditions"] = {part: [dict(c) for c in view["conditions"][part]] for part in ("all", "any")}
        out["execution"] = _execution(view["output"])
        return out

    def create_view(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and create a view from an API payload (write format); raises RecordInvalid."""
        with self.lock:
            view: dict[str, Any] = {
                "id": 0, "title": "", "description": None, "active": True, "default": False, "restriction": None,
                "position": max((v["position"] for v in self.views.values()), default=0) + 1,
                "conditions": {"all": [], "any": []},
                "output": {"columns": [], "group_by": None, "group_order": None, "sort_by": None,
                           "sort_order": None}}
            self._apply_view_changes(view, data, creating=True)
            view["id"] = self.new_id("view")
            view["created_at"] = view["updated_at"] = self.now_iso()
            self.views[view["id"]] = view
            return view

    def update_view(self, view: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """PUT semantics (see the module docstring); raises RecordInvalid and then changes nothing."""
        with self.lock:
            changed = dict(view)
            self._apply_view_changes(changed, data, creating=False)
            view.update(changed, updated_at=self.now_iso())
            return view

    def _apply_view_changes(self, view: dict[str, Any], data: dict[str, Any], creating: bool) -> None:
        if creating or "title" in data:
            title = data.get("title")
            if not isinstance(title, str) or not title.strip():
                raise RecordInvalid(invalid("title", "Title: cannot be blank", "BlankValue"))
            view["title"] = title.strip()
        if "description" in data:
            view["description"] = None if data["description"] is None else str(data["description"])
        for attr, kind in (("active", bool), ("position", int)):
            if attr in data:
                if not isinstance(data[attr], kind) or (kind is int and isinstance(data[attr], bool)):
                    raise RecordInvalid(invalid(attr, f"{attr.title()} is invalid", "InvalidValue"))
                view[attr] = data[attr]
        if "restriction" in data:
            view["restriction"] = self._view_restriction(data["restriction"])
        if creating or "all" in data or "any" in data:
            conditions = {part: parse_conditions(data.get(part), "conditions") for part in ("all", "any")}
            if not any(c["field"] in REQUIRED_ALL for c in conditions["all"]):
                raise RecordInvalid(invalid("conditions", REQUIRED_ALL_MESSAGE, "InvalidValue"))
            self.check_conditions("view", conditions, "conditions")
            view["conditions"] = conditions
        if "output" in data:
            view["output"] = _output(view["output"], data["output"])

    def _view_restriction(self, raw: Any) -> dict[str, Any] | None:
        """``{"type": "Group", "ids": [...]}`` (or ``id``) of existing groups, ``{"type": "User", "id"}``, or null."""
        if raw is None:
            return None
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "Group":
            given = raw.get("ids") if raw.get("ids") is not None else [raw.get("id")]
            ids = [as_id(i) for i in given] if isinstance(given, list) else []
            if not ids or any(i is None or i not in self.groups for i in ids):
                raise RecordInvalid(invalid("restriction", "Restriction: no such group", "InvalidValue"))
            return {"type": "Group", "id": ids[0], "ids": ids}
        if kind == "User" and as_id(raw.get("id")) == USER_ID:
            return {"type": "User", "id": USER_ID}
        raise RecordInvalid(invalid("restriction", "Restriction is invalid", "InvalidValue"))


def _output(current: dict[str, Any], raw: Any) -> dict[str, Any]:
    """The view's output after a write's ``output`` (keys it leaves out are kept); raises RecordInvalid."""
    if not isinstance(raw, dict):
        raise RecordInvalid(invalid("output", "Output is invalid", "InvalidValue"))
    output = dict(current)
    if "columns" in raw:
        columns = raw["columns"]
        if not isinstance(columns, list) or any(not isinstance(c, str) or c not in VIEW_COLUMNS for c in columns):
            raise RecordInvalid(invalid("output", f"Columns: {columns!r} names a column views do not have",
                                        "InvalidValue"))
        if len(columns) > MAX_COLUMNS:
            raise RecordInvalid(invalid("output", f"You can specify a total of {MAX_COLUMNS} columns to a view",
                                        "InvalidValue"))
        output["columns"] = list(dict.fromkeys(columns))
    for by, order in (("group_by", "group_order"), ("sort_by", "sort_order")):
        if by in raw:
            if raw[by] is not None and (raw[by] not in VIEW_COLUMNS or raw[by] in UNSORTABLE):
                raise RecordInvalid(invalid("output", f"{by}: {raw[by]!r} cannot group or sort a view",
                                            "InvalidValue"))
            output[by] = raw[by]
        if order in raw:
            if raw[order] not in ("asc", "desc"):
                raise RecordInvalid(invalid("output", f"{order} must be asc or desc", "InvalidValue"))
            output[order] = raw[order]
        if output[by] is not None and output[order] is None:
            output[order] = "asc"
    return output


def _execution(output: dict[str, Any]) -> dict[str, Any]:
    """The read format of a view's output (OAS ViewObject example: columns, group and sort as ``{id, title}``)."""
    def described(column: str | None, order: str | None) -> dict[str, Any] | None:
        return None if column is None else {"id": column, "title": VIEW_COLUMNS[column], "order": order}

    return {"group_by": output["group_by"], "group_order": output["group_order"], "sort_by": output["sort_by"],
            "sort_order": output["sort_order"], "group": described(output["group_by"], output["group_order"]),
            "sort": described(output["sort_by"], output["sort_order"]),
            "columns": [{"id": c, "title": VIEW_COLUMNS[c]} for c in output["columns"]]}


def _view_matches(view: dict[str, Any], request: Request) -> bool:
    """The list filters ``active``, ``access`` (personal, shared, account) and ``group_id``."""
    active, access, group_id = request.param("active"), request.param("access"), request.param("group_id")
    restriction = view["restriction"] or {}
    if active in ("true", "false") and view["active"] is not (active == "true"):
        return False
    kind = {"User": "personal", "Group": "shared"}.get(restriction.get("type", ""), "account")
    if access is not None and access != kind:
        return False
    return group_id is None or str(group_id) in {str(i) for i in restriction.get("ids", [])}


@router.route("GET", "/api/v2/views")
def _list_views(zd: FakeZendesk, request: Request) -> Response:
    def key(view_id: int) -> tuple[int, ...]:
        return zd.views[view_id]["position"], view_id

    ids = [i for i in sorted(zd.views, key=key) if _view_matches(zd.views[i], request)]
    return paginate(zd, request, ids, "views", lambda i: zd.render_view(zd.views[i]), key=key)


@router.route("GET", "/api/v2/views/definitions")
def _view_definitions(zd: FakeZendesk, request: Request) -> Response:
    conditions = [condition_definition(f) for f in zd.condition_fields("view")]

    def columns(sortable: bool) -> list[dict[str, Any]]:
        return [{"group": "ticket", "title": title, "type": "text", "value": column}
                for column, title in VIEW_COLUMNS.items() if not sortable or column not in UNSORTABLE]

    return Response(200, {"definitions": {"conditions_all": conditions, "conditions_any": conditions,
                                          "groupables": columns(True), "output": columns(False),
                                          "sortables": columns(True)}})


@router.route("POST", "/api/v2/views")
def _create_view(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("view")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "view parameter is required")
    try:
        view = zd.create_view(data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(200, {"view": zd.render_view(view)})  # 200, not 201: the OAS CreateView answer


@router.route("GET", _VIEW)
def _show_view(zd: FakeZendesk, request: Request) -> Response:
    view = zd.views.get(int(request.params["id"]))
    if view is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"view": zd.render_view(view)})


@router.route("PUT", _VIEW)
def _update_view(zd: FakeZendesk, request: Request) -> Response:
    view = zd.views.get(int(request.params["id"]))
    if view is None:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("view")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "view parameter is required")
    try:
        zd.update_view(view, data)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(200, {"view": zd.render_view(view)})


@router.route("DELETE", _VIEW)
def _delete_view(zd: FakeZendesk, request: Request) -> Response:
    view_id = int(request.params["id"])
    if view_id not in zd.views:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    del zd.views[view_id]
    return Response(204)
