"""Zendesk adapter (zenpy 2.0.57): the managed dropdown field, organizations, bulk writes.

Requests used, all listed in Zendesk's OpenAPI spec:
``GET /api/v2/users/me``, ``GET/POST /api/v2/organization_fields``,
``PUT /api/v2/organization_fields/{id}``, ``GET /api/v2/organizations`` (cursor pagination),
``GET /api/v2/organizations/show_many?external_ids=`` (at most 100), ``PUT
/api/v2/organizations/update_many`` (at most 100), ``GET /api/v2/job_statuses/show_many`` and
``GET /api/v2/job_statuses/{id}``, and ``GET /api/v2/incremental/organizations`` (worker.io.zendesk_export).
Every one goes through a :class:`~worker.io.http.ServiceSession`, which raises on 429 so that
zenpy never enters its sleep-forever loop.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import SimpleNamespace
from typing import Any

from zenpy import Zenpy
from zenpy.lib.api_objects import Organization as ZenpyOrganization
from zenpy.lib.api_objects import OrganizationField

from worker.core.actions import Action
from worker.core.errors import AuthError, RemoteStateError
from worker.core.fieldplan import merged_options
from worker.core.matching import external_id_forms
from worker.core.model import (
    ChangedOrganization,
    FieldOption,
    Organization,
    OrganizationExport,
    OrganizationFieldState,
    WriteResult,
    tag_value,
)
from worker.core.plan import FieldPlan
from worker.core.redaction import redact
from worker.io.http import ServiceSession
from worker.io.zendesk_export import OrganizationExporter, unix_time
from worker.io.zendesk_json import ZendeskJson
from worker.settings import Settings

log = logging.getLogger(__name__)
BATCH = 100  # update_many and show_many accept at most 100 values (OAS; 400 TooManyValues above)
# "Only a certain number of jobs can be queued or running at the same time" (OAS, every bulk endpoint);
# 30 per account by secondary sources (a transcription of developer.zendesk.com "Rate limits"). Other
# integrations share that budget: stay well below (TIERSYNC_MAX_JOBS_IN_FLIGHT, default 5).
MAX_JOBS_IN_FLIGHT = 5
POLL_FIRST_DELAY, POLL_MAX_DELAY = 0.25, 3.0
TERMINAL_JOB_STATES = ("completed", "failed", "killed")


def connect(settings: Settings, session: ServiceSession) -> Zenpy:
    """A zenpy client on ``session`` for ZENDESK_URL.

    zenpy builds its host as ``f"{subdomain}.{domain}"``, so the configured host is split at its
    first dot; this reaches ``https://acme.zendesk.com`` and ``https://127.0.0.1:8443`` alike. A host
    without a dot (``localhost:8443``, ``[::1]:8443``) is pinned on this client's endpoint objects
    (:func:`_pin_netloc`), never through zenpy's process-wide ``ZENPY_FORCE_NETLOC`` variable.
    """
    netloc = settings.zendesk_netloc()
    credentials: dict[str, Any]
    if settings.zendesk_oauth_token is not None:
        credentials = {"oauth_token": settings.zendesk_oauth_token.get_secret_value()}
    else:
        assert settings.zendesk_api_token is not None
        credentials = {"email": settings.zendesk_email, "token": settings.zendesk_api_token.get_secret_value()}
    host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    dotted = "." in host and not host.startswith("[")
    subdomain, domain = netloc.split(".", 1) if dotted else ("tiersync", "invalid")
    client = Zenpy(subdomain=subdomain, domain=domain, session=session, timeout=settings.tiersync_http_timeout,
                   disable_cache=True, **credentials)
    if not dotted:
        _pin_netloc(client, netloc)
    return client


_USED_ENDPOINTS = ("users", "organizations", "organization_fields", "job_status")


def _pin_netloc(client: Zenpy, netloc: str) -> None:
    """Make this client's endpoint objects build URLs on ``netloc`` and recognise its responses.

    zenpy's ``BaseApi.base_url`` is what both its URL builder and its response handlers
    (``api.base_url in response.request.url``) use; overriding it per object keeps the change to
    this client. Only the endpoints tiersync calls are pinned (see the module docstring).
    """
    for name in _USED_ENDPOINTS:
        api = getattr(client, name)
        pinned = type(f"Pinned{type(api).__name__}", (type(api),), {"base_url": property(lambda _api: netloc)})
        api.__class__ = pinned


def _field_state(field: Any) -> OrganizationFieldState:
    options = tuple(
        FieldOption(getattr(o, "id", None), str(getattr(o, "name", "") or ""), str(getattr(o, "value", "") or ""))
        for o in (getattr(field, "custom_field_options", None) or [])
    )
    return OrganizationFieldState(id=int(field.id), key=str(field.key), type=str(getattr(field, "type", "") or ""),
                                  title=str(getattr(field, "title", "") or ""), options=options)


class ZendeskClient:
    """Reads and writes what tiersync manages in Zendesk.

    Args:
        client: a zenpy client whose session is a ServiceSession.
        field_key: the managed organization field key.
        job_timeout: longest wait for one update_many job, seconds.
        max_jobs_in_flight: update_many jobs queued or running at once, at most.
        sleep / clock: injectable for tests.

    """

    def __init__(self, client: Zenpy, field_key: str, *, job_timeout: float = 600.0,
                 max_jobs_in_flight: int = MAX_JOBS_IN_FLIGHT, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._z = client
        self._key = field_key
        self._job_timeout = job_timeout
        self._max_jobs = max(1, max_jobs_in_flight)
        self._sleep, self._clock = sleep, clock
        self._single_job_polling = False
        self._admin_confirmed = False
        self._read_started: int | None = None

    def me(self) -> dict[str, Any]:
        """The authenticated user (``role`` tells whether it is an admin)."""
        user = self._z.users.me()
        return {"id": user.id, "email": getattr(user, "email", None), "role": getattr(user, "role", None)}

    def require_admin(self) -> None:
        """Raise AuthError unless the token belongs to an admin (needed for fields and update_many).

        Asked once per client: the field, organization and routing sections of one run share the answer
        (a token demoted meanwhile still gets each write refused with 403).
        """
        if self._admin_confirmed:
            return
        role = self.me().get("role")
        if role != "admin":
            raise AuthError(f"the Zendesk user is {role!r}, not an admin",
                            hint="use an admin's API token: organization fields and update_many need one")
        self._admin_confirmed = True

    def find_field(self) -> OrganizationFieldState | None:
        """The managed field, or None when no organization field has our key.

        A field whose key differs from ours only in letter case is returned too, so that the field
        planner can refuse it clearly instead of trying to create a key Zendesk already holds.
        """
        fields = [f for f in self._z.organization_fields() if str(getattr(f, "key", "")).lower() == self._key.lower()]
        exact = [f for f in fields if f.key == self._key]
        return _field_state((exact or fields)[0]) if fields else None

    def apply_field(self, plan: FieldPlan) -> None:
        """Create the field or add/rename our options, by read-modify-write keeping every option."""
        if plan.action is Action.CREATE:
            self._create_field(plan)
            return
        if plan.action is not Action.UPDATE:
            return
        current = self.find_field()  # re-read right before writing: options may have changed since planning
        if current is None:
            raise RemoteStateError(f"Zendesk organization field {self._key!r} disappeared during the run")
        options = [{"id": o.id, "name": o.name, "value": o.value} if o.id is not None else
                   {"name": o.name, "value": o.value} for o in merged_options(current, plan)]
        kept = {o.value for o in current.options} - set(plan.remove)
        if not kept <= {o["value"] for o in options}:  # the invariant that protects organizations' values
            raise RemoteStateError("refusing to update the organization field: an existing option would be dropped")
        self._z.organization_fields.update(OrganizationField(id=current.id, custom_field_options=options))

    def _create_field(self, plan: FieldPlan) -> None:
        field = OrganizationField(key=plan.key, title=plan.title, type="dropdown",
                                  custom_field_options=[{"name": name, "value": tag} for name, tag in plan.add])
        try:
            self._z.organization_fields.create(field)
        except RemoteStateError:
            if self.find_field() is None:  # else: created meanwhile by another run; take it and carry on
                raise

    def _organization(self, raw: Any) -> Organization:
        fields = raw.organization_fields or {}
        value = fields.get(self._key) if hasattr(fields, "get") else None
        updated = getattr(raw, "updated_at", None)
        return Organization(id=int(raw.id), name=str(raw.name or ""), external_id=raw.external_id,
                            tier_tag=tag_value(value),
                            updated_at=unix_time(updated))

    def all_organizations(self, progress: Callable[[int], None] | None = None) -> Iterator[Organization]:
        """Every organization, by cursor pagination (``GET /api/v2/organizations?page[size]=100``).

        Read as plain JSON on zenpy's own session (worker.io.zendesk_json), not as zenpy objects: building
        an object per organization was most of a full run's time and memory at 100,000 organizations
        (bench/), and zenpy's cursor generator cannot tell a truncated read from a complete one.
        """
        self._read_started = None
        for page in ZendeskJson(self._z).pages("organizations", "organizations"):
            if self._read_started is None:
                self._read_started = self._server_time()
            for raw in page:
                if progress:
                    progress(1)
                yield self._organization_json(raw)

    def _organization_json(self, raw: dict[str, Any]) -> Organization:
        fields = raw.get("organization_fields")
        value = fields.get(self._key) if isinstance(fields, dict) else None
        raw_id, updated = raw.get("id"), raw.get("updated_at")
        if isinstance(raw_id, bool) or not isinstance(raw_id, int):
            raise RemoteStateError("zendesk: GET /api/v2/organizations gave an organization without an integer id")
        external = raw.get("external_id")
        return Organization(id=raw_id, name=str(raw.get("name") or ""),
                            external_id=None if external is None else str(external),
                            tier_tag=tag_value(value),
                            updated_at=unix_time(updated))

    def _server_time(self) -> int | None:
        moment = getattr(self._z.users.session, "server_time", None)
        return int(moment) if isinstance(moment, (int, float)) else None

    def read_started(self) -> int | None:
        """Zendesk's clock (its ``Date`` header, unix seconds) when the last full read got its first page.

        Where the next incremental export starts: the read saw every organization as it was then, and
        the local clock may differ from Zendesk's.
        """
        return self._read_started if self._read_started is not None else self._server_time()

    def tier_values(self, organization_ids: list[int]) -> dict[int, str | None]:
        """Organization id -> the managed field's value now (``show_many?ids=``, 100 a call)."""
        values: dict[int, str | None] = {}
        for start in range(0, len(organization_ids), BATCH):
            for raw in self._z.organizations(ids=organization_ids[start : start + BATCH]):
                organization = self._organization(raw)
                values[organization.id] = organization.tier_tag
        return values

    def organizations_for(self, account_ids: Iterable[str]) -> list[Organization]:
        """Organizations whose external_id is one of ``account_ids`` in 18- or 15-character form."""
        forms = sorted({form for account_id in account_ids for form in external_id_forms(account_id)})
        found: dict[int, Organization] = {}
        for start in range(0, len(forms), BATCH):
            for raw in self._z.organizations(external_ids=forms[start : start + BATCH]):
                organization = self._organization(raw)
                found[organization.id] = organization
        return list(found.values())

    def changed_organizations(self, start_time: int,
                              progress: Callable[[int], None] | None = None) -> OrganizationExport:
        """Organizations changed at or after ``start_time``, through the incremental export.

        When more organizations share one second than an export page holds, the export cannot move past
        that second (api-facts A.7). Then one full list (cursor pagination, 100 a page) gives every
        organization changed since that second, and the export goes on from when the list began (by
        Zendesk's clock), so none is skipped and nothing loops.
        """
        exporter = OrganizationExporter(self._z, self._key)
        found: dict[int, ChangedOrganization] = {}
        start, resumed = start_time, False
        while True:
            export = exporter.changed_since(start, progress)
            if export.too_recent:
                return OrganizationExport(tuple(found.values()), start) if resumed else export
            _merge(found, export.organizations)
            if export.complete or export.end_time is None:
                return OrganizationExport(tuple(found.values()), export.end_time, complete=export.complete)
            log.info("zendesk: more organizations changed at %s than an export page holds; listing them all",
                     export.end_time)
            listed, began = self._changed_from(export.end_time)
            if began is None:  # no Date header: the list cannot say where the export may go on from
                return OrganizationExport(tuple(found.values()), export.end_time, complete=False)
            _merge(found, listed)
            start, resumed = max(began - 1, export.end_time + 1), True

    def _changed_from(self, second: int) -> tuple[list[ChangedOrganization], int | None]:
        """Every organization whose updated_at is ``second`` or later, from a full list; and when it began."""
        changed: list[ChangedOrganization] = []
        began: int | None = None
        for page in ZendeskJson(self._z).pages("organizations", "organizations"):
            began = self._server_time() if began is None else began
            for raw in page:
                updated = unix_time(raw.get("updated_at"))
                if updated is not None and updated >= second:
                    changed.append(ChangedOrganization(self._organization_json(raw), updated,
                                                       unix_time(raw.get("created_at"))))
        return changed, began if began is not None else self._server_time()

    def write_tags(self, changes: Sequence[tuple[int, str | None]], progress: Callable[[int], None] | None = None,
                   before_batch: Callable[[], None] | None = None) -> list[WriteResult]:
        """Write ``(organization_id, tag)`` pairs with update_many, 100 per job, and follow each job.

        A tag of None clears the field (JSON null, as zenpy serialises it).

        Up to ``max_jobs_in_flight`` jobs are queued at once; one ``job_statuses/show_many`` call per
        round polls all of them, backing off only while none has finished. Every organization gets
        exactly one WriteResult, in the order given; a result without ``success: true`` is a failure.
        """
        pending = deque(changes[start : start + BATCH] for start in range(0, len(changes), BATCH))
        in_flight: dict[str, tuple[list[int], float]] = {}  # job id -> its organizations, its deadline
        verdicts: dict[int, WriteResult] = {}
        delay = POLL_FIRST_DELAY
        while pending or in_flight:
            while pending and len(in_flight) < self._max_jobs:
                if before_batch is not None:
                    before_batch()  # e.g. the run lock's check: stop before a write we may no longer make
                batch = pending.popleft()
                job = self._z.organizations.update(
                    [ZenpyOrganization(id=org_id, organization_fields={self._key: tag}) for org_id, tag in batch])
                in_flight[str(job.id)] = ([org_id for org_id, _ in batch], self._clock() + self._job_timeout)
            finished = self._poll_round(in_flight)
            for job_id, job in finished.items():
                org_ids, _ = in_flight.pop(job_id)
                verdicts.update((r.organization_id, r) for r in _job_results(job, org_ids))
                if progress:
                    progress(len(org_ids))
            for job_id, (org_ids, deadline) in list(in_flight.items()):
                if self._clock() >= deadline:
                    del in_flight[job_id]
                    reason = f"job {job_id} did not finish within {self._job_timeout:.0f}s; retried next run"
                    verdicts.update((org_id, WriteResult(org_id, False, reason)) for org_id in org_ids)
            if finished or not in_flight:
                delay = POLL_FIRST_DELAY
            else:
                self._sleep(delay)
                delay = min(delay * 1.5, POLL_MAX_DELAY)
        return [verdicts[org_id] for org_id, _ in changes]

    def _poll_round(self, in_flight: dict[str, tuple[list[int], float]]) -> dict[str, Any]:
        """One show_many call for every job in flight; returns the jobs that reached a final state.

        A job missing from the answer is asked for on its own (``GET /job_statuses/{id}``); when
        Zendesk no longer knows it (404: job statuses expire), it counts as failed, and its rows are
        retried next run. Where show_many itself is not served (404), single-job polling is used.
        """
        if not in_flight:
            return {}
        jobs: dict[str, Any] = {}
        if not self._single_job_polling:
            try:
                answer = self._z.job_status(ids=list(in_flight))
                listed = answer.get("job_statuses", []) if isinstance(answer, dict) else list(answer)
                jobs = {str(job.id): job for job in listed}
            except RemoteStateError as exc:
                if exc.http_status != 404:
                    raise
                self._single_job_polling = True
        for job_id in (job_id for job_id in in_flight if job_id not in jobs):
            jobs[job_id] = self._one_job(job_id)
        return {job_id: job for job_id, job in jobs.items()
                if job_id in in_flight and getattr(job, "status", None) in TERMINAL_JOB_STATES}

    def _one_job(self, job_id: str) -> Any:
        try:
            return self._z.job_status(id=job_id)
        except RemoteStateError as exc:
            if exc.http_status != 404:
                raise
            return SimpleNamespace(id=job_id, status="failed", results=None,
                                   message="Zendesk no longer has this job's status (job statuses expire)")


