"""Fake Zendesk Support account: organizations, organization fields and background jobs.

This module holds the state and the domain rules (validation, update_many jobs, option-removal
semantics); :mod:`worker.sandbox.zendesk_api` maps HTTP requests onto it.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker.sandbox.httpbase import Clock, FaultRule, Request, Response

ORG_ID_START = 360_000_000_001
FIELD_ID_START = 360_000_400_001
OPTION_ID_START = 360_000_800_001
USER_ID = 361_000_000_001
FIELD_TYPES = ("text", "textarea", "checkbox", "date", "integer", "decimal", "regexp", "dropdown", "lookup",
               "multiselect", "currency")
OPTION_TYPES = ("dropdown", "multiselect")
ORG_WRITABLE = ("name", "external_id", "notes", "details", "tags", "domain_names", "group_id", "shared_tickets",
                "shared_comments")
_KEY_RE = re.compile(r"[A-Za-z0-9_]+")  # used with fullmatch


class RecordInvalid(ValueError):
    """A Zendesk 422 RecordInvalid; ``details`` is the Zendesk ``details`` object."""

    def __init__(self, details: dict[str, list[dict[str, str]]]) -> None:
        super().__init__(str(details))
        self.details = details


def _invalid(attr: str, description: str, error: str) -> dict[str, list[dict[str, str]]]:
    return {attr: [{"description": description, "error": error}]}


@dataclass
class Job:
    """An update_many background job; it is executed when polled ``job_polls_before_done`` times."""

    id: str
    total: int
    items: list[dict[str, Any]]
    polls: int = 0
    status: str = "queued"
    progress: int | None = None
    message: str | None = None
    results: list[dict[str, Any]] | None = None
    created: float = field(default=0.0)


class FakeZendesk:
    """In-memory Zendesk account; ``handle`` serves one REST request (see zendesk_api)."""

    def __init__(self, *, rate_limit_per_minute: int = 100_000, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or time.time
        self.base_url = "https://127.0.0.1"
        self.organizations: dict[int, dict[str, Any]] = {}
        self.fields: dict[int, dict[str, Any]] = {}
        self.jobs: dict[str, Job] = {}
        self.email = "sandbox-admin@example.com"
        self.api_token = secrets.token_urlsafe(30)
        self.oauth_token = secrets.token_hex(32)
        self.role = "admin"
        self.rate_limit_per_minute = rate_limit_per_minute
        self.org_update_limit_per_minute: int | None = 5
        self.fail_org_ids: set[int] = set()
        self.job_polls_before_done = 1
        self.requests: list[tuple[str, str, str]] = []
        self.errors: list[str] = []
        self.faults: list[FaultRule] = []
        self.window_start = 0.0
        self.window_count = 0
        self.org_update_times: dict[int, list[float]] = {}
        self._names: dict[str, int] = {}
        self._next_org_id = ORG_ID_START
        self._next_field_id = FIELD_ID_START
        self._next_option_id = OPTION_ID_START

    # ----------------------------------------------------------------- helpers for tests
    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Number of recorded requests with this method and exact path (without ``.json``)."""
        with self.lock:
            return sum(1 for m, p, _ in self.requests
                       if (method is None or m == method.upper()) and (path is None or p == path))

    def reset_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def fail_next(self, count: int, status: int, body: Any, headers: dict[str, str] | None = None,
                  path_contains: str = "", method: str | None = None) -> None:
        """Answer the next ``count`` matching requests (path with ``?query``) with this response."""
        with self.lock:
            self.faults.append(FaultRule(count, status, body, headers, path_contains, method))

    def run_pending_jobs(self) -> int:
        """Complete every queued job now (as if polled enough); returns how many ran."""
        with self.lock:
            pending = [job for job in self.jobs.values() if job.status == "queued"]
            for job in pending:
                self.complete_job(job)
            return len(pending)

    def handle(self, request: Request) -> Response:
        """Serve one HTTP request (thread-safe)."""
        from worker.sandbox.zendesk_api import handle_request

        with self.lock:
            return handle_request(self, request)

    # ----------------------------------------------------------------- time and rendering
    def now_iso(self) -> str:
        return datetime.fromtimestamp(int(self.clock()), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ordered_fields(self) -> list[dict[str, Any]]:
        return sorted(self.fields.values(), key=lambda f: (f["position"], f["id"]))

    def render_org(self, org: dict[str, Any]) -> dict[str, Any]:
        out = dict(org)
        out["url"] = f"{self.base_url}/api/v2/organizations/{org['id']}.json"
        out["tags"] = list(org["tags"])
        out["domain_names"] = list(org["domain_names"])
        out["organization_fields"] = dict(org["organization_fields"])
        return out

    def render_field(self, fld: dict[str, Any]) -> dict[str, Any]:
        out = dict(fld)
        out["url"] = f"{self.base_url}/api/v2/organization_fields/{fld['id']}.json"
        if fld["type"] in OPTION_TYPES:
            out["custom_field_options"] = [
                {**opt, "url": f"{self.base_url}/api/v2/organization_fields/{fld['id']}/options/{opt['id']}.json"}
                for opt in fld["custom_field_options"]
            ]
        return out

    def render_job(self, job: Job) -> dict[str, Any]:
        return {"id": job.id, "url": f"{self.base_url}/api/v2/job_statuses/{job.id}.json", "total": job.total,
                "progress": job.progress, "status": job.status, "message": job.message, "results": job.results}

    # ----------------------------------------------------------------- organizations
    def name_owner(self, name: str) -> int | None:
        return self._names.get(name.strip().casefold())

    def add_organization(self, name: str, external_id: str | None = None,
                         organization_fields: dict[str, Any] | None = None, **attrs: Any) -> int:
        """Create an organization directly (no HTTP); returns its id. Raises RecordInvalid on bad input."""
        with self.lock:
            name = (name or "").strip()
            if not name:
                raise RecordInvalid(_invalid("name", "Name: cannot be blank", "BlankValue"))
            if self.name_owner(name) is not None:
                raise RecordInvalid(_invalid("name", f"Name: {name} has already been taken", "DuplicateValue"))
            values: dict[str, Any] = {f["key"]: None for f in self.ordered_fields()}
            by_key = {f["key"]: f for f in self.fields.values()}
            for key, value in (organization_fields or {}).items():
                if key not in by_key:
                    raise ValueError(f"no organization field with key {key!r}")
                problem = self.value_problem(by_key[key], value)
                if problem:
                    raise RecordInvalid(_invalid("base", problem, "InvalidValue"))
                values[key] = None if value == "" else value
            org_id = self._next_org_id
            self._next_org_id += 1
            now = self.now_iso()
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
            self._names[name.casefold()] = org_id
            return org_id

    def delete_organization(self, org_id: int) -> None:
        with self.lock:
            org = self.organizations.pop(org_id)
            self._names.pop(org["name"].casefold(), None)

    def find_by_external_id(self, external_id: str) -> list[dict[str, Any]]:
        """Organizations whose external_id matches case-insensitively (Zendesk semantics), by id."""
        wanted = external_id.strip().casefold()
        return [o for o in self.organizations.values()
                if o["external_id"] is not None and str(o["external_id"]).casefold() == wanted]

    def value_problem(self, fld: dict[str, Any], value: Any) -> str | None:
        """Why ``value`` is not acceptable for organization field ``fld`` (None when it is)."""
        if value is None or value == "":
            return None
        ftype = fld["type"]
        invalid = f"{fld['title']} is invalid"
        if ftype == "dropdown":
            return None if value in {o["value"] for o in fld["custom_field_options"]} else invalid
        if ftype == "multiselect":
            allowed = {o["value"] for o in fld["custom_field_options"]}
            ok = isinstance(value, list) and all(v in allowed for v in value)
            return None if ok else invalid
        if ftype == "checkbox":
            return None if isinstance(value, bool) else invalid
        if ftype == "integer":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or bool(re.fullmatch(r"-?\d+", str(value)))
            return None if ok else invalid
        if ftype in ("decimal", "currency"):
            try:
                float(value)
            except (TypeError, ValueError):
                return invalid
        return None

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

    # ----------------------------------------------------------------- jobs
    def create_job(self, items: list[dict[str, Any]]) -> Job:
        job = Job(id="V3-" + uuid.uuid4().hex, total=len(items), items=items, created=self.clock())
        self.jobs[job.id] = job
        if self.job_polls_before_done <= 0:
            self.complete_job(job)
        return job

    def poll_job(self, job: Job) -> None:
        job.polls += 1
        if job.status == "queued" and job.polls >= self.job_polls_before_done:
            self.complete_job(job)

    def complete_job(self, job: Job) -> None:
        results: list[dict[str, Any]] = []
        for index, item in enumerate(job.items):
            org_id = item.get("id")
            org = self.organizations.get(org_id) if isinstance(org_id, int) else None
            if org is None and org_id is None and item.get("external_id"):
                matches = self.find_by_external_id(str(item["external_id"]))
                org = matches[0] if matches else None
            if org is None:
                failure = {"index": index, "error": "RecordNotFound", "id": org_id, "details": "Not found"}
                if org_id is None:
                    failure["external_id"] = item.get("external_id")
                results.append(failure)
                continue
            problem = self.org_change_problem(org, item)
            if org["id"] in self.fail_org_ids:
                problem = f"Organization {org['id']} could not be updated (sandbox fault injection)"
            if problem:
                results.append({"index": index, "error": "OrganizationUpdateFailed", "id": org["id"],
                                "details": problem})
                continue
            self.apply_org_changes(org, item)
            results.append({"action": "update", "id": org["id"], "status": "Updated", "success": True})
        job.status = "completed"
        job.progress = job.total
        job.results = results
        job.message = "Completed at " + datetime.fromtimestamp(int(self.clock()), UTC).strftime(
            "%Y-%m-%d %H:%M:%S +0000")

    # ----------------------------------------------------------------- organization fields
    def _clean_options(self, raw: Any, existing: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            raise RecordInvalid(_invalid("custom_field_options", "Field must have at least one option",
                                         "BlankValue"))
        options: list[dict[str, Any]] = []
        seen: set[str] = set()
        for position, item in enumerate(raw):
            name = str((item or {}).get("name") or "").strip()
            value = str((item or {}).get("value") or "").strip()
            if not name or not value:
                raise RecordInvalid(_invalid("custom_field_options", "Name and value cannot be blank",
                                             "BlankValue"))
            if value.casefold() in seen:
                raise RecordInvalid(_invalid("custom_field_options",
                                             f"Custom field options: Value {value} has already been taken",
                                             "DuplicateValue"))
            seen.add(value.casefold())
            option_id = item.get("id")
            if not isinstance(option_id, int) or option_id not in existing:
                option_id = self._next_option_id
                self._next_option_id += 1
            options.append({"id": option_id, "name": name, "raw_name": name, "value": value,
                            "position": position})
        return options

    def create_field(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and create an organization field from an API payload; raises RecordInvalid."""
        with self.lock:
            key = str(data.get("key") or "")
            title = str(data.get("title") or "").strip()
            ftype = {"tagger": "dropdown"}.get(str(data.get("type") or "text"), str(data.get("type") or "text"))
            details: dict[str, list[dict[str, str]]] = {}
            if not key:
                details.update(_invalid("key", "Key: cannot be blank", "BlankValue"))
            elif not _KEY_RE.fullmatch(key) or key.isdigit():
                details.update(_invalid("key", "Key is invalid: use letters, numbers and underscores, "
                                        "not only numbers", "InvalidValue"))
            elif any(f["key"].casefold() == key.casefold() for f in self.fields.values()):
                details.update(_invalid("key", "Key has already been taken", "DuplicateValue"))
            if not title:
                details.update(_invalid("title", "Title: cannot be blank", "BlankValue"))
            if ftype not in FIELD_TYPES:
                details.update(_invalid("type", f"Type: {ftype} is not a valid field type", "InvalidValue"))
            if details:
                raise RecordInvalid(details)
            options = self._clean_options(data.get("custom_field_options"), {}) if ftype in OPTION_TYPES else None
            field_id = self._next_field_id
            self._next_field_id += 1
            now = self.now_iso()
            description = str(data.get("description") or "")
            fld: dict[str, Any] = {
                "url": f"{self.base_url}/api/v2/organization_fields/{field_id}.json", "id": field_id,
                "type": ftype, "key": key, "title": title, "raw_title": title, "description": description,
                "raw_description": description,
                "position": int(data.get("position", len(self.fields))),
                "active": bool(data.get("active", True)), "system": False,
                "regexp_for_validation": data.get("regexp_for_validation") if ftype == "regexp" else None,
                "created_at": now, "updated_at": now,
            }
            if options is not None:
                fld["custom_field_options"] = options
            self.fields[field_id] = fld
            for org in self.organizations.values():
                org["organization_fields"].setdefault(key, None)
            return fld

    def add_field(self, key: str, type: str, title: str,
                  options: list[tuple[str, str]] | None = None) -> int:
        """Create an organization field directly; ``options`` are (name, value) pairs. Returns its id."""
        data: dict[str, Any] = {"key": key, "type": type, "title": title}
        if options is not None:
            data["custom_field_options"] = [{"name": n, "value": v} for n, v in options]
        return int(self.create_field(data)["id"])

    def update_field(self, fld: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """PUT semantics: key changes are ignored, type changes are refused, options are replaced."""
        with self.lock:
            new_type = data.get("type")
            if new_type is not None and {"tagger": "dropdown"}.get(new_type, new_type) != fld["type"]:
                raise RecordInvalid(_invalid("type", "Type cannot be changed", "InvalidValue"))
            if "custom_field_options" in data and fld["type"] in OPTION_TYPES:
                old = {o["id"]: o for o in fld["custom_field_options"]}
                options = self._clean_options(data["custom_field_options"], old)
                self._migrate_values(fld, old, options)
                fld["custom_field_options"] = options
            if "title" in data:
                title = str(data["title"] or "").strip()
                if not title:
                    raise RecordInvalid(_invalid("title", "Title: cannot be blank", "BlankValue"))
                fld["title"] = fld["raw_title"] = title
            if "description" in data:
                fld["description"] = fld["raw_description"] = str(data["description"] or "")
            for attr, cast in (("position", int), ("active", bool)):
                if attr in data:
                    fld[attr] = cast(data[attr])
            if "regexp_for_validation" in data and fld["type"] == "regexp":
                fld["regexp_for_validation"] = data["regexp_for_validation"]
            fld["updated_at"] = self.now_iso()
            return fld

    def _migrate_values(self, fld: dict[str, Any], old: dict[int, dict[str, Any]],
                        new: list[dict[str, Any]]) -> None:
        """Values of kept options follow a renamed value; values of removed options are wiped."""
        renamed = {old[o["id"]]["value"]: o["value"] for o in new if o["id"] in old}
        key = fld["key"]
        for org in self.organizations.values():
            current = org["organization_fields"].get(key)
            if current is None:
                continue
            if isinstance(current, list):
                org["organization_fields"][key] = [renamed[v] for v in current if v in renamed] or None
            else:
                org["organization_fields"][key] = renamed.get(current)

    def delete_field(self, field_id: int) -> None:
        with self.lock:
            fld = self.fields.pop(field_id)
            for org in self.organizations.values():
                org["organization_fields"].pop(fld["key"], None)
