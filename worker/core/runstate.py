"""Run state: what one run leaves for the next, and the pure arithmetic of moving it on.

The watermark is the highest SystemModstamp of the accounts a complete run read, kept in one
canonical form (``2026-01-01T00:00:00.000+0000``, UTC); stored state is validated when it is read,
and anything untrustworthy counts as no state (the run then reads everything and says why).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.core.ids import try_to_18

FUTURE_TOLERANCE = timedelta(hours=1)  # clock skew between Salesforce and this host, generously


@dataclass(frozen=True)
class RunState:
    """What one run leaves for the next.

    Attributes:
        watermark: highest SystemModstamp read by the last complete run.
        config_fingerprint: digest of the tier file that produced the watermark; a different
            tier file invalidates the watermark (a new mapping must re-evaluate every account).
        population: organizations matched by the last full run (the change rail's denominator).
        failed_ids: accounts whose last write failed; re-read and retried on every run until done.
        salesforce_org: the Salesforce org the state was read from; another org's watermark and
            account ids mean nothing here.
        routing_fingerprint: the tier file's routing digest when routing was last applied in full.
        routing_objects: how many marked triggers, views and SLA policies the last routing apply
            left; a later read that finds none of them is suspect, not a reason to create them again.
        salesforce_seen: ``(id, SystemModstamp)`` of the rows read in the watermark's second; the next
            read (``>=`` that second) returns them again, unchanged: not a change made in Salesforce.
        salesforce_seen_final: the watermark's second was over when it was read, so those rows cannot have
            changed within it since: the next read passes over them (no planning, no scope check).
        zendesk_mark: where the next incremental organization export starts (unix seconds, Zendesk time).
        zendesk_seen: organizations the export delivered at the mark's second (it delivers them again).
        written: ``(organization id, value, unix seconds)`` of recent writes the export has not yet read
            back; read back with that value, they are ours, not hand edits.
        pending_removals: ``(account id, reason)`` of removed accounts whose clear failed; tried again.
        discarded: why stored state was unusable and ignored (then every other field is empty).

    """

    watermark: str | None = None
    config_fingerprint: str | None = None
    population: int = 0
    failed_ids: tuple[str, ...] = field(default=())
    salesforce_org: str | None = None
    routing_objects: int = 0
    routing_fingerprint: str | None = None
    salesforce_seen: tuple[tuple[str, str], ...] = ()
    salesforce_seen_final: bool = False
    zendesk_mark: int | None = None
    zendesk_seen: tuple[int, ...] = ()
    written: tuple[tuple[int, str | None, int], ...] = ()
    pending_removals: tuple[tuple[str, str], ...] = ()
    discarded: str | None = None

    def to_json(self) -> str:
        """Serialise for storage."""
        data = asdict(self)
        del data["discarded"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> RunState:
        """Parse and validate stored state; unusable state counts as none, with the reason kept."""
        if not text:
            return cls()
        try:
            return _parse_state(json.loads(text))
        except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return cls(discarded=str(exc) if isinstance(exc, _BadState) else "it is not valid JSON")


class _BadState(ValueError):
    """Stored state that parses but cannot be trusted."""


_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


def _parse_state(data: Any) -> RunState:
    if not isinstance(data, dict):
        raise _BadState("it is not a JSON object")
    watermark, fingerprint = data.get("watermark"), data.get("config_fingerprint")
    org, population, failed = data.get("salesforce_org"), data.get("population", 0), data.get("failed_ids", [])
    routing = data.get("routing_objects", 0)
    if watermark is not None and not (isinstance(watermark, str) and _STAMP.fullmatch(watermark)):  # our own format
        raise _BadState(f"watermark {str(watermark)[:40]!r} is not a Salesforce timestamp")
    routing_digest = data.get("routing_fingerprint")
    for name, value in (("config_fingerprint", fingerprint), ("salesforce_org", org),
                        ("routing_fingerprint", routing_digest)):
        if value is not None and not isinstance(value, str):
            raise _BadState(f"{name} is not a string")
    for name, count in (("population", population), ("routing_objects", routing)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _BadState(f"{name} is not a count")
    if not isinstance(failed, list) or not all(isinstance(i, str) and try_to_18(i) for i in failed):
        raise _BadState("failed_ids is not a list of Salesforce ids")
    return RunState(watermark, fingerprint, population, tuple(str(try_to_18(i)) for i in failed), org, routing,
                    routing_digest, **_parse_changes(data))


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _pairs(data: dict[str, Any], name: str) -> list[list[Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, list) for item in value):
        raise _BadState(f"{name} is not a list of lists")
    return value


def _parse_changes(data: dict[str, Any]) -> dict[str, Any]:
    """The incremental-change fields of stored state, validated (absent in state from older versions)."""
    mark, seen = data.get("zendesk_mark"), data.get("zendesk_seen", [])
    if mark is not None and not _is_count(mark):
        raise _BadState("zendesk_mark is not a unix time")
    if not isinstance(seen, list) or not all(_is_count(i) for i in seen):
        raise _BadState("zendesk_seen is not a list of organization ids")
    sf_seen = _pairs(data, "salesforce_seen")
    if not all(len(p) == 2 and try_to_18(str(p[0])) and isinstance(p[1], str) for p in sf_seen):
        raise _BadState("salesforce_seen is not a list of [account id, SystemModstamp]")
    written = _pairs(data, "written")
    if not all(len(w) == 3 and _is_count(w[0]) and (w[1] is None or isinstance(w[1], str)) and _is_count(w[2])
               for w in written):
        raise _BadState("written is not a list of [organization id, value, time]")
    pending = _pairs(data, "pending_removals")
    if not all(len(p) == 2 and try_to_18(str(p[0])) and p[1] in ("deleted", "out_of_scope") for p in pending):
        raise _BadState("pending_removals is not a list of [account id, reason]")
    final = data.get("salesforce_seen_final", False)
    if not isinstance(final, bool):
        raise _BadState("salesforce_seen_final is not true or false")
    return {"salesforce_seen": tuple((str(i), s) for i, s in sf_seen), "salesforce_seen_final": final,
            "zendesk_mark": mark,
            "zendesk_seen": tuple(seen),  # a written value is one of a few tags: one string each, not one per row
            "written": tuple((o, sys.intern(v) if isinstance(v, str) else v, t) for o, v, t in written),
            "pending_removals": tuple((str(try_to_18(str(i))), r) for i, r in pending)}


def parse_stamp(stamp: str) -> datetime | None:
    """A Salesforce datetime (``2026-01-01T00:00:00.000+0000``, or ISO 8601 with ``Z``) as UTC, else None."""
    try:
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def format_stamp(moment: datetime) -> str:
    """The canonical watermark form: UTC, milliseconds, ``+0000``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def next_watermark(stamps: Iterable[str | None], previous: str | None) -> str | None:
    """The highest of ``stamps`` (the SystemModstamps this run read) and ``previous``, in canonical form.

    Stamps that do not parse are ignored; the watermark never moves backwards.
    """
    texts = [s for s in (*stamps, previous) if s]
    if texts and all(_STAMP.fullmatch(s) for s in texts):  # one fixed-width UTC form: the text order is the time order
        return max(texts)
    moments = [m for m in (parse_stamp(s) for s in texts) if m is not None]
    return format_stamp(max(moments)) if moments else None


class StampTracker:
    """The latest SystemModstamp of a stream of accounts, and the rows in its second, without keeping the stream.

    A full read plans accounts as they arrive; the next watermark and the rows it will read again are
    all the run state needs of them.
    """

    def __init__(self) -> None:
        self.latest: str | None = None  # canonical form
        self.rows: list[tuple[str, str | None]] = []  # (id, stamp as read) in the latest stamp's second

    def add(self, account_id: str, stamp: str | None) -> None:
        """Note one account's stamp."""
        if not stamp:
            return
        if _STAMP.fullmatch(stamp):
            canonical = stamp
        else:
            moment = parse_stamp(stamp)
            if moment is None:
                return
            canonical = format_stamp(moment)
        if self.latest is None or canonical > self.latest:
            if self.latest is None or canonical[:19] != self.latest[:19]:
                self.rows = []
            self.latest = canonical
        if canonical[:19] == self.latest[:19]:
            self.rows.append((account_id, stamp))


def seen_at_watermark(rows: Iterable[tuple[str, str | None]], watermark: str | None,
                      previous: Iterable[tuple[str, str]] = ()) -> tuple[tuple[str, str], ...]:
    """``(id, stamp)`` of the rows in ``watermark``'s second: the next read (``>=`` that second) returns them again.

    ``previous`` are the pairs kept by the run before, when the watermark did not move.
    """
    moment = parse_stamp(watermark) if watermark else None
    if moment is None or watermark is None:
        return ()
    second = moment.replace(microsecond=0)
    prefix = watermark[:19] if _STAMP.fullmatch(watermark) else None  # "2026-01-01T00:00:05": the second
    kept = set(previous)
    for account_id, stamp in rows:
        if not stamp:
            continue
        if prefix is not None and _STAMP.fullmatch(stamp):
            if stamp.startswith(prefix):
                kept.add((account_id, stamp))
            continue
        parsed = parse_stamp(stamp)
        if parsed is not None and parsed.replace(microsecond=0) == second:
            kept.add((account_id, stamp))
    return tuple(sorted(kept))


def second_is_over(watermark: str | None, known_before: float | None) -> bool:
    """Whether ``watermark``'s second ended before the read was sent (``known_before``, Salesforce's clock).

    Stamps have whole seconds, so a row changed again within its second comes back with the same stamp;
    only once that second is over can a row seen with that stamp be passed over next time.
    """
    moment = parse_stamp(watermark) if watermark else None
    if moment is None or known_before is None:
        return False
    return moment.replace(microsecond=0).timestamp() + 1 <= known_before


def usable_state(stored: RunState, org: str, now: datetime) -> tuple[RunState, str | None]:
    """The part of ``stored`` this run may trust, and a note saying what was set aside (None if nothing).

    Unparseable state, state from another Salesforce org and a watermark more than
    FUTURE_TOLERANCE ahead of ``now`` are set aside; the run then reads every account.
    """
    full = "; reading every account (full run)"
    if stored.discarded:
        return RunState(salesforce_org=org), f"ignored the saved run state because {stored.discarded}{full}"
    if stored != RunState() and stored.salesforce_org != org:
        return RunState(salesforce_org=org, routing_objects=stored.routing_objects,
                        routing_fingerprint=stored.routing_fingerprint), (
            f"the saved run state belongs to Salesforce org {stored.salesforce_org or '(unknown)'}, not {org}; "
            f"its watermark and retry list do not apply{full}")
    moment = parse_stamp(stored.watermark) if stored.watermark else None
    if moment is not None and moment > now + FUTURE_TOLERANCE:
        note = f"the saved watermark {stored.watermark} is in the future; ignored it{full}"
        return replace(stored, watermark=None, salesforce_seen=(), salesforce_seen_final=False), note
    return stored, None
