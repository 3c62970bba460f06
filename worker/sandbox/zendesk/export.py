"""Time-based incremental organization export: ``GET /api/v2/incremental/organizations``.

Zendesk's OAS (operationId IncrementalOrganizationExport; parameters IncrementalUnixTime and IncrementalPage;
schema ExportIncrementalOrganizationsResponse) and shared/reference/api-facts.md A.7 and A.6:

- Admins only. ``start_time`` (unix seconds) is required and "Must be at least one minute in the past. Data
  isn't provided for the most recent minute": the items are the organizations with
  ``start_time <= updated_at <= now - 60``, in ``(updated_at, id)`` order, ``per_page`` at most (default and
  maximum 1000, a larger value is capped).
- Pages are inclusive: ``end_time`` is the last item's second and ``next_page`` starts there, so the items of
  that second come again (duplicates). When more than ``per_page`` items share one second, ``end_time`` equals
  ``start_time`` and the same page comes back for ever. Both are the real API's documented hazards (A.7),
  reproduced on purpose: a client must dedupe by id and detect the loop; do not fix them here.
- Incremental exports have their own limit, 10 requests a minute (``export_limit_per_minute``), counted
  besides the account-wide one the gateway keeps. It is one budget for every incremental export endpoint
  (this one, ``incremental/tickets/cursor`` and ``incremental/ticket_metric_events`` in ``tickets.py``):
  Zendesk's Incremental Exports reference gives the 10 a minute to the exports together, not to each.

The helpers below (admission, the shared window, ``start_time``/``per_page`` checks, one time-based page)
are what every incremental export endpoint of the fake uses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, error, router
from worker.sandbox.zendesk.organizations import OrganizationsMixin
from worker.sandbox.zendesk.state import ZendeskState

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

EXPORT_PATH = "/api/v2/incremental/organizations"
MAX_PER_PAGE = 1000  # api-facts A.7: default and maximum of time-based exports ([3rd; verify] there)
QUIET_SECONDS = 60  # the most recent minute is never exported
TOO_RECENT = "Too recent start_time. Use a start_time older than 1 minute"


def unix_seconds(iso: str) -> int:
    """A Zendesk timestamp (``2024-05-01T12:00:00Z``) as unix seconds."""
    return int(datetime.fromisoformat(iso).timestamp())


class OrganizationExportMixin(OrganizationsMixin):
    """The export's rules: which organizations one page holds, and where the next page starts."""

    def export_organizations(self, start_time: int, per_page: int = MAX_PER_PAGE) -> dict[str, Any]:
        """One page of the export from ``start_time`` (checked by the caller), shaped as Zendesk answers it."""
        with self.lock:
            cutoff = math.floor(self.clock()) - QUIET_SECONDS
            stamped = [(unix_seconds(org["updated_at"]), org_id) for org_id, org in self.organizations.items()]
            chunk, end_time, last = time_based_chunk(stamped, start_time, per_page, cutoff)
            return {
                "organizations": [self.render_org(self.organizations[org_id]) for _, org_id in chunk],
                "count": len(chunk),
                "end_of_stream": last,
                "end_time": end_time,
                "next_page": f"{self.base_url}{EXPORT_PATH}.json?per_page={per_page}&start_time={end_time}",
            }


def time_based_chunk(stamped: Iterable[tuple[int, int]], start_time: int, per_page: int,
                     cutoff: int) -> tuple[list[tuple[int, int]], int, bool]:
    """One time-based page of ``(second, id)`` pairs: the chunk, its ``end_time`` and ``end_of_stream``.

    The items are those with ``start_time <= second <= cutoff`` in ``(second, id)`` order, ``per_page`` at
    most; ``end_time`` is the last item's second (inclusive: the next page starts there), else ``start_time``.
    """
    chunk = sorted(pair for pair in stamped if start_time <= pair[0] <= cutoff)[:per_page]
    end_time = chunk[-1][0] if chunk else start_time
    return chunk, end_time, len(chunk) < per_page


