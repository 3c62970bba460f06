"""HTTP for the fake Zendesk: auth, rate limiting, pagination and the endpoints tiersync uses (shared Router).

Every path is accepted with or without the ``.json`` suffix zenpy appends.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from worker.sandbox.httpbase import Request, Response, Router, take_fault
from worker.sandbox.zendesk import USER_ID, RecordInvalid

if TYPE_CHECKING:
    from worker.sandbox.zendesk import FakeZendesk

MAX_VALUES = 100
OFFSET_RECORD_CAP = 10_000
FORBIDDEN = {"error": "Forbidden", "description": "You do not have access to this page. Please contact the "
             "account owner of this help desk for further help."}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
TOO_MANY = {"error": "TooManyValues", "description": "Parameter  cannot specify more than 100 values",
            "max_count": MAX_VALUES}


def _error(status: int, error: str, description: str, **extra: Any) -> Response:
    return Response(status, {"error": error, "description": description, **extra})


def _invalid_endpoint(request: Request) -> Response:
    return _error(404, "InvalidEndpoint", "Not found")


# Zendesk answers a known path with a method it does not take like an unknown path.
router: Router[FakeZendesk] = Router(not_found=_invalid_endpoint,
                                     method_not_allowed=lambda request, allowed: _invalid_endpoint(request))


def _body(request: Request) -> dict[str, Any]:
    """The JSON object in the body ({} for none or another JSON value); the gate refused bodies that are not JSON."""
    body = request.json()
    return body if isinstance(body, dict) else {}


def _record_invalid(exc: RecordInvalid) -> Response:
    return Response(422, {"error": "RecordInvalid", "description": "Record validation errors", "details": exc.details})


def _split_list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _encode_cursor(org_id: int) -> str:
    raw = json.dumps({"o": "id", "v": org_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int(json.loads(raw)["v"])


def handle_request(zd: FakeZendesk, request: Request) -> Response:
    """Serve one request against ``zd`` (the caller holds ``zd.lock``)."""
    path = request.path.rstrip("/")
    if path.endswith(".json"):
        path = path[: -len(".json")]
    query = unquote(request.raw_query)
    zd.requests.append((request.method, path, query))
    response = take_fault(zd.faults, request.method, path + ("?" + query if query else ""))
    if response is None:
        response = _authenticated(zd, request, path)
    _rate_headers(zd, response)
    return response


def _window(zd: FakeZendesk) -> tuple[int, int]:
    """Roll the per-minute window; return (seconds until it ends, remaining requests)."""
    now = zd.clock()
    start = math.floor(now / 60) * 60
    if start != zd.window_start:
        zd.window_start, zd.window_count = start, 0
    reset = max(1, math.ceil(start + 60 - now))
    return reset, max(0, zd.rate_limit_per_minute - zd.window_count)


def _rate_headers(zd: FakeZendesk, response: Response) -> None:
    reset, remaining = _window(zd)
    limit = str(zd.rate_limit_per_minute)
    response.headers.update({"X-Rate-Limit": limit, "X-Rate-Limit-Remaining": str(remaining),
                             "ratelimit-limit": limit, "ratelimit-remaining": str(remaining),
                             "ratelimit-reset": str(reset)})


def _auth_ok(zd: FakeZendesk, header: str) -> bool:
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer":
        return secrets.compare_digest(credential.strip(), zd.oauth_token)
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, _, secret = decoded.partition(":")
    return user.casefold() == f"{zd.email}/token".casefold() and secrets.compare_digest(secret, zd.api_token)


def _authenticated(zd: FakeZendesk, request: Request, path: str) -> Response:
    header = request.header("Authorization")
    if not header and request.method == "GET" and path == "/api/v2/users/me":
        return Response(200, {"user": {"id": None, "url": None, "name": "Anonymous user",
                                       "email": "invalid@example.com", "role": "end-user", "active": True,
                                       "verified": False, "locale": "en-US", "time_zone": "UTC"}})
    if not header or not _auth_ok(zd, header):
        return Response(401, {"error": "Couldn't authenticate you"},
                        {"WWW-Authenticate": 'Basic realm="Web Password"'})
    reset, remaining = _window(zd)
    if remaining <= 0:
        return Response(429, {"error": "APIRateLimitExceeded",
                              "description": "Number of allowed API requests per minute exceeded"},
                        {"Retry-After": str(reset)})
    zd.window_count += 1
    try:
        request.json()
    except ValueError:
        return _error(400, "InvalidValue", "The request body is not valid JSON")
    return router.dispatch(zd, request, path)


@router.route("GET", "/api/v2/users/me")
def _me(zd: FakeZendesk, request: Request) -> Response:
    return Response(200, {"user": _current_user(zd)})


def _current_user(zd: FakeZendesk) -> dict[str, Any]:
    """The token's user, shaped like the OAS CurrentUserResponse."""
    now = zd.now_iso()
    return {"id": USER_ID, "url": f"{zd.base_url}/api/v2/users/{USER_ID}.json", "name": "Sandbox Admin",
            "email": zd.email, "created_at": now, "updated_at": now, "time_zone": "UTC",
            "iana_time_zone": "Etc/UTC", "locale": "en-US", "locale_id": 1, "organization_id": None,
            "role": zd.role, "role_type": 4 if zd.role == "admin" else None, "custom_role_id": None,
            "active": True, "verified": True, "suspended": False, "restricted_agent": False,
            "moderator": zd.role == "admin", "only_private_comments": False, "shared": False,
            "shared_agent": False, "ticket_restriction": None, "external_id": None, "tags": [],
            "user_fields": {}, "authenticity_token": secrets.token_urlsafe(24)}


