"""Redis bookkeeping that keeps the Celery tasks safe to deliver more than once.

With ``task_acks_late`` and ``task_reject_on_worker_lost``, a message whose worker process dies (SIGKILL, OOM,
a crash in C code) goes back on the queue. That is what makes a killed run happen again, and what would make a
message that always kills its worker loop forever (Celery's docs: "can cause message loops"). So:

- :meth:`TaskGuard.arrive` counts the deliveries of one message (by task id) that did not finish; a delivery
  that ends in Python, whatever the result (a return, an exception, a Celery retry), clears the count with
  :meth:`TaskGuard.settle`, so the count only grows while deliveries keep dying.
- past the limit the message is dead-lettered (:meth:`TaskGuard.dead_letter`): kept in a capped Redis list for
  people to look at, and acknowledged so it runs no more. :meth:`TaskGuard.first_alert` lets one Slack alert
  through per task and arguments within the alert window.
- :meth:`TaskGuard.run_alert_state` keeps, per task, what its last run-failure alert left, so that a run
  failing the same way again is not alerted again and the first run that succeeds sends one recovery.
- :meth:`TaskGuard.claim_window` lets one beat-sent message per schedule entry run within most of one interval,
  so a second beat process (which should never run, but does in the wild) does not double every job. A message
  delivered again (same task id) keeps its claim.

The task arguments kept here are ids and options only: tasks never take secrets.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from worker.core.alerts import AlertState

PREFIX = "tiersync:deliveries:"
DEAD_LETTER_KEY = "tiersync:dead-letter"
ALERTED_PREFIX = "tiersync:dead-letter-alerted:"
RUN_ALERT_PREFIX = "tiersync:run-alert:"  # a task's run-failure alert state (worker.core.alerts.AlertState)
WINDOW_PREFIX = "tiersync:beat-window:"
DEAD_LETTERS_KEPT = 100
COUNT_TTL_SECONDS = 7 * 86400  # longer than any redelivery chain (visibility timeout at most 18 h)
WINDOW_SHARE = 0.9  # a claim lasts this share of the interval, so the next on-time beat always runs


def arguments_fingerprint(task_name: str, kwargs: dict[str, Any]) -> str:
    """A short, stable name for a task and its arguments (for alert dedupe and window keys)."""
    text = json.dumps([task_name, kwargs], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class TaskGuard:
    """Delivery counts, dead letters and beat-window claims in one Redis (the broker's)."""

    def __init__(self, client: Any) -> None:
        self._redis = client

    def arrive(self, task_id: str) -> int:
        """Count one more delivery of ``task_id``; returns how many deliveries have not finished, this one included."""
        key = PREFIX + task_id
        with self._redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, COUNT_TTL_SECONDS)
            count, _ = pipe.execute()
        return int(count)

    def settle(self, task_id: str) -> None:
        """A delivery of ``task_id`` ended in Python (not by its worker's death): forget its count."""
        self._redis.delete(PREFIX + task_id)

    def dead_letter(self, task_name: str, task_id: str, kwargs: dict[str, Any], deliveries: int) -> dict[str, Any]:
        """Keep the message in the dead-letter list (newest first, the last 100) and forget its count."""
        entry = {"task": task_name, "task_id": task_id, "kwargs": kwargs, "deliveries": deliveries,
                 "at": datetime.now(UTC).isoformat(timespec="seconds")}
        with self._redis.pipeline() as pipe:
            pipe.lpush(DEAD_LETTER_KEY, json.dumps(entry, sort_keys=True, default=str))
            pipe.ltrim(DEAD_LETTER_KEY, 0, DEAD_LETTERS_KEPT - 1)
            pipe.delete(PREFIX + task_id)
            pipe.execute()
        return entry

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead-lettered messages kept, newest first."""
        return [json.loads(raw) for raw in self._redis.lrange(DEAD_LETTER_KEY, 0, -1)]

    def first_alert(self, task_name: str, kwargs: dict[str, Any], repeat_after: float) -> bool:
        """True for the first dead letter of this task and arguments within ``repeat_after`` seconds."""
        if repeat_after <= 0:
            return True
        key = ALERTED_PREFIX + arguments_fingerprint(task_name, kwargs)
        return bool(self._redis.set(key, "1", nx=True, px=int(repeat_after * 1000)))

    def run_alert_state(self, task_name: str) -> AlertState:
        """What the last run-failure alert of ``task_name`` left (no state: nothing outstanding)."""
        return AlertState.from_json(self._redis.get(RUN_ALERT_PREFIX + task_name))

    def save_run_alert_state(self, task_name: str, state: AlertState) -> None:
        """Remember the run-failure alert just sent for ``task_name``."""
        self._redis.set(RUN_ALERT_PREFIX + task_name, state.to_json())

    def claim_window(self, task_name: str, kwargs: dict[str, Any], task_id: str, interval: float) -> bool:
        """True when this beat message may run: no other message of its schedule entry ran in the window."""
        key = WINDOW_PREFIX + arguments_fingerprint(task_name, kwargs)
        if self._redis.set(key, task_id, nx=True, px=max(1, int(interval * WINDOW_SHARE * 1000))):
            return True
        holder = self._redis.get(key)
        return holder is not None and holder.decode(errors="replace") == task_id  # delivered again: still ours
