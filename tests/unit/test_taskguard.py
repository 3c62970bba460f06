"""The task guard: delivery counts, dead letters with one alert, and one beat message per schedule window.

Fault matrix rows 22 (poison message) and 4 (two beats), and row 2's redelivered message keeping its claim, at
layer F: the Celery tasks run eagerly (``Task.apply`` with a task id, as a worker would deliver them) against an
in-memory Redis; the real-process versions are in tests/integration/test_fault_matrix_processes.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest

from worker.core.errors import ExitCode
from worker.core.record import RunRecord
from worker.io.taskguard import DEAD_LETTER_KEY, DEAD_LETTERS_KEPT, PREFIX, TaskGuard
from worker.render.slack import dead_letter_message
from worker.sandbox.slack import SlackReceiver

BEAT = {"mode": "incremental", "trigger": "beat"}


def test_deliveries_count_up_until_one_ends_in_python() -> None:
    guard = TaskGuard(fakeredis.FakeRedis())
    assert [guard.arrive("t1") for _ in range(3)] == [1, 2, 3]  # two deliveries died with their worker
    guard.settle("t1")
    assert guard.arrive("t1") == 1  # a delivery that ended (even with an error or a retry) starts the count over
    assert guard.arrive("t2") == 1  # per message


def test_dead_letters_are_kept_newest_first_capped_and_forget_the_count() -> None:
    client = fakeredis.FakeRedis()
    guard = TaskGuard(client)
    for n in range(DEAD_LETTERS_KEPT + 5):
        guard.arrive(f"t{n}")
        guard.dead_letter("tiersync.sync", f"t{n}", {"mode": "full"}, 3)
    letters = guard.dead_letters()
    assert len(letters) == DEAD_LETTERS_KEPT and letters[0]["task_id"] == f"t{DEAD_LETTERS_KEPT + 4}"
    assert letters[0]["kwargs"] == {"mode": "full"} and letters[0]["deliveries"] == 3
    assert not client.keys(PREFIX + "*")


def test_one_alert_per_task_and_arguments_within_the_window() -> None:
    guard = TaskGuard(fakeredis.FakeRedis())
    assert guard.first_alert("tiersync.sync", {"mode": "full"}, 86400)
    assert not guard.first_alert("tiersync.sync", {"mode": "full"}, 86400)
    assert guard.first_alert("tiersync.sync", {"mode": "incremental"}, 86400)  # other arguments: their own alert
    assert guard.first_alert("tiersync.sync", {"mode": "full"}, 0) and guard.first_alert("tiersync.sync",
                                                                                          {"mode": "full"}, 0)


def test_a_window_is_claimed_by_one_message_which_keeps_it_when_delivered_again() -> None:
    client = fakeredis.FakeRedis()
    guard = TaskGuard(client)
    assert guard.claim_window("tiersync.sync", BEAT, "from-beat-1", 300)
    assert not guard.claim_window("tiersync.sync", BEAT, "from-beat-2", 300)  # a second beat, same window
    assert guard.claim_window("tiersync.sync", BEAT, "from-beat-1", 300)  # the same message, redelivered
    assert guard.claim_window("tiersync.sync", {"mode": "full", "trigger": "beat"}, "full-1", 300)  # other entry
    (key,) = [k for k in client.keys("tiersync:beat-window:*") if client.get(k) == b"from-beat-1"]
    assert 0 < client.pttl(key) <= 270_000  # shorter than one interval: the next on-time beat always runs


def test_the_alert_names_the_task_and_escapes_what_it_shows() -> None:
    entry = {"task": "tiersync.resync", "task_id": "abc", "kwargs": {"account_ids": ["<!channel>"]}, "deliveries": 3}
    message = dead_letter_message(entry, DEAD_LETTER_KEY)
    text = json.dumps(message)
    assert "tiersync.resync" in message["text"] and DEAD_LETTER_KEY in text and "each of 3 deliveries" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


# -- the tasks, delivered eagerly --------------------------------------------------------------------------------------
@pytest.fixture
def delivered(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[tuple[fakeredis.FakeRedis, list[str]]]:
    """worker.tasks with an in-memory Redis and a run_request that only records which runs happened."""
    import worker.tasks as tasks

    client = fakeredis.FakeRedis()
    runs: list[str] = []
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    monkeypatch.setenv("TIERSYNC_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(tasks, "redis_client", lambda url: client)

    def run_request(request: Any, trigger: str) -> RunRecord:
        runs.append(f"{request.mode}/{trigger}")
        return RunRecord(mode=request.mode, dry_run=False, exit_code=ExitCode.OK)

    monkeypatch.setattr(tasks, "run_request", run_request)
    yield client, runs


def test_a_second_beats_message_in_the_same_window_is_skipped(delivered: tuple[Any, list[str]]) -> None:
    from worker.tasks import sync

    client, runs = delivered
    assert sync.apply(kwargs=BEAT, task_id="beat-a-1").get() == 0
    assert sync.apply(kwargs=BEAT, task_id="beat-b-1").get() == 0  # the other beat's message: skipped
    assert sync.apply(kwargs=BEAT, task_id="beat-a-1").get() == 0  # beat-a-1 redelivered: still its window
    assert sync.apply(kwargs={"mode": "incremental", "trigger": "manual"}, task_id="m-1").get() == 0  # not beat
    assert runs == ["incremental/beat", "incremental/beat", "incremental/manual"]
    assert not client.keys(PREFIX + "*")  # every delivery ended: no count left


def test_a_message_whose_worker_keeps_dying_is_dead_lettered_with_one_alert(
        delivered: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.tasks import DEAD_LETTERED, MAX_DELIVERIES, resync

    client, runs = delivered
    with SlackReceiver() as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        for task_id in ("poison-1", "poison-2"):  # the same poison, queued twice
            client.set(PREFIX + task_id, MAX_DELIVERIES)  # MAX_DELIVERIES deliveries died with their worker
            assert resync.apply(kwargs={"account_ids": ["001A00000000001AAA"]}, task_id=task_id).get() == DEAD_LETTERED
        assert runs == []  # never run again
        letters = TaskGuard(client).dead_letters()
        assert [(d["task_id"], d["deliveries"]) for d in letters] == [("poison-2", 3), ("poison-1", 3)]
        assert len(slack.messages) == 1  # I7: one alert for the same task and arguments
        assert "tiersync.resync" in json.dumps(slack.messages[0]) and slack.url not in json.dumps(slack.messages[0])
    client.set(PREFIX + "fine", MAX_DELIVERIES - 1)  # one death short of the limit: it still runs
    assert resync.apply(kwargs={"account_ids": ["001A00000000001AAA"]}, task_id="fine").get() == 0
    assert runs == ["ids/manual"]


def test_a_run_that_needs_a_person_is_alerted_once_then_recovered_once(
        delivered: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault matrix rows 8, 11 and 17: a lost role, a quota stop, a refused plan page a person once (I7)."""
    import worker.tasks as tasks

    outcomes = iter([
        (ExitCode.AUTH, "zendesk: 403 Forbidden <!channel> on GET /api/v2/triggers", "give the token an admin role"),
        (ExitCode.AUTH, "zendesk: 403 Forbidden <!channel> on GET /api/v2/triggers", "give the token an admin role"),
        (ExitCode.PLAN_REFUSED, "plan would replace the tier of 40 of 100 organizations", "check with --dry-run"),
        (ExitCode.LOCKED, "another run holds the lock", ""),  # passes: neither an alert nor a recovery
        (ExitCode.PARTIAL, "", ""),  # the run went through (rows rejected are retried next run): recovered
        (ExitCode.OK, "", ""),
        (ExitCode.OK, "", ""),
    ])

    def run_request(request: Any, trigger: str) -> RunRecord:
        code, error, hint = next(outcomes)
        return RunRecord(mode=request.mode, dry_run=False, exit_code=code, error=error or None, hint=hint)

    monkeypatch.setattr(tasks, "run_request", run_request)
    with SlackReceiver() as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        sent = []
        for n in range(7):
            tasks.sync.apply(kwargs={"mode": "full", "trigger": "manual"}, task_id=f"run-{n}").get()
            sent.append(len(slack.messages))
        texts = [json.dumps(message) for message in slack.messages]
    assert sent == [1, 1, 2, 2, 3, 3, 3]  # the auth failure once, the refusal (a new failure), one recovery
    assert "exit 3" in slack.messages[0]["text"] and "admin role" in texts[0]
    assert "&lt;!channel&gt;" in texts[0] and "<!channel>" not in texts[0]  # the error is shown as text
    assert "exit 6" in slack.messages[1]["text"]
    assert "runs again" in slack.messages[2]["text"]
