"""Fake Salesforce REST API (Account only): the org's state, and its endpoints on the shared Router.

Speaks the protocol simple-salesforce uses: ``Authorization: Bearer <token>``, ``/services/data/vNN.N/...``,
``query``/``queryAll`` with ``nextRecordsUrl`` paging, ``limits``, ``sobjects/Account/describe`` and the
``Sforce-Limit-Info`` header on every response.

Deleted records stay in the recycle bin (``IsDeleted = true``) until purged: ``query`` and the record
endpoint leave them out, ``queryAll`` returns them (including its ``nextRecordsUrl`` pages).
"""

from __future__ import annotations

import copy
import random
import re
import secrets
import string
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, unescape

from worker.core.ids import to_18
from worker.sandbox import soql
from worker.sandbox.httpbase import Clock, FaultRule, Request, Response, Router, take_fault
from worker.sandbox.sobjects import ACCOUNT_DEFAULTS, ACCOUNT_FIELDS, ACCOUNT_SCHEMA

_ALNUM = string.ascii_letters + string.digits
_VERSION = r"/services/data/v(?P<version>\d+\.\d+)"
_VERSIONED = re.compile(_VERSION + r"(/.*)?")
_MAX_OPEN_CURSORS = 50


def sf_error(status: int, code: str, message: str) -> Response:
    """Salesforce's error body: a JSON list of {message, errorCode}."""
    return Response(status, [{"message": message, "errorCode": code}])