# ---------------------------------------------------------------------- organizations
@router.route("GET", "/api/v2/organizations")
def _list_orgs(zd: FakeZendesk, request: Request) -> Response:
    params = request.query
    ids = sorted(zd.organizations)
    if any(k.startswith("page[") for k in params):
        return _cursor_page(zd, request, ids)
    try:
        page = int(request.param("page") or 1)
        per_page = min(100, max(1, int(request.param("per_page") or 100)))
    except ValueError:
        return _error(400, "InvalidPaginationParameter", "page and per_page must be integers")
    start = (max(page, 1) - 1) * per_page
    if start >= OFFSET_RECORD_CAP:
        return _error(400, "InvalidPaginationParameter", "Offset pagination is limited to the first 10000 "
                      "records. Use cursor pagination to retrieve more records.")
    chunk = ids[start:start + per_page]
    base = f"{zd.base_url}/api/v2/organizations.json"
    more = start + per_page < len(ids)
    return Response(200, {
        "organizations": [zd.render_org(zd.organizations[i]) for i in chunk],
        "next_page": f"{base}?page={page + 1}&per_page={per_page}" if more else None,
        "previous_page": f"{base}?page={page - 1}&per_page={per_page}" if page > 1 else None,
        "count": len(ids),
    })


def _cursor_page(zd: FakeZendesk, request: Request, ids: list[int]) -> Response:
    try:
        size = int(request.param("page[size]") or 100)
        after, before = request.param("page[after]"), request.param("page[before]")
        if after:
            lo = bisect.bisect_right(ids, _decode_cursor(after))
            chunk = ids[lo:lo + size]
            has_more = lo + size < len(ids)
        elif before:
            hi = bisect.bisect_left(ids, _decode_cursor(before))
            chunk = ids[max(0, hi - size):hi]
            has_more = hi - size > 0
        else:
            chunk = ids[:size]
            has_more = size < len(ids)
    except (ValueError, KeyError, binascii.Error, json.JSONDecodeError):
        return _error(400, "InvalidPaginationParameter", "Invalid pagination parameters")
    if size < 1 or size > 100:
        return _error(400, "InvalidPaginationParameter", "page[size] must be between 1 and 100")
    after_cursor = _encode_cursor(chunk[-1]) if chunk else None
    before_cursor = _encode_cursor(chunk[0]) if chunk else None
    base = f"{zd.base_url}/api/v2/organizations.json?page%5Bsize%5D={size}"
    return Response(200, {
        "organizations": [zd.render_org(zd.organizations[i]) for i in chunk],
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
        "links": {"next": f"{base}&page%5Bafter%5D={quote(after_cursor)}" if after_cursor else None,
                  "prev": f"{base}&page%5Bbefore%5D={quote(before_cursor)}" if before_cursor else None},
    })


def _orgs_response(zd: FakeZendesk, orgs: list[dict[str, Any]]) -> Response:
    orgs = sorted(orgs, key=lambda o: o["id"])
    return Response(200, {"organizations": [zd.render_org(o) for o in orgs], "next_page": None,
                          "previous_page": None, "count": len(orgs)})


