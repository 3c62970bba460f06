"""Tickets, their metric sets, metric events and satisfaction ratings, and the three endpoints that read them.

Zendesk's OAS (operations IncrementalTicketExportCursor, ListTicketMetricEvents, ListSatisfactionRatings;
schemas TicketObject, TicketMetricObject, TicketMetricEventBaseObject and its variants,
SatisfactionRatingObject):

- ``GET /api/v2/incremental/tickets/cursor?start_time=`` then ``?cursor=<after_cursor>``: the tickets whose
  ``generated_timestamp`` is at or after ``start_time`` and at least a minute old, in
  ``(generated_timestamp, id)`` order, ``per_page`` at most (default and maximum 1000). Every page answers
  ``tickets, after_url, before_url, after_cursor, before_cursor, end_of_stream``; the last page still carries
  ``after_cursor``/``after_url`` (a later read goes on from there), so a client stops on ``end_of_stream``.
  A ticket changed after the cursor passed it comes again (a duplicate the client removes by id). Deleted
  tickets come with ``status: "deleted"``. ``include=metric_sets`` sideloads ``metric_sets`` and
  ``include=organizations`` ``organizations``. The cursor is opaque (base64 of the position, checked on
  the way back in). ``support_type_scope`` (all, agent, ai_agent; default agent) filters by ``support_type``.
  The spec lists only ``start_time``, ``cursor`` and ``support_type_scope`` for this operation; ``per_page``
  and ``include`` are the ones recorded answers and Zendesk's export guide use.
- ``GET /api/v2/incremental/ticket_metric_events?start_time=``: time-based like the organization export
  (``export.py``): events at or after ``start_time`` by their ``time``, the last minute left out, pages
  inclusive at ``end_time`` (the boundary second comes again), with ``count``, ``end_time``, ``next_page`` and
  ``end_of_stream`` (TicketMetricEventsResponse lists the first three; ``end_of_stream`` is the time-based
  exports' own key). ``exclude_deleted=true`` leaves out the events of deleted tickets. The spec lists no
  ``per_page`` here: pages hold 1000 events, or fewer when a ``per_page`` is given anyway.
- ``GET /api/v2/satisfaction_ratings``: cursor (``page[size]`` at most 100, ``page[after]``) or offset
  pagination (``pagination.py``), filtered by ``start_time``/``end_time`` (unix seconds, both inclusive, on
  ``created_at``) and ``score`` (the operation description's filter table).
- Both exports are incremental exports: they, and the organization export, share one window of
  ``export_limit_per_minute`` requests (``export.throttle_export``). Ratings are an ordinary endpoint, under
  the account-wide limit only. Everything here is for admins (OAS "Allowed For").

Timestamps are kept as unix seconds and rendered as Zendesk writes them (``2024-05-01T12:00:00Z``).
Tests and seeders add records directly: ``add_ticket``, ``update_ticket``, ``delete_ticket``,
``set_ticket_metrics``, ``add_ticket_metric_event``, ``add_satisfaction_rating``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.api import FORBIDDEN, error, router
from worker.sandbox.zendesk.export import (
    QUIET_SECONDS,
    admit_export,
    admit_time_based,
    per_page_param,
    start_time_param,
    time_based_chunk,
    too_recent,
)
from worker.sandbox.zendesk.organizations import OrganizationsMixin
from worker.sandbox.zendesk.pagination import paginate
from worker.sandbox.zendesk.state import USER_ID

if TYPE_CHECKING:
    from worker.sandbox.zendesk.account import FakeZendesk

TICKET_EXPORT_PATH = "/api/v2/incremental/tickets/cursor"
METRIC_EVENTS_PATH = "/api/v2/incremental/ticket_metric_events"
RATINGS_PATH = "/api/v2/satisfaction_ratings"
TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")  # the OAS enum + "deleted"
PRIORITIES = ("urgent", "high", "normal", "low")
SUPPORT_TYPES = ("agent", "ai_agent")
METRICS = ("agent_work_time", "pausable_update_time", "periodic_update_time", "reply_time", "requester_wait_time",
           "resolution_time", "group_ownership_time")
EVENT_TYPES = ("activate", "pause", "fulfill", "apply_sla", "apply_group_sla", "breach", "update_status", "measure")
RATING_SCORES = ("offered", "unoffered", "good", "bad")
MINUTES = ("agent_wait_time_in_minutes", "first_resolution_time_in_minutes", "full_resolution_time_in_minutes",
           "on_hold_time_in_minutes", "reply_time_in_minutes", "requester_wait_time_in_minutes")
METRIC_TIMES = ("assigned_at", "assignee_updated_at", "custom_status_updated_at", "initially_assigned_at",
                "latest_comment_added_at", "requester_updated_at", "solved_at", "status_updated_at")
METRIC_COUNTS = ("assignee_stations", "group_stations", "reopens", "replies")
TICKET_CHANGES = ("status", "priority", "tags", "subject", "organization_id", "requester_id", "assignee_id",
                  "group_id")
_CURSOR_KIND = "tickets"
_INVALID_CURSOR = "Invalid cursor"  # the spec gives no body for a cursor it cannot read: an assumption


def iso(unix: int | None) -> str | None:
    """Unix seconds as Zendesk writes a timestamp, or None."""
    return None if unix is None else datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TicketsMixin(OrganizationsMixin):
    """The ticket rules of the account: what tests and seeders add, and how the exports render it."""

    # -- adding and changing records (no HTTP) -------------------------------------------------------------

    def add_ticket(self, *, organization_id: int | None = None, requester_id: int | None = None,
                   status: str = "new", priority: str | None = None, tags: Iterable[str] = (), subject: str = "",
                   created_at: int | None = None, updated_at: int | None = None,
                   generated_timestamp: int | None = None, assignee_id: int | None = None,
                   group_id: int | None = None, support_type: str = "agent") -> int:
        """Create a ticket directly; returns its id. Times are unix seconds (default: now).

        ``updated_at`` defaults to ``created_at`` and ``generated_timestamp`` to ``updated_at``; a later
        ``generated_timestamp`` is a system update that left ``updated_at`` alone (OAS IncrementalTicketExportTime).
        Raises ValueError for an unknown status, priority, support type or organization, or times out of order.
        """
        with self.lock:
            self._check_ticket(status=status, priority=priority, organization_id=organization_id)
            if support_type not in SUPPORT_TYPES:
                raise ValueError(f"unknown support_type {support_type!r}")
            created = int(self.clock()) if created_at is None else int(created_at)
            updated = created if updated_at is None else int(updated_at)
            generated = updated if generated_timestamp is None else int(generated_timestamp)
            if not created <= updated <= generated:
                raise ValueError("a ticket needs created_at <= updated_at <= generated_timestamp")
            ticket_id = self.new_id("ticket")
            self.tickets[ticket_id] = {
                "id": ticket_id, "subject": subject or f"Ticket {ticket_id}", "status": status,
                "priority": priority, "tags": list(dict.fromkeys(tags)), "organization_id": organization_id,
                "requester_id": requester_id, "submitter_id": requester_id, "assignee_id": assignee_id,
                "group_id": group_id, "support_type": support_type, "created_at": created, "updated_at": updated,
                "generated_timestamp": generated,
            }
            return ticket_id

    def update_ticket(self, ticket_id: int, *, at: int | None = None, system: bool = False, **changes: Any) -> None:
        """Change a ticket as an agent (or, with ``system=True``, Zendesk itself) would, at ``at`` (default now).

        ``generated_timestamp`` moves to ``at`` for every update, so the ticket comes again in the export;
        ``updated_at`` moves only for an agent's update. ``changes`` name ticket attributes (TICKET_CHANGES).
        """
        with self.lock:
            ticket = self.tickets[ticket_id]
            unknown = set(changes) - set(TICKET_CHANGES)
            if unknown:
                raise ValueError(f"cannot change {sorted(unknown)} on a ticket")
            self._check_ticket(status=changes.get("status", ticket["status"]),
                               priority=changes.get("priority", ticket["priority"]),
                               organization_id=changes.get("organization_id", ticket["organization_id"]))
            when = int(self.clock()) if at is None else int(at)
            if when < ticket["generated_timestamp"]:
                raise ValueError("a ticket update cannot be older than the ticket's generated_timestamp")
            if "tags" in changes:
                changes["tags"] = list(dict.fromkeys(changes["tags"]))
            ticket.update(changes, generated_timestamp=when)
            if not system:
                ticket["updated_at"] = when

    def delete_ticket(self, ticket_id: int, *, at: int | None = None) -> None:
        """Delete a ticket (soft, as Zendesk does): the export then gives it with status ``deleted``."""
        self.update_ticket(ticket_id, at=at, status="deleted")

    def set_ticket_metrics(self, ticket_id: int, **values: Any) -> dict[str, Any]:
        """Create or change the ticket's metric set (TicketMetricObject); returns it as stored.

        For a ``*_in_minutes`` attribute an int sets calendar and business alike, a ``(calendar, business)``
        pair sets each (either may be None) and None sets both to null, as Zendesk sends a time not measured
        yet. ``reply_time_in_seconds`` follows ``reply_time_in_minutes``. Times are unix seconds or None.
        """
        with self.lock:
            ticket = self.tickets[ticket_id]
            metrics = self.ticket_metrics.get(ticket_id)
            if metrics is None:
                metrics = {"id": self.new_id("ticket_metric"), "ticket_id": ticket_id,
                           "created_at": ticket["created_at"], "updated_at": ticket["updated_at"],
                           **{name: 0 for name in METRIC_COUNTS}, **{name: None for name in METRIC_TIMES},
                           **{name: {"calendar": None, "business": None} for name in MINUTES}}
                self.ticket_metrics[ticket_id] = metrics
            for name, value in values.items():
                if name in MINUTES:
                    metrics[name] = _minutes(value)
                elif name in METRIC_TIMES or name in METRIC_COUNTS or name in ("created_at", "updated_at"):
                    metrics[name] = None if value is None else int(value)
                else:
                    raise ValueError(f"no metric set attribute {name!r}")
            return metrics

    def add_ticket_metric_event(self, ticket_id: int, metric: str, type: str, *, time: int | None = None,
                                instance_id: int = 1, sla: dict[str, Any] | None = None, deleted: bool = False,
                                status: dict[str, Any] | None = None) -> int:
        """Add one ticket metric event at ``time`` (unix seconds, default now); returns its id.

        ``sla`` (``{target, business_hours, policy: {id, title, description}}``) is rendered on an ``apply_sla``
        event (none, no ``sla`` key: the spec types it as an object, not nullable), ``deleted`` on every
        ``breach``, ``status`` (``{calendar, business}``) on an ``update_status``.
        """
        with self.lock:
            if ticket_id not in self.tickets:
                raise ValueError(f"no ticket {ticket_id}")
            if metric not in METRICS or type not in EVENT_TYPES:
                raise ValueError(f"unknown metric {metric!r} or event type {type!r}")
            event_id = self.new_id("ticket_metric_event")
            event: dict[str, Any] = {"id": event_id, "ticket_id": ticket_id, "metric": metric,
                                     "instance_id": instance_id, "type": type,
                                     "time": int(self.clock()) if time is None else int(time)}
            if type == "apply_sla" and sla is not None:  # "the SLA policy ... if any": without one, no sla key
                event["sla"] = sla
            elif type == "breach":
                event["deleted"] = deleted
            elif type == "update_status":
                event["status"] = status or {"calendar": 0, "business": 0}
            self.ticket_metric_events[event_id] = event
            return event_id

    def add_satisfaction_rating(self, ticket_id: int, score: str, *, comment: str | None = None,
                                created_at: int | None = None, updated_at: int | None = None) -> int:
        """Add a satisfaction rating of a ticket (``offered``, ``unoffered``, ``good`` or ``bad``); returns its id.

        Its assignee, group and requester are the ticket's (the admin and no group when the ticket has none).
        """
        with self.lock:
            ticket = self.tickets.get(ticket_id)
            if ticket is None:
                raise ValueError(f"no ticket {ticket_id}")
            if score not in RATING_SCORES:
                raise ValueError(f"unknown satisfaction score {score!r}")
            created = int(self.clock()) if created_at is None else int(created_at)
            rating_id = self.new_id("satisfaction_rating")
            self.satisfaction_ratings[rating_id] = {
                "id": rating_id, "ticket_id": ticket_id, "score": score, "comment": comment,
                "assignee_id": ticket["assignee_id"] or USER_ID, "group_id": ticket["group_id"],
                "requester_id": ticket["requester_id"] or USER_ID, "created_at": created,
                "updated_at": created if updated_at is None else int(updated_at),
            }
            return rating_id

    def _check_ticket(self, *, status: str, priority: str | None, organization_id: int | None) -> None:
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown ticket status {status!r}")
        if priority is not None and priority not in PRIORITIES:
            raise ValueError(f"unknown ticket priority {priority!r}")
        if organization_id is not None and organization_id not in self.organizations:
            raise ValueError(f"no organization {organization_id}")

    # -- rendering -----------------------------------------------------------------------------------------

    def render_ticket(self, ticket: dict[str, Any], rating: dict[str, Any] | None = None) -> dict[str, Any]:
        """A ticket in the OAS TicketObject shape (read-side attributes only); ``rating`` is its latest rating."""
        ticket_id = ticket["id"]
        satisfaction = {"score": "unoffered"} if rating is None else {
            "id": rating["id"], "score": rating["score"], "comment": rating["comment"]}
        return {
            "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json", "id": ticket_id, "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(ticket["created_at"]), "updated_at": iso(ticket["updated_at"]),
            "generated_timestamp": ticket["generated_timestamp"], "type": None, "subject": ticket["subject"],
            "raw_subject": ticket["subject"], "description": f"{ticket['subject']} (sandbox ticket)",
            "priority": ticket["priority"], "status": ticket["status"], "recipient": "support@sandbox.example",
            "requester_id": ticket["requester_id"], "submitter_id": ticket["submitter_id"],
            "assignee_id": ticket["assignee_id"], "organization_id": ticket["organization_id"],
            "group_id": ticket["group_id"], "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
            "problem_id": None, "has_incidents": False, "is_public": True, "due_at": None,
            "tags": list(ticket["tags"]), "custom_fields": [], "satisfaction_rating": satisfaction,
            "sharing_agreement_ids": [], "custom_status_id": None, "followup_ids": [], "ticket_form_id": None,
            "brand_id": None, "allow_channelback": False, "allow_attachments": True,
            "from_messaging_channel": False, "support_type": ticket["support_type"],
        }

    def render_ticket_metrics(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """A metric set in the OAS TicketMetricObject shape."""
        out: dict[str, Any] = {"url": f"{self.base_url}/api/v2/ticket_metrics/{metrics['id']}.json"}
        for name, value in metrics.items():
            if name in MINUTES:
                out[name] = dict(value) if isinstance(value, dict) else value
            elif name in METRIC_TIMES or name in ("created_at", "updated_at"):
                out[name] = iso(value)
            else:
                out[name] = value
        reply = metrics["reply_time_in_minutes"]
        calendar = reply.get("calendar") if isinstance(reply, dict) else None
        out["reply_time_in_seconds"] = {"calendar": None if calendar is None else calendar * 60}
        return out

    def render_metric_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """A ticket metric event (TicketMetricEventBaseObject, plus ``sla``/``deleted``/``status`` by type)."""
        return copy.deepcopy(dict(event, time=iso(event["time"])))  # callers never reach the stored sla

    def render_rating(self, rating: dict[str, Any]) -> dict[str, Any]:
        """A satisfaction rating (SatisfactionRatingObject); ``comment`` only when there is one."""
        out = {"url": f"{self.base_url}/api/v2/satisfaction_ratings/{rating['id']}.json",
               **{k: v for k, v in rating.items() if k != "comment"},
               "created_at": iso(rating["created_at"]), "updated_at": iso(rating["updated_at"])}
        if rating["comment"]:
            out["comment"] = rating["comment"]
        return out

    def latest_ratings(self, ticket_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The latest satisfaction rating of each of these tickets that has one (one pass over the ratings)."""
        wanted: set[int] = set(ticket_ids)
        latest: dict[int, dict[str, Any]] = {}
        for rating in self.satisfaction_ratings.values():
            ticket_id, current = rating["ticket_id"], latest.get(rating["ticket_id"])
            if ticket_id in wanted and (current is None or (rating["updated_at"], rating["id"]) >
                                        (current["updated_at"], current["id"])):
                latest[ticket_id] = rating
        return latest

    # -- the exports ---------------------------------------------------------------------------------------

    def export_tickets(self, after: tuple[int, int], per_page: int, *, include: Iterable[str] = (),
                       scope: str = "agent", from_cursor: bool = False,
                       kept: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
        """One page of the cursor export: the tickets past position ``after`` (``(generated_timestamp, id)``).

        ``from_cursor`` says the request came with a cursor (its position is then the ``before_cursor``);
        ``kept`` are the query parameters the next page's URL keeps (``per_page``, ``include``...).
        """
        with self.lock:
            cutoff = math.floor(self.clock()) - QUIET_SECONDS
            ahead = sorted((t["generated_timestamp"], tid) for tid, t in self.tickets.items()
                           if (scope == "all" or t["support_type"] == scope)
                           and (t["generated_timestamp"], tid) > after and t["generated_timestamp"] <= cutoff)
            chunk = ahead[:per_page]
            position = chunk[-1] if chunk else after
            query = urlencode(list(kept))
            base = f"{self.base_url}{TICKET_EXPORT_PATH}.json?" + (query + "&" if query else "")
            after_cursor = encode_ticket_cursor(position)
            before_cursor = encode_ticket_cursor(after) if from_cursor else None
            ratings = self.latest_ratings(tid for _, tid in chunk)
            page: dict[str, Any] = {
                "tickets": [self.render_ticket(self.tickets[tid], ratings.get(tid)) for _, tid in chunk],
                "after_url": f"{base}cursor={quote(after_cursor)}", "after_cursor": after_cursor,
                "before_url": f"{base}cursor={quote(before_cursor)}" if before_cursor else None,
                "before_cursor": before_cursor, "end_of_stream": len(ahead) <= per_page,
            }
            wanted = set(include)
            if "metric_sets" in wanted:
                page["metric_sets"] = [self.render_ticket_metrics(self.ticket_metrics[tid]) for _, tid in chunk
                                       if tid in self.ticket_metrics]
            if "organizations" in wanted:
                org_ids = dict.fromkeys(self.tickets[tid]["organization_id"] for _, tid in chunk)
                page["organizations"] = [self.render_org(self.organizations[o]) for o in org_ids
                                         if o is not None and o in self.organizations]
            return page

    def export_ticket_metric_events(self, start_time: int, per_page: int, *, exclude_deleted: bool = False,
                                    kept: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
        """One time-based page of metric events from ``start_time`` (checked by the caller)."""
        with self.lock:
            cutoff = math.floor(self.clock()) - QUIET_SECONDS
            stamped = [(e["time"], eid) for eid, e in self.ticket_metric_events.items()
                       if not (exclude_deleted and self.tickets[e["ticket_id"]]["status"] == "deleted")]
            chunk, end_time, last = time_based_chunk(stamped, start_time, per_page, cutoff)
            query = urlencode([*kept, ("start_time", str(end_time))])
            return {
                "ticket_metric_events": [self.render_metric_event(self.ticket_metric_events[e]) for _, e in chunk],
                "count": len(chunk), "end_time": end_time, "end_of_stream": last,
                "next_page": f"{self.base_url}{METRIC_EVENTS_PATH}.json?{query}",
            }

    def rating_ids(self, start_time: int | None, end_time: int | None, score: str | None) -> list[int]:
        """The ids of the ratings ``created_at`` within the bounds (inclusive) that the score filter keeps."""
        with self.lock:
            return sorted(rid for rid, r in self.satisfaction_ratings.items()
                          if (start_time is None or r["created_at"] >= start_time)
                          and (end_time is None or r["created_at"] <= end_time)
                          and (score is None or _score_matches(score, r)))


def _minutes(value: Any) -> dict[str, int | None]:
    if value is None:
        return {"calendar": None, "business": None}
    if isinstance(value, tuple):
        calendar, business = value
        return {"calendar": calendar, "business": business}
    if isinstance(value, dict):
        return {"calendar": value.get("calendar"), "business": value.get("business")}
    return {"calendar": int(value), "business": int(value)}


# The score filters of ListSatisfactionRatings' description: a plain score, or received (good or bad), each
# optionally narrowed to ratings with or without a comment.
SCORE_FILTERS = ("offered", "unoffered", *(f"{base}{suffix}" for base in ("received", "good", "bad")
                                            for suffix in ("", "_with_comment", "_without_comment")))


def _score_matches(wanted: str, rating: dict[str, Any]) -> bool:
    if wanted in ("offered", "unoffered"):
        return bool(rating["score"] == wanted)
    base, comment = wanted, None  # comment: None (either), True (only with one), False (only without)
    for suffix, with_comment in (("_with_comment", True), ("_without_comment", False)):
        if wanted.endswith(suffix):
            base, comment = wanted.removesuffix(suffix), with_comment
    scores = ("good", "bad") if base == "received" else (base,)
    return rating["score"] in scores and (comment is None or bool(rating["comment"]) == comment)


def encode_ticket_cursor(position: tuple[int, int]) -> str:
    """An opaque cursor for a position of the ticket export (base64 of a small JSON document)."""
    raw = json.dumps({"k": _CURSOR_KIND, "g": position[0], "i": position[1]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_ticket_cursor(cursor: str) -> tuple[int, int] | None:
    """The position a cursor of :func:`encode_ticket_cursor` names, or None for anything else."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["k"] != _CURSOR_KIND:
            return None
        generated, ticket_id = data["g"], data["i"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (generated, ticket_id)):
        return None
    return generated, ticket_id


@router.route("GET", TICKET_EXPORT_PATH)
def _export_tickets(zd: FakeZendesk, request: Request) -> Response:
    refused = admit_export(zd)
    if refused is not None:
        return refused
    per_page = per_page_param(request)
    if isinstance(per_page, Response):
        return per_page
    scope = (request.param("support_type_scope") or "agent").strip()
    if scope not in ("all", *SUPPORT_TYPES):
        return error(400, "InvalidValue", "support_type_scope must be all, agent or ai_agent")
    cursor = request.param("cursor")
    if cursor:  # "Required on the initial export request; not required on subsequent cursor-based ... requests"
        after = decode_ticket_cursor(cursor.strip())
        if after is None:
            return error(400, "InvalidValue", _INVALID_CURSOR)
    else:
        start_time = start_time_param(request.param("start_time"))
        if isinstance(start_time, Response):
            return start_time
        refusal = too_recent(zd, start_time)
        if refusal is not None:
            return refusal
        after = (start_time, -1)  # every ticket generated at start_time or later
    include = {part.strip() for value in request.query.get("include", []) for part in value.split(",")}
    kept = [(k, v) for k, values in request.query.items() if k not in ("cursor", "start_time") for v in values]
    return Response(200, zd.export_tickets(after, per_page, include=include - {""}, scope=scope,
                                           from_cursor=bool(cursor), kept=kept))


@router.route("GET", METRIC_EVENTS_PATH)
def _export_metric_events(zd: FakeZendesk, request: Request) -> Response:
    params = admit_time_based(zd, request)
    if isinstance(params, Response):
        return params
    start_time, per_page = params
    exclude_deleted = (request.param("exclude_deleted") or "").strip().lower() == "true"
    kept = [(k, v) for k, values in request.query.items() if k != "start_time" for v in values]
    return Response(200, zd.export_ticket_metric_events(start_time, per_page, exclude_deleted=exclude_deleted,
                                                        kept=kept))


@router.route("GET", RATINGS_PATH)
def _list_ratings(zd: FakeZendesk, request: Request) -> Response:
    if zd.role != "admin":
        return Response(403, FORBIDDEN)
    bounds: list[int | None] = []
    for name in ("start_time", "end_time"):
        raw = (request.param(name) or "").strip()
        if raw and not re.fullmatch(r"[0-9]+", raw):  # the refusal's body is an assumption (the spec has none)
            return error(400, "InvalidValue", f"{name} must be an integer number of seconds since the epoch")
        bounds.append(int(raw) if raw else None)
    score = (request.param("score") or "").strip() or None
    if score is not None and score not in SCORE_FILTERS:
        return error(400, "InvalidValue", f"score must be one of {', '.join(SCORE_FILTERS)}")
    ids = zd.rating_ids(bounds[0], bounds[1], score)
    return paginate(zd, request, ids, "satisfaction_ratings",
                    lambda rating_id: zd.render_rating(zd.satisfaction_ratings[rating_id]))