def format_modstamp(ms: int) -> str:
    """Format epoch milliseconds the way Salesforce renders datetimes: ``2024-05-01T12:00:00.000+0000``."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


class FakeSalesforce:
    """In-memory Salesforce org holding Account records; ``handle`` serves one REST request."""

    def __init__(self, *, daily_limit: int = 1_000_000, clock: Clock | None = None,
                 access_token: str | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or time.time
        self.accounts: dict[str, dict[str, Any]] = {}
        self.access_token = access_token or "00D000000000001!" + secrets.token_urlsafe(24)
        self.daily_limit = daily_limit
        self.api_used = 0
        self.requests: list[tuple[str, str]] = []
        self.queries: list[str] = []
        self.errors: list[str] = []
        self.describe_fields: list[dict[str, Any]] = copy.deepcopy(ACCOUNT_FIELDS)
        self.second_precision_modstamps = False
        self.base_url = "https://127.0.0.1"  # set by Sandbox.start(); SOAP login answers with it
        self.username = "integration@sandbox.example.com"
        self.password = secrets.token_urlsafe(12)
        self.security_token = secrets.token_urlsafe(18)
        self.consumer_key: str | None = None  # the connected app of the JWT bearer flow (None: no JWT sign-in)
        self.jwt_public_key: bytes | None = None  # PEM public key the JWT assertion must be signed with
        self.jwt_assertions: list[str] = []  # every assertion received (a signed credential, for leak checks)
        self._faults: list[FaultRule] = []
        self._cursors: OrderedDict[str, tuple[list[dict[str, Any]], int]] = OrderedDict()
        self._rng = random.Random()
        self._last_stamp_ms = 0

    # ----------------------------------------------------------------- state helpers
    def _next_stamp(self) -> str:
        ms = int(self.clock() * 1000)
        if self.second_precision_modstamps:
            ms -= ms % 1000
        else:
            ms = max(ms, self._last_stamp_ms + 1)
        self._last_stamp_ms = max(self._last_stamp_ms, ms)
        return format_modstamp(ms)

    def _note_stamp(self, stamp: str) -> None:
        ms = int(soql.parse_datetime(stamp).timestamp() * 1000)
        self._last_stamp_ms = max(self._last_stamp_ms, ms)

    def new_id(self, prefix: str = "001") -> str:
        """Generate an unused 18-character id (``prefix`` + 12 random characters, checksum-suffixed)."""
        with self.lock:
            while True:
                candidate = to_18(prefix + "".join(self._rng.choice(_ALNUM) for _ in range(15 - len(prefix))))
                if candidate not in self.accounts:
                    return candidate

    @staticmethod
    def _canonical_fields(fields: dict[str, Any]) -> dict[str, Any]:
        try:
            return {ACCOUNT_SCHEMA.resolve(name): value for name, value in fields.items()}
        except soql.SoqlError as exc:
            raise ValueError(exc.message) from None

    def add_account(self, **fields: Any) -> str:
        """Create an Account; unknown field names raise ValueError. Returns its 18-character Id.

        ``Id`` (15 or 18 characters) and ``SystemModstamp`` may be given; otherwise they are generated.
        """
        given = self._canonical_fields(fields)
        with self.lock:
            account_id = to_18(given.pop("Id")) if given.get("Id") else self.new_id()
            if account_id in self.accounts:
                raise ValueError(f"duplicate Id {account_id}")
            stamp = given.pop("SystemModstamp", None)
            if stamp:
                self._note_stamp(stamp)
            else:
                stamp = self._next_stamp()
            record: dict[str, Any] = {"Id": account_id, "Name": f"Account {account_id[:15]}", **ACCOUNT_DEFAULTS}
            record.update(given)
            record.setdefault("CreatedDate", stamp)
            record["LastModifiedDate"] = record["SystemModstamp"] = stamp
            self.accounts[account_id] = record
            return account_id

    def update_account(self, account_id: str, **fields: Any) -> None:
        """Change fields of an Account and bump its SystemModstamp (strictly increasing) to now."""
        given = self._canonical_fields(fields)
        with self.lock:
            record = self.accounts[to_18(account_id)]
            given.pop("Id", None)
            stamp = given.pop("SystemModstamp", None) or self._next_stamp()
            record.update(given)
            record["LastModifiedDate"] = record["SystemModstamp"] = stamp

    def delete_account(self, account_id: str) -> None:
        """Soft-delete an Account into the recycle bin: ``IsDeleted`` true, SystemModstamp bumped to now.

        Like Salesforce, ``query`` no longer returns it and ``queryAll`` does. ValueError if already deleted.
        """
        self._set_deleted(account_id, True)

    def undelete_account(self, account_id: str) -> None:
        """Restore an Account from the recycle bin (``IsDeleted`` false, stamps bumped). ValueError if not deleted."""
        self._set_deleted(account_id, False)

    def purge_account(self, account_id: str) -> None:
        """Remove an Account entirely, as emptying the recycle bin (or a hard delete) does: no query finds it."""
        with self.lock:
            del self.accounts[to_18(account_id)]

    def _set_deleted(self, account_id: str, deleted: bool) -> None:
        with self.lock:
            record = self.accounts[to_18(account_id)]
            if record["IsDeleted"] == deleted:
                raise ValueError(f"Account {record['Id']} is {'already' if deleted else 'not'} in the recycle bin")
            record["IsDeleted"] = deleted
            record["LastModifiedDate"] = record["SystemModstamp"] = self._next_stamp()

    def fail_next(self, count: int, status: int, body: Any, headers: dict[str, str] | None = None,
                  path_contains: str = "", *, delay: float = 0.0) -> None:
        """Answer the next ``count`` requests whose path (with query) contains ``path_contains`` with this.

        ``body`` may be a function of the request (``httpbase.echo_request``); ``delay`` answers late.
        """
        with self.lock:
            self._faults.append(FaultRule(count, status, body, headers, path_contains, delay=delay))

    def clear_faults(self) -> None:
        """Forget every fault rule not yet used up."""
        with self.lock:
            self._faults.clear()

    def reset_requests(self) -> None:
        with self.lock:
            self.requests.clear()
            self.queries.clear()

    # ----------------------------------------------------------------- HTTP
    def handle(self, request: Request) -> Response:
        """Serve one request (thread-safe)."""
        with self.lock:
            self.requests.append((request.method, request.path))
            target = request.path + ("?" + request.raw_query if request.raw_query else "")
            response = take_fault(self._faults, request.method, target, request) or self._serve(request)
            response.headers.setdefault("Sforce-Limit-Info", f"api-usage={self.api_used}/{self.daily_limit}")
            return response

    def _serve(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if _VERSIONED.fullmatch(path):
            refusal = self._admit(request)
            if refusal is not None:
                return refusal
        return _router.dispatch(self, request, path)

    def _admit(self, request: Request) -> Response | None:
        """The REST API's gate: a valid session, the daily quota (every admitted call counts), read-only methods.

        Any method but GET is refused here, before routing, whether the resource exists or not.
        """
        if not self._authorized(request):
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if self.api_used >= self.daily_limit:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        self.api_used += 1
        if request.method != "GET":
            return sf_error(405, "METHOD_NOT_ALLOWED",
                            f"HTTP Method '{request.method}' not allowed. Allowed are GET,HEAD")
        return None

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        return scheme.lower() in ("bearer", "oauth") and secrets.compare_digest(token.strip(), self.access_token)

    def _page(self, records: list[dict[str, Any]], offset: int, batch: int, version: str,
              locator: str | None) -> Response:
        """One batch of a query result; opens a cursor (``nextRecordsUrl``) when more records follow."""
        chunk = records[offset:offset + batch]
        body: dict[str, Any] = {"totalSize": len(records), "done": True}
        if offset + batch < len(records):
            if locator is None:
                locator = to_18("01g" + "".join(self._rng.choice(_ALNUM) for _ in range(12)))
                self._cursors[locator] = (records, batch)
                while len(self._cursors) > _MAX_OPEN_CURSORS:
                    self._cursors.popitem(last=False)
            body["done"] = False
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
        body["records"] = chunk
        return Response(200, body)


def _not_found(request: Request) -> Response:
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


# A wrong method on the SOAP login or the version list is answered like an unknown path; under
# /services/data/vNN.N FakeSalesforce._admit refuses every method but GET before routing.
_router: Router[FakeSalesforce] = Router(not_found=_not_found,
                                         method_not_allowed=lambda request, allowed: _not_found(request))


@_router.route("POST", r"/services/Soap/u/(?P<version>\d+\.\d+)")
def _soap_login(sf: FakeSalesforce, request: Request) -> Response:
    """Partner SOAP ``login``: username + password with the security token appended.

    Answers like Salesforce: a ``loginResponse`` with ``serverUrl`` and ``sessionId``, or HTTP
    500 with an ``INVALID_LOGIN`` fault (simple-salesforce reads ``sf:exceptionCode``).
    """
    body = request.body.decode("utf-8", "replace")
    username = _xml_text(body, "username")
    password = _xml_text(body, "password")
    expected = sf.password + sf.security_token
    if username != sf.username or not secrets.compare_digest(password, expected):
        return Response(500, _LOGIN_FAULT, {"Content-Type": "text/xml; charset=utf-8"})
    server_url = f"{sf.base_url}/services/Soap/u/{request.params['version']}/00D000000000001"
    xml = _LOGIN_OK.format(server_url=escape(server_url), session_id=escape(sf.access_token))
    return Response(200, xml, {"Content-Type": "text/xml; charset=utf-8"})


@_router.route("POST", r"/services/oauth2/token")
def _oauth_token(sf: FakeSalesforce, request: Request) -> Response:
    """The OAuth 2.0 JWT bearer flow: a signed assertion (iss consumer key, sub username) for an access token.

    Answers like Salesforce: ``{"access_token", "instance_url", ...}``, or 400 ``invalid_grant`` /
    ``invalid_client_id`` with an ``error_description``.
    """
    import jwt  # PyJWT comes with simple-salesforce; only this endpoint needs it

    form = parse_qs(request.body.decode("utf-8", "replace"))
    assertion = (form.get("assertion") or [""])[0]
    sf.jwt_assertions.append(assertion)
    if (form.get("grant_type") or [""])[0] != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not assertion:
        return Response(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
    if sf.consumer_key is None or sf.jwt_public_key is None:
        return Response(400, {"error": "invalid_client_id", "error_description": "client identifier invalid"})
    try:
        claims = jwt.decode(assertion, sf.jwt_public_key, algorithms=["RS256"], options={"verify_aud": False})
    except jwt.PyJWTError:
        return Response(400, {"error": "invalid_grant", "error_description": "invalid assertion"})
    if claims.get("iss") != sf.consumer_key:
        return Response(400, {"error": "invalid_client_id", "error_description": "client identifier invalid"})
    if claims.get("sub") != sf.username:
        return Response(400, {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"})
    return Response(200, {"access_token": sf.access_token, "instance_url": sf.base_url, "token_type": "Bearer",
                          "scope": "api", "id": f"{sf.base_url}/id/00D000000000001AAA/005000000000001AAA"})


@_router.route("GET", r"/services/data")
def _versions(sf: FakeSalesforce, request: Request) -> Response:
    return Response(200, [{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}])


@_router.route("GET", _VERSION)
def _resources(sf: FakeSalesforce, request: Request) -> Response:
    base = f"/services/data/v{request.params['version']}"
    return Response(200, {"limits": f"{base}/limits", "query": f"{base}/query",
                          "queryAll": f"{base}/queryAll", "sobjects": f"{base}/sobjects"})


@_router.route("GET", _VERSION + "/limits")
def _limits(sf: FakeSalesforce, request: Request) -> Response:
    used = min(sf.api_used, sf.daily_limit)
    return Response(200, {"DailyApiRequests": {"Max": sf.daily_limit, "Remaining": sf.daily_limit - used}})


@_router.route("GET", _VERSION + "/(?i:sobjects/account/describe)")
def _describe(sf: FakeSalesforce, request: Request) -> Response:
    base = f"/services/data/v{request.params['version']}/sobjects/Account"
    return Response(200, {"name": "Account", "label": "Account", "labelPlural": "Accounts", "keyPrefix": "001",
                          "custom": False, "queryable": True, "retrieveable": True, "updateable": True,
                          "fields": copy.deepcopy(sf.describe_fields),
                          "urls": {"describe": f"{base}/describe", "sobject": base, "rowTemplate": f"{base}/{{ID}}"}})


@_router.route("GET", _VERSION + r"/sobjects/Account/(?P<id>[A-Za-z0-9]{15}|[A-Za-z0-9]{18})")
def _record(sf: FakeSalesforce, request: Request) -> Response:
    record = sf.accounts.get(to_18(request.params["id"]))
    if record is None:
        return _not_found(request)
    if record["IsDeleted"]:
        # Deleted records are "filtered out of most operations, such as sObject Rows or Query"
        # (developer.salesforce.com/docs/atlas.en-us.258.0.api_rest.meta/api_rest/dome_get_deleted.htm); the
        # answer is a 404 [{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED"}], as seen in public
        # client code and transcripts (not in the REST reference itself).
        return sf_error(404, "ENTITY_IS_DELETED", "entity is deleted")
    return Response(200, _project(record, list(ACCOUNT_SCHEMA.fields), request.params["version"]))


# Query filters out deleted records; QueryAll "returns records that are soft deleted due to a merge or delete"
# until they are purged from the recycle bin
# (developer.salesforce.com/docs/atlas.en-us.250.0.api_rest.meta/api_rest/resources_queryall.htm).
@_router.route("GET", _VERSION + "/(?P<resource>query|queryAll)")
def _query(sf: FakeSalesforce, request: Request) -> Response:
    text = request.param("q")
    if text is None:
        return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
    sf.queries.append(text)
    try:
        query = soql.parse(text, {"Account": ACCOUNT_SCHEMA})
    except soql.SoqlError as exc:
        return sf_error(400, exc.code, exc.message)
    include_deleted = request.params["resource"] == "queryAll"
    records = [r for r in sf.accounts.values() if include_deleted or not r["IsDeleted"]]
    rows = query.run(records, ACCOUNT_SCHEMA.fields)
    if query.count_only:
        return Response(200, {"totalSize": len(rows), "done": True, "records": []})
    version = request.params["version"]
    records = [_project(r, query.fields, version) for r in rows]
    return sf._page(records, 0, _batch_size(request), version, None)


# A cursor holds the rows its query or queryAll selected, deleted ones included for queryAll. Like Salesforce,
# a queryAll's nextRecordsUrl says ``query`` and both ``query/<locator>`` and ``queryAll/<locator>`` serve it:
# "The remaining results include deleted records that match the initial query"
# (developer.salesforce.com/docs/atlas.en-us.240.0.api_rest.meta/api_rest/resources_queryall_more_results.htm).
@_router.route("GET", _VERSION + r"/(?:query|queryAll)/(?P<locator>[A-Za-z0-9]{15,18})-(?P<offset>\d+)")
def _query_more(sf: FakeSalesforce, request: Request) -> Response:
    locator, offset = request.params["locator"], int(request.params["offset"])
    cursor = sf._cursors.get(locator)
    if cursor is None or offset >= len(cursor[0]):
        return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    records, batch = cursor
    return sf._page(records, offset, batch, request.params["version"], locator)


def _project(record: Mapping[str, Any], fields: list[str], version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": {"type": "Account",
                                          "url": f"/services/data/v{version}/sobjects/Account/{record['Id']}"}}
    for name in fields:
        out[name] = record.get(name)
    return out


def _batch_size(request: Request) -> int:
    options = request.header("Sforce-Query-Options") or ""
    match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
    return 2000 if not match else min(2000, max(200, int(match.group(1))))


_LOGIN_OK = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
    "<metadataServerUrl>{server_url}</metadataServerUrl><passwordExpired>false</passwordExpired>"
    "<sandbox>true</sandbox><serverUrl>{server_url}</serverUrl><sessionId>{session_id}</sessionId>"
    "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
)
_LOGIN_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
    ' xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>'
    "<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>"
    "<detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username,"
    " password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
    "</soapenv:Body></soapenv:Envelope>"
)


def _xml_text(body: str, tag: str) -> str:
    """The unescaped text of the first ``<...:tag>`` / ``<tag>`` element, or ''."""
    match = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", body, re.DOTALL)
    return unescape(match.group(1)) if match else ""
