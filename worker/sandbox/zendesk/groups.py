"""Groups: unique names, ``add_group`` for tests and seeding, and the read endpoints ``/api/v2/groups``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import NOT_FOUND, router
from worker.sandbox.zendesk.pagination import paginate
from worker.sandbox.zendesk.state import RecordInvalid, ZendeskState, invalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk


class GroupsMixin(ZendeskState):
    """The group rules of the account (OAS GroupObject)."""

    def add_group(self, name: str, description: str = "", *, default: bool = False, is_public: bool = True) -> int:
        """Create a group directly (no HTTP); returns its id. Raises RecordInvalid for a blank or taken name."""
        with self.lock:
            name = (name or "").strip()
            if not name:
                raise RecordInvalid(invalid("name", "Name: cannot be blank", "BlankValue"))
            if self.group_named(name) is not None:
                raise RecordInvalid(invalid("name", f"Name: {name} has already been taken", "DuplicateValue"))
            group_id = self.new_id("group")
            now = self.now_iso()
            self.groups[group_id] = {"id": group_id, "name": name, "description": description, "default": default,
                                     "deleted": False, "is_public": is_public, "created_at": now, "updated_at": now}
            return group_id

    def group_named(self, name: str) -> int | None:
        """The id of the group called ``name`` (case-insensitive), if any."""
        wanted = name.strip().casefold()
        return next((g["id"] for g in self.groups.values() if g["name"].casefold() == wanted), None)

    def render_group(self, group: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.base_url}/api/v2/groups/{group['id']}.json", **group}


@router.route("GET", "/api/v2/groups")
def _list_groups(zd: FakeZendesk, request: Request) -> Response:
    return paginate(zd, request, sorted(zd.groups), "groups", lambda group_id: zd.render_group(zd.groups[group_id]))


@router.route("GET", r"/api/v2/groups/(?P<id>\d+)")
def _show_group(zd: FakeZendesk, request: Request) -> Response:
    group = zd.groups.get(int(request.params["id"]))
    if group is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"group": zd.render_group(group)})
