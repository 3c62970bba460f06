"""Whether a reconciliation sends a Slack alert: the decision, pure, and what is remembered between runs.

A drift alert goes out when drift appears or changes (a new fingerprint, ``Report.fingerprint``), and again for
the same drift only once ``repeat_after`` seconds have passed since it was last sent. When drift clears after an
alert, exactly one recovery message goes out. Anything else stays quiet: at most one alert per drift fingerprint
per window, plus one recovery.

The caller saves the new :class:`AlertState` only after the message was sent. A failed send leaves the stored
state as it was, so the next reconcile decides the same way and tries again; nothing is lost to a Slack outage.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    """What to send for this reconciliation."""

    NONE = "none"
    DRIFT = "drift"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class AlertState:
    """What the last alert left for the next decision.

    Attributes:
        fingerprint: the fingerprint of the drift last alerted (kept after its recovery), or None.
        alerted_at: when the last message (drift or recovery) was sent, unix seconds; None before the first.
        drift_active: a drift alert went out and no recovery since: clearing drift now sends one.

    """

    fingerprint: str | None = None
    alerted_at: float | None = None
    drift_active: bool = False

    def to_json(self) -> str:
        """Serialise for storage."""
        return json.dumps({"fingerprint": self.fingerprint, "alerted_at": self.alerted_at,
                           "drift_active": self.drift_active}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> AlertState:
        """Parse and validate stored state; anything unusable counts as no state (``AlertState()``).

        No state means: drift found now is alerted (at worst once more than needed), and no recovery is sent
        for a drift alerted before the state was lost.
        """
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return cls()
        return _parse(data) or cls()


def _parse(data: Any) -> AlertState | None:
    """The state in ``data``, or None when any field is missing, of the wrong type or inconsistent."""
    if not isinstance(data, dict):
        return None
    fingerprint, alerted_at, active = data.get("fingerprint"), data.get("alerted_at"), data.get("drift_active")
    if fingerprint is not None and not (isinstance(fingerprint, str) and 0 < len(fingerprint) <= 128):
        return None
    if alerted_at is not None and (isinstance(alerted_at, bool) or not isinstance(alerted_at, int | float)
                                   or not math.isfinite(alerted_at)):
        return None
    if not isinstance(active, bool) or (active and (fingerprint is None or alerted_at is None)):
        return None
    return AlertState(fingerprint, None if alerted_at is None else float(alerted_at), active)


def decide(state: AlertState, *, has_drift: bool, fingerprint: str, now: float,
           repeat_after: float) -> tuple[Decision, AlertState]:
    """What to send now, and the state to save once it was sent (unchanged when there is nothing to send).

    Args:
        state: what the last alert left (``AlertState.from_json`` of the stored text).
        has_drift: ``Report.has_drift`` of this reconciliation.
        fingerprint: ``Report.fingerprint`` of this reconciliation.
        now: unix seconds (wall clock: the state outlives the process).
        repeat_after: seconds after which the same drift is alerted again; 0 alerts it on every run.

    The table:

    - drift, none alerted (or a recovery since) → DRIFT
    - drift, another fingerprint than the one alerted → DRIFT (new drift)
    - drift, the alerted fingerprint, less than ``repeat_after`` since → NONE
    - drift, the alerted fingerprint, ``repeat_after`` or more since → DRIFT (a reminder)
    - no drift, a drift alert outstanding → RECOVERY
    - no drift, nothing outstanding → NONE

    A send time in the future (another host's clock, or a hand-edited state) does not silence the drift: it is
    alerted again rather than possibly never.
    """
    if has_drift:
        if state.drift_active and state.fingerprint == fingerprint and state.alerted_at is not None \
                and 0 <= now - state.alerted_at < repeat_after:
            return Decision.NONE, state
        return Decision.DRIFT, AlertState(fingerprint, now, True)
    if state.drift_active:
        return Decision.RECOVERY, AlertState(state.fingerprint, now, False)
    return Decision.NONE, state


# Exit codes of a scheduled run that no retry fixes on its own: bad configuration (2), refused credentials or a lost
# role (3), a quota or rate limit past the budget that Celery does not retry (5), a plan the change rail refused
# (6), remote state that does not fit the configuration (7). Unreachable services (4) are retried, a held lock (9)
# passes, and rejected rows (8) are retried by the next run: none of those pages a person.
NEEDS_A_PERSON = frozenset({2, 3, 5, 6, 7})


def run_needs_a_person(exit_code: int, retryable: bool) -> bool:
    """Whether a finished scheduled run's outcome is one a person must act on (alerted once, then a recovery)."""
    return int(exit_code) in NEEDS_A_PERSON and not retryable


def run_failure_fingerprint(task: str, exit_code: int, error: str) -> str:
    """A short name for one kind of failure of one task: the same failure again is not alerted again."""
    return hashlib.sha256(f"{task}|{int(exit_code)}|{error}".encode()).hexdigest()[:16]
