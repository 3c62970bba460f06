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
  besides the account-wide one the gateway keeps.
"""

from __future__ import annotations

import math
import re
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
            changed = sorted((unix_seconds(org["updated_at"]), org_id) for org_id, org in self.organizations.items())
            chunk = [(stamp, org_id) for stamp, org_id in changed if start_time <= stamp <= cutoff][:per_page]
            end_time = chunk[-1][0] if chunk else start_time
            return {
                "organizations": [self.render_org(self.organizations[org_id]) for _, org_id in chunk],
                "count": len(chunk),
                "end_of_stream": len(chunk) < per_page,
                "end_time": end_time,
                "next_page": f"{self.base_url}{EXPORT_PATH}.json?per_page={per_page}&start_time={end_time}",
            }


@router.route("GET", EXPORT_PATH)
def _export(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    throttled = _throttle_export(zd)
    if throttled is not None:
        return throttled
    raw_start, raw_per_page = (request.param("start_time") or "").strip(), (request.param("per_page") or "").strip()
    # The OAS only says start_time is a required integer; these two refusals' exact bodies are assumptions.
    if not raw_start:
        return error(400, "InvalidValue", "start_time parameter is required")
    if not re.fullmatch(r"[0-9]+", raw_start):
        return error(400, "InvalidValue", "start_time must be an integer number of seconds since the epoch")
    if raw_per_page and not re.fullmatch(r"-?[0-9]+", raw_per_page):
        return error(400, "InvalidValue", "per_page must be an integer")
    start_time = int(raw_start)
    per_page = min(MAX_PER_PAGE, max(1, int(raw_per_page or MAX_PER_PAGE)))
    # "Must be at least one minute in the past" (OAS IncrementalUnixTime). The spec does not give the status or
    # body of this refusal: 400 InvalidValue with this description is an assumption.
    if start_time > math.floor(zd.clock()) - QUIET_SECONDS:
        return error(400, "InvalidValue", TOO_RECENT)
    return Response(200, zd.export_organizations(start_time, per_page))


def _throttle_export(zd: ZendeskState) -> Response | None:
    """The export's own per-minute window (fixed minutes, like the gateway's); records this request.

    Every admitted admin request counts, a refused one (400) too; a 429 does not.
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
        # Maximum 10 requests per minute."). api-facts A.6: a 429 "has a Retry-After header that tells you how
        # many seconds to wait".
        body = {"errors": [{"code": "RateLimitExceeded", "status": "429",
                            "title": f"Rate limit exceeded. Maximum {limit} requests per minute."}]}
        return Response(429, body, {"Retry-After": str(max(1, math.ceil(start + 60 - now)))})
    zd.export_window_count += 1
    return None