@router.route("GET", "/api/v2/organizations/count")
def _count_orgs(zd: FakeZendesk, request: Request) -> Response:
    return Response(200, {"count": {"value": len(zd.organizations), "refreshed_at": zd.now_iso()}})


@router.route("GET", "/api/v2/organizations/show_many")
def _show_many(zd: FakeZendesk, request: Request) -> Response:
    ids, external_ids = _split_list(request.param("ids")), _split_list(request.param("external_ids"))
    if len(ids) > MAX_VALUES or len(external_ids) > MAX_VALUES:
        return Response(400, TOO_MANY)
    if ids:
        found = {int(i): zd.organizations[int(i)] for i in ids if i.isdigit() and int(i) in zd.organizations}
        return _orgs_response(zd, list(found.values()))
    found = {o["id"]: o for ext in external_ids for o in zd.find_by_external_id(ext)}
    return _orgs_response(zd, list(found.values()))


@router.route("GET", "/api/v2/organizations/search")
def _search(zd: FakeZendesk, request: Request) -> Response:
    external_id, name = request.param("external_id"), request.param("name")
    if external_id is not None:
        return _orgs_response(zd, zd.find_by_external_id(external_id))
    owner = zd.name_owner(name) if name else None
    return _orgs_response(zd, [zd.organizations[owner]] if owner is not None else [])


@router.route("POST", "/api/v2/organizations")
def _create_org(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = _body(request).get("organization")
    if not isinstance(data, dict):
        return _error(400, "InvalidValue", "organization parameter is required")
    known = {f["key"] for f in zd.fields.values()}
    values = {k: v for k, v in (data.get("organization_fields") or {}).items() if k in known}
    attrs = {k: v for k, v in data.items() if k not in ("name", "external_id", "organization_fields")}
    try:
        org_id = zd.add_organization(str(data.get("name") or ""), data.get("external_id"), values, **attrs)
    except RecordInvalid as exc:
        return _record_invalid(exc)
    org = zd.organizations[org_id]
    return Response(201, {"organization": zd.render_org(org)})


def _agent_may(items: list[dict[str, Any]]) -> bool:
    """Agents without a custom role may only change ``notes`` (OAS UpdateOrganization / update_many)."""
    return all(set(item) <= {"id", "external_id", "notes"} for item in items)


_ORG = r"/api/v2/organizations/(?P<id>\d+)"


@router.route("GET", _ORG)
def _show_org(zd: FakeZendesk, request: Request) -> Response:
    org = zd.organizations.get(int(request.params["id"]))
    if org is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"organization": zd.render_org(org)})


@router.route("DELETE", _ORG)
def _delete_org(zd: FakeZendesk, request: Request) -> Response:
    org_id = int(request.params["id"])
    if org_id not in zd.organizations:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    zd.delete_organization(org_id)
    return Response(204)


@router.route("PUT", _ORG)
def _update_org(zd: FakeZendesk, request: Request) -> Response:
    org_id = int(request.params["id"])
    org = zd.organizations.get(org_id)
    if org is None:
        return Response(404, NOT_FOUND)
    changes = _body(request).get("organization")
    if not isinstance(changes, dict):
        return _error(400, "InvalidValue", "organization parameter is required")
    if zd.role != "admin" and not _agent_may([changes]):
        return Response(403, FORBIDDEN)
    limit = zd.org_update_limit_per_minute
    if limit is not None:
        now = zd.clock()
        recent = [t for t in zd.org_update_times.get(org_id, []) if now - t < 60]
        if len(recent) >= limit:
            return Response(429, {"errors": [{"code": "TooManyRequests", "title": "Too many requests to update"}]},
                            {"Retry-After": str(max(1, math.ceil(60 - (now - recent[0]))))})
        zd.org_update_times[org_id] = [*recent, now]
    problem = zd.org_change_problem(org, changes)
    if problem:
        return Response(422, {"error": "RecordInvalid", "description": "Record validation errors",
                              "details": {"base": [{"description": problem, "error": "InvalidValue"}]}})
    zd.apply_org_changes(org, changes)
    return Response(200, {"organization": zd.render_org(org)})