@router.route("GET", EXPORT_PATH)
def _export(zd: FakeZendesk, request: Request) -> Response:
    params = admit_time_based(zd, request)
    if isinstance(params, Response):
        return params
    start_time, per_page = params
    return Response(200, zd.export_organizations(start_time, per_page))


def admit_time_based(zd: ZendeskState, request: Request) -> tuple[int, int] | Response:
    """A time-based export's request admitted (:func:`admit_export`) and its ``start_time`` and ``per_page``."""
    return admit_export(zd) or time_based_params(zd, request)


def admit_export(zd: ZendeskState) -> Response | None:
    """Admins only (every incremental export, OAS), then the exports' shared per-minute window."""
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    return throttle_export(zd)


def time_based_params(zd: ZendeskState, request: Request) -> tuple[int, int] | Response:
    """``start_time`` (required, at least a minute old) and ``per_page`` (default and cap 1000), or the 400."""
    start_time = start_time_param(request.param("start_time"))
    if isinstance(start_time, Response):
        return start_time
    per_page = per_page_param(request)
    if isinstance(per_page, Response):
        return per_page
    return too_recent(zd, start_time) or (start_time, per_page)


def start_time_param(raw: str | None) -> int | Response:
    """``start_time`` as unix seconds, or Zendesk's 400 when it is missing or not a whole number."""
    raw = (raw or "").strip()
    # The OAS only says start_time is a required integer; these two refusals' exact bodies are assumptions.
    if not raw:
        return error(400, "InvalidValue", "start_time parameter is required")
    if not re.fullmatch(r"[0-9]+", raw):
        return error(400, "InvalidValue", "start_time must be an integer number of seconds since the epoch")
    return int(raw)


def per_page_param(request: Request) -> int | Response:
    """``per_page`` between 1 and 1000 (out-of-range values are brought in), or a 400 when it is no integer."""
    raw = (request.param("per_page") or "").strip()
    if raw and not re.fullmatch(r"-?[0-9]+", raw):
        return error(400, "InvalidValue", "per_page must be an integer")
    return min(MAX_PER_PAGE, max(1, int(raw or MAX_PER_PAGE)))


def too_recent(zd: ZendeskState, start_time: int) -> Response | None:
    """The 400 for a ``start_time`` under a minute old, else None.

    "Must be at least one minute in the past" (OAS IncrementalUnixTime). The spec does not give the status or
    body of this refusal: 400 InvalidValue with this description is an assumption.
    """
    if start_time > math.floor(zd.clock()) - QUIET_SECONDS:
        return error(400, "InvalidValue", TOO_RECENT)
    return None


def throttle_export(zd: ZendeskState) -> Response | None:
    """The incremental exports' one per-minute window (fixed minutes, like the gateway's); records this request.

    Every admitted admin request to any incremental export counts, a refused one (400) too; a 429 does not.
    """
    limit = zd.export_limit_per_minute
    if limit is None:
        return None
    now = zd.clock()
    start = math.floor(now / 60) * 60
    if start != zd.export_window_start:
        zd.export_window_start, zd.export_window_count = start, 0
    if zd.export_window_count >= limit:
        # The OAS documents no 429 for this operation; the body is its 429 example for the other incremental
        # export (GET /api/v2/incremental/custom_objects/{custom_object_key}/cursor: "Rate limit exceeded.
        # Maximum 10 requests per minute."). A 429 "has a Retry-After header that tells you how many seconds
        # to wait" (developer.zendesk.com, "Rate limits").
        body = {"errors": [{"code": "RateLimitExceeded", "status": "429",
                            "title": f"Rate limit exceeded. Maximum {limit} requests per minute."}]}
        return Response(429, body, {"Retry-After": str(max(1, math.ceil(start + 60 - now)))})
    zd.export_window_count += 1
    return None
