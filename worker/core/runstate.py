"""Run state: what one run leaves for the next, and the pure arithmetic of moving it on.

The watermark is the highest SystemModstamp of the accounts a complete run read, kept in one
canonical form (``2026-01-01T00:00:00.000+0000``, UTC); stored state is validated when it is read,
and anything untrustworthy counts as no state (the run then reads everything and says why).
"""

from __future__ import annotations

import json
import re
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
        discarded: why stored state was unusable and ignored (then every other field is empty).

    """

    watermark: str | None = None
    config_fingerprint: str | None = None
    population: int = 0
    failed_ids: tuple[str, ...] = field(default=())
    salesforce_org: str | None = None
    routing_objects: int = 0
    routing_fingerprint: str | None = None
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
                    routing_digest)


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
    moments = [m for m in (parse_stamp(s) for s in (*stamps, previous) if s) if m is not None]
    return format_stamp(max(moments)) if moments else None


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
        return replace(stored, watermark=None), note
    return stored, None