@router.route("PUT", "/api/v2/organizations/update_many")
def _update_many(zd: FakeZendesk, request: Request) -> Response:
    body = _body(request)
    ids, external_ids = _split_list(request.param("ids")), _split_list(request.param("external_ids"))
    if isinstance(body.get("organizations"), list):
        items = [dict(i) if isinstance(i, dict) else {} for i in body["organizations"]]
    elif isinstance(body.get("organization"), dict) and (ids or external_ids):
        if len(ids) > MAX_VALUES or len(external_ids) > MAX_VALUES:
            return Response(400, TOO_MANY)
        change = {k: v for k, v in body["organization"].items() if k not in ("id", "external_id")}
        items = [{**change, "id": int(i) if i.isdigit() else i} for i in ids]
        for ext in external_ids:
            matches = zd.find_by_external_id(ext)
            items.extend({**change, "id": o["id"]} for o in matches)
            if not matches:
                items.append({**change, "external_id": ext})
    else:
        return _error(400, "InvalidValue", "Provide organizations, or organization with ids or external_ids")
    if len(items) > MAX_VALUES:
        return Response(400, TOO_MANY)
    if zd.role != "admin" and not _agent_may(items):
        return Response(403, FORBIDDEN)
    for item in items:
        if isinstance(item.get("id"), str) and item["id"].isdigit():
            item["id"] = int(item["id"])
    job = zd.create_job(items)
    return Response(200, {"job_status": zd.render_job(job)})


# ---------------------------------------------------------------------- organization fields
@router.route("GET", "/api/v2/organization_fields")
def _list_fields(zd: FakeZendesk, request: Request) -> Response:
    return Response(200, {"organization_fields": [zd.render_field(f) for f in zd.ordered_fields()],
                          "next_page": None, "previous_page": None, "count": len(zd.fields)})


@router.route("POST", "/api/v2/organization_fields")
def _create_field(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = _body(request).get("organization_field")
    if not isinstance(data, dict):
        return _error(400, "InvalidValue", "organization_field parameter is required")
    try:
        fld = zd.create_field(data)
    except RecordInvalid as exc:
        return _record_invalid(exc)
    return Response(201, {"organization_field": zd.render_field(fld)})


_FIELD = r"/api/v2/organization_fields/(?P<id>\d+)"


@router.route("GET", _FIELD)
def _show_field(zd: FakeZendesk, request: Request) -> Response:
    fld = zd.fields.get(int(request.params["id"]))
    if fld is None:
        return Response(404, NOT_FOUND)
    return Response(200, {"organization_field": zd.render_field(fld)})


@router.route("DELETE", _FIELD)
def _delete_field(zd: FakeZendesk, request: Request) -> Response:
    field_id = int(request.params["id"])
    if field_id not in zd.fields:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    zd.delete_field(field_id)
    return Response(204)


@router.route("PUT", _FIELD)
def _update_field(zd: FakeZendesk, request: Request) -> Response:
    fld = zd.fields.get(int(request.params["id"]))
    if fld is None:
        return Response(404, NOT_FOUND)
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    data = _body(request).get("organization_field")
    if not isinstance(data, dict):
        return _error(400, "InvalidValue", "organization_field parameter is required")
    try:
        zd.update_field(fld, data)
    except RecordInvalid as exc:
        return _record_invalid(exc)
    return Response(200, {"organization_field": zd.render_field(fld)})


# ---------------------------------------------------------------------- job statuses
@router.route("GET", "/api/v2/job_statuses")
def _list_jobs(zd: FakeZendesk, request: Request) -> Response:
    jobs = sorted(zd.jobs.values(), key=lambda j: j.created, reverse=True)[:100]
    return Response(200, {"job_statuses": [zd.render_job(j) for j in jobs],
                          "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                          "links": {"next": None, "prev": None}})


@router.route("GET", "/api/v2/job_statuses/show_many")
def _show_many_jobs(zd: FakeZendesk, request: Request) -> Response:
    jobs = [zd.jobs[i] for i in _split_list(request.param("ids")) if i in zd.jobs]
    for job in jobs:
        zd.poll_job(job)
    return Response(200, {"job_statuses": [zd.render_job(j) for j in jobs]})


@router.route("GET", r"/api/v2/job_statuses/(?P<id>[A-Za-z0-9-]+)")
def _show_job(zd: FakeZendesk, request: Request) -> Response:
    job = zd.jobs.get(request.params["id"])
    if job is None:
        return Response(404, NOT_FOUND)
    zd.poll_job(job)
    return Response(200, {"job_status": zd.render_job(job)})
