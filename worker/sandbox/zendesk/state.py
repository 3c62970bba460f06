"""The fake Zendesk account's in-memory state: its records, request log, faults and clock.

The records are users, organizations, fields, jobs, groups, business rules (trigger categories,
triggers, views, SLA policies) and tickets (with their metric sets, metric events and satisfaction
ratings). Resource modules add behaviour on top (mixins); the data itself lives here, so a new
resource adds its collection to :class:`ZendeskState` and its rules in its own module.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from worker.sandbox.httpbase import Clock, FaultRule

ORG_ID_START = 360_000_000_001
FIELD_ID_START = 360_000_400_001
OPTION_ID_START = 360_000_800_001
USER_ID = 361_000_000_001
ID_STARTS = {  # one range per resource, so an id of the wrong kind is never found
    "group": 362_000_000_001,
    "trigger_category": 363_000_000_001,  # rendered as a string, as Zendesk does
    "trigger": 364_000_000_001,
    "view": 365_000_000_001,
    "sla_policy": 366_000_000_001,
    "ticket": 367_000_000_001,
    "ticket_metric": 368_000_000_001,
    "ticket_metric_event": 369_000_000_001,
    "satisfaction_rating": 370_000_000_001,
}


class RecordInvalid(ValueError):
    """A Zendesk 422 RecordInvalid; ``details`` is the Zendesk ``details`` object."""

    def __init__(self, details: dict[str, list[dict[str, str]]]) -> None:
        super().__init__(str(details))
        self.details = details


def invalid(attr: str, description: str, error: str) -> dict[str, list[dict[str, str]]]:
    """One entry of a RecordInvalid ``details`` object."""
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


class ZendeskState:
    """Everything the fake account holds, plus the request log and fault injection tests use."""

    def __init__(self, *, rate_limit_per_minute: int = 100_000, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Clock = clock or time.time
        self.base_url = "https://127.0.0.1"
        # the API user (users/me) and its credentials
        self.email = "sandbox-admin@example.com"
        self.api_token = secrets.token_urlsafe(30)
        self.oauth_token = secrets.token_hex(32)
        self.role = "admin"
        # records
        self.organizations: dict[int, dict[str, Any]] = {}
        self.fields: dict[int, dict[str, Any]] = {}
        self.jobs: dict[str, Job] = {}
        self._names: dict[str, int] = {}  # casefolded organization name -> id
        self._next_org_id = ORG_ID_START
        self._sorted_org_ids: tuple[int, list[int]] | None = None  # (organization count, ids in order)
        self._next_field_id = FIELD_ID_START
        self._next_option_id = OPTION_ID_START
        self.groups: dict[int, dict[str, Any]] = {}
        self.trigger_categories: dict[int, dict[str, Any]] = {}
        self.triggers: dict[int, dict[str, Any]] = {}
        self.views: dict[int, dict[str, Any]] = {}
        self.sla_policies: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.ticket_metrics: dict[int, dict[str, Any]] = {}  # ticket id -> its metric set
        self.ticket_metric_events: dict[int, dict[str, Any]] = {}
        self.satisfaction_ratings: dict[int, dict[str, Any]] = {}
        self._next_ids = dict(ID_STARTS)
        # limits and behaviour knobs
        self.rate_limit_per_minute = rate_limit_per_minute
        self.org_update_limit_per_minute: int | None = 5
        self.fail_org_ids: set[int] = set()
        self.job_polls_before_done = 1
        self.window_start = 0.0
        self.window_count = 0
        # incremental exports have their own limit besides the account-wide one, one window shared by every
        # incremental export endpoint (Zendesk's Incremental Exports reference: 10 requests a minute, 30 with the
        # High Volume add-on); None disables it
        self.export_limit_per_minute: int | None = 10
        self.export_window_start = 0.0
        self.export_window_count = 0
        self.org_update_times: dict[int, list[float]] = {}
        # what happened
        self.requests: list[tuple[str, str, str]] = []
        self.errors: list[str] = []
        self.faults: list[FaultRule] = []
        self.ghost_writes: list[FaultRule] = []

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Number of recorded requests with this method and exact path (without ``.json``)."""
        with self.lock:
            return sum(1 for m, p, _ in self.requests
                       if (method is None or m == method.upper()) and (path is None or p == path))

    def reset_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def fail_next(self, count: int, status: int, body: Any, headers: dict[str, str] | None = None,
                  path_contains: str = "", method: str | None = None, *, delay: float = 0.0) -> None:
        """Answer the next ``count`` matching requests (path with ``?query``) with this response.

        ``body`` may be a function of the request (``httpbase.echo_request``); ``delay`` answers late.
        """
        with self.lock:
            self.faults.append(FaultRule(count, status, body, headers, path_contains, method, delay))

    def commit_then_fail_next(self, count: int, status: int, method: str, path_contains: str = "",
                              body: Any = None, headers: dict[str, str] | None = None) -> None:
        """Ghost writes: the next ``count`` matching requests are served (and applied), then answered ``status``.

        Only a request that succeeded (2xx) is turned into a ghost write and uses up the rule; a refused one
        (a 422, say) changed nothing and keeps its own answer. ``body`` defaults to ``{"error": <reason>}``.
        """
        if body is None:
            body = {"error": HTTPStatus(status).phrase}
        with self.lock:
            self.ghost_writes.append(FaultRule(count, status, body, headers, path_contains, method))

    def new_id(self, kind: str) -> int:
        """The next id of a resource named in :data:`ID_STARTS`."""
        with self.lock:
            new = self._next_ids[kind]
            self._next_ids[kind] += 1
            return new

    def now_iso(self) -> str:
        return datetime.fromtimestamp(int(self.clock()), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