def _merge(found: dict[int, ChangedOrganization], delivered: Iterable[ChangedOrganization]) -> None:
    """Keep the latest version of each organization."""
    for item in delivered:
        previous = found.get(item.organization.id)
        if previous is None or item.updated_at >= previous.updated_at:
            found[item.organization.id] = item


def _job_results(job: Any, org_ids: list[int]) -> list[WriteResult]:
    if job.status != "completed":
        reason = f"job {job.status}: {redact(str(job.message or ''))[:200]}"
        return [WriteResult(org_id, False, reason) for org_id in org_ids]
    verdicts: dict[int, WriteResult] = {}
    for position, item in enumerate(job.results or []):
        index = getattr(item, "index", None)
        item_id = getattr(item, "id", None)
        if item_id is None and isinstance(index, int) and 0 <= index < len(org_ids):
            item_id = org_ids[index]
        if item_id is None and position < len(org_ids):
            item_id = org_ids[position]
        if item_id is None:
            continue
        if getattr(item, "success", None) is True:
            verdicts[int(item_id)] = WriteResult(int(item_id), True)
        else:
            error = getattr(item, "error", None) or "failed"
            details = getattr(item, "details", None) or getattr(item, "errors", None) or ""
            verdicts[int(item_id)] = WriteResult(int(item_id), False, redact(f"{error}: {details}".strip(": "))[:300])
    return [verdicts.get(org_id, WriteResult(org_id, False, "the job reported no result for it"))
            for org_id in org_ids]
