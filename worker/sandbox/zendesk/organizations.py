"""Organizations: unique names, case-insensitive external ids, field values, and ``/api/v2/organizations``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import (
    FORBIDDEN,
    MAX_VALUES,
    NOT_FOUND,
    TOO_MANY,
    error,
    json_body,
    plain_list,
    record_invalid,
    router,
    split_list,
)
from worker.sandbox.zendesk.fields import OrganizationFieldsMixin
from worker.sandbox.zendesk.pagination import paginate
from worker.sandbox.zendesk.state import RecordInvalid, invalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

ORG_WRITABLE = ("name", "external_id", "notes", "details", "tags", "domain_names", "group_id", "shared_tickets",
                "shared_comments")


class OrganizationsMixin(OrganizationFieldsMixin):
    """The organization rules of the account (they validate values against the organization fields)."""

    def render_org(self, org: dict[str, Any]) -> dict[str, Any]:
        out = dict(org)
        out["url"] = f"{self.base_url}/api/v2/organizations/{org['id']}.json"
        out["tags"] = list(org["tags"])
        out["domain_names"] = list(org["domain_names"])
        out["organization_fields"] = dict(org["organization_fields"])
        return out

    def name_owner(self, name: str) -> int | None:
        return self._names.get(name.strip().casefold())

    def add_organization(self, name: str, external_id: str | None = None,
                         organization_fields: dict[str, Any] | None = None, *, created_at: str | None = None,
                         **attrs: Any) -> int:
        """Create an organization directly (no HTTP); returns its id. Raises RecordInvalid on bad input.

        ``created_at`` (ISO 8601) backdates an organization that existed long before (seeded data); it is
        its ``updated_at`` too. By default both are now.
        """
        with self.lock:
            name = (name or "").strip()
            if not name:
                raise RecordInvalid(invalid("name", "Name: cannot be blank", "BlankValue"))
            if self.name_owner(name) is not None:
                raise RecordInvalid(invalid("name", f"Name: {name} has already been taken", "DuplicateValue"))
            values: dict[str, Any] = {f["key"]: None for f in self.ordered_fields()}
            by_key = {f["key"]: f for f in self.fields.values()}
            for key, value in (organization_fields or {}).items():
                if key not in by_key:
                    raise ValueError(f"no organization field with key {key!r}")
                problem = self.value_problem(by_key[key], value)
                if problem:
                    raise RecordInvalid(invalid("base", problem, "InvalidValue"))
                values[key] = None if value == "" else value
            org_id = self._next_org_id
            self._next_org_id += 1
            now = created_at or self.now_iso()
            org: dict[str, Any] = {
                "url": f"{self.base_url}/api/v2/organizations/{org_id}.json", "id": org_id, "name": name,
                "shared_tickets": False, "shared_comments": False, "external_id": external_id,
                "created_at": now, "updated_at": now, "domain_names": [], "details": None, "notes": None,
                "group_id": None, "tags": [], "organization_fields": values,
            }
            for attr in ORG_WRITABLE:
                if attr in attrs and attr != "name":
                    org[attr] = attrs[attr]
            self.organizations[org_id] = org
            self._sorted_org_ids = None
            self._names[name.casefold()] = org_id
            return org_id

    def set_org_field(self, org_id: int, key: str, value: Any) -> None:
        """Change one organization field value directly, as an agent does in the UI (no HTTP, no API limits).

        Validated like a PUT (RecordInvalid for a value the field refuses; ValueError for an unknown key),
        and ``updated_at`` is bumped, so the incremental export shows the change.
        """
        with self.lock:
            org = self.organizations[org_id]
            if key not in {f["key"] for f in self.fields.values()}:
                raise ValueError(f"no organization field with key {key!r}")
            changes = {"organization_fields": {key: value}}
            problem = self.org_change_problem(org, changes)
            if problem:
                raise RecordInvalid(invalid("base", problem, "InvalidValue"))
            self.apply_org_changes(org, changes)

    def sorted_organization_ids(self) -> list[int]:
        """Every organization id in order, kept until the set of ids changes.

        A list of 1,000,000 organizations is paged 10,000 times: sorting it for each page made the sandbox,
        not tiersync, the benchmark's cost.
        """
        cached = self._sorted_org_ids
        if cached is None or cached[0] != len(self.organizations) or not self._same_ids(cached[1]):
            cached = self._sorted_org_ids = (len(self.organizations), sorted(self.organizations))
        return cached[1]

    def _same_ids(self, ids: list[int]) -> bool:
        """A cheap check that ``ids`` still names the organizations (adds and deletes drop the cache anyway)."""
        return not ids or (ids[0] in self.organizations and ids[-1] in self.organizations)

    def delete_organization(self, org_id: int) -> None:
        with self.lock:
            org = self.organizations.pop(org_id)
            self._sorted_org_ids = None
            self._names.pop(org["name"].casefold(), None)

    def find_by_external_id(self, external_id: str) -> list[dict[str, Any]]:
        """Organizations whose external_id matches case-insensitively (Zendesk semantics), by id."""
        wanted = external_id.strip().casefold()
        return [o for o in self.organizations.values()
                if o["external_id"] is not None and str(o["external_id"]).casefold() == wanted]

    def org_change_problem(self, org: dict[str, Any], changes: dict[str, Any]) -> str | None:
        """Validate an update of ``org`` with ``changes``; returns the error detail or None."""
        name = changes.get("name")
        if name is not None:
            owner = self.name_owner(str(name))
            if not str(name).strip():
                return "Name: cannot be blank"
            if owner is not None and owner != org["id"]:
                return f"Name:  {str(name).strip()} has already been taken"
        by_key = {f["key"]: f for f in self.fields.values()}
        for key, value in (changes.get("organization_fields") or {}).items():
            if key in by_key:
                problem = self.value_problem(by_key[key], value)
                if problem:
                    return problem
        return None

    def apply_org_changes(self, org: dict[str, Any], changes: dict[str, Any]) -> None:
        """Apply validated ``changes``: writable attributes, merged organization_fields, bumped updated_at."""
        for attr in ORG_WRITABLE:
            if attr in changes:
                if attr == "name":
                    self._names.pop(org["name"].casefold(), None)
                    org["name"] = str(changes["name"]).strip()
                    self._names[org["name"].casefold()] = org["id"]
                else:
                    org[attr] = changes[attr]
        values = org["organization_fields"]
        for key, value in (changes.get("organization_fields") or {}).items():
            if key in values:  # unknown keys are ignored, as Zendesk does
                values[key] = None if value == "" else value
        org["updated_at"] = self.now_iso()


def agent_may(items: list[dict[str, Any]]) -> bool:
    """Agents without a custom role may only change ``notes`` (OAS UpdateOrganization / update_many)."""
    return all(set(item) <= {"id", "external_id", "notes"} for item in items)


def _orgs_list(zd: FakeZendesk, orgs: list[dict[str, Any]]) -> Response:
    return plain_list("organizations", [zd.render_org(o) for o in sorted(orgs, key=lambda o: o["id"])])


_ORG = r"/api/v2/organizations/(?P<id>\d+)"


@router.route("GET", "/api/v2/organizations")
def _list_orgs(zd: FakeZendesk, request: Request) -> Response:
    return paginate(zd, request, zd.sorted_organization_ids(), "organizations",
                    lambda org_id: zd.render_org(zd.organizations[org_id]))


@router.route("GET", "/api/v2/organizations/count")
def _count_orgs(zd: FakeZendesk, request: Request) -> Response:
    return Response(200, {"count": {"value": len(zd.organizations), "refreshed_at": zd.now_iso()}})


@router.route("GET", "/api/v2/organizations/show_many")
def _show_many(zd: FakeZendesk, request: Request) -> Response:
    ids, external_ids = split_list(request.param("ids")), split_list(request.param("external_ids"))
    if len(ids) > MAX_VALUES or len(external_ids) > MAX_VALUES:
        return Response(400, TOO_MANY)
    if ids:
        found = {int(i): zd.organizations[int(i)] for i in ids if i.isdigit() and int(i) in zd.organizations}
        return _orgs_list(zd, list(found.values()))
    found = {o["id"]: o for ext in external_ids for o in zd.find_by_external_id(ext)}
    return _orgs_list(zd, list(found.values()))


@router.route("GET", "/api/v2/organizations/search")
def _search(zd: FakeZendesk, request: Request) -> Response:
    external_id, name = request.param("external_id"), request.param("name")
    if external_id is not None:
        return _orgs_list(zd, zd.find_by_external_id(external_id))
    owner = zd.name_owner(name) if name else None
    return _orgs_list(zd, [zd.organizations[owner]] if owner is not None else [])


@router.route("POST", "/api/v2/organizations")
def _create_org(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = json_body(request).get("organization")
    if not isinstance(data, dict):
        return error(400, "InvalidValue", "organization parameter is required")
    known = {f["key"] for f in zd.fields.values()}
    values = {k: v for k, v in (data.get("organization_fields") or {}).items() if k in known}
    attrs = {k: v for k, v in data.items() if k not in ("name", "external_id", "organization_fields")}
    try:
        org_id = zd.add_organization(str(data.get("name") or ""), data.get("external_id"), values, **attrs)
    except RecordInvalid as exc:
        return record_invalid(exc)
    return Response(201, {"organization": zd.render_org(zd.organizations[org_id])})


@router.route("GET", _ORG)
def _show_org(zd: FakeZendesk, request: Request) -> Response:
    org = zd.organizations.get(int(request.params["id"]))
    if org is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"organization": zd.render_org(org)})


@router.route("PUT", _ORG)
def _update_org(zd: FakeZendesk, request: Request) -> Response:
    org_id = int(request.params["id"])
    org = zd.organizations.get(org_id)
    if org is None:
        return Response(404, NOT_FOUND)
    changes = json_body(request).get("organization")
    if not isinstance(changes, dict):
        return error(400, "InvalidValue", "organization parameter is required")
    if zd.role != "admin" and not agent_may([changes]):
        return Response(403, FORBIDDEN)
    throttled = _throttle_update(zd, org_id)
    if throttled is not None:
        return throttled
    problem = zd.org_change_problem(org, changes)
    if problem:
        return Response(422, {"error": "RecordInvalid", "description": "Record validation errors",
                              "details": {"base": [{"description": problem, "error": "InvalidValue"}]}})
    zd.apply_org_changes(org, changes)
    return Response(200, {"organization": zd.render_org(org)})


def _throttle_update(zd: FakeZendesk, org_id: int) -> Response | None:
    """Zendesk's per-organization update limit (``org_update_limit_per_minute``); records this update."""
    limit = zd.org_update_limit_per_minute
    if limit is None:
        return None
    now = zd.clock()
    recent = [t for t in zd.org_update_times.get(org_id, []) if now - t < 60]
    if len(recent) >= limit:
        return Response(429, {"errors": [{"code": "TooManyRequests", "title": "Too many requests to update"}]},
                        {"Retry-After": str(max(1, math.ceil(60 - (now - recent[0]))))})
    zd.org_update_times[org_id] = [*recent, now]
    return None


@router.route("DELETE", _ORG)
def _delete_org(zd: FakeZendesk, request: Request) -> Response:
    org_id = int(request.params["id"])
    if org_id not in zd.organizations:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    zd.delete_organization(org_id)
    return Response(204)
