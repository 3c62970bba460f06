"""The Celery app's safety settings hold together, and a task hands retryable failures back to Celery."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery import Celery

from worker.celery import beat_schedule, configure
from worker.core.errors import ExitCode
from worker.core.record import RunRecord
from worker.settings import Settings


@pytest.mark.parametrize("limit", [30, 900, 6 * 3600])
def test_time_limits_stay_under_one_visibility_timeout_set_everywhere(limit: int) -> None:
    app = Celery("test")
    configure(app, Settings(_env_file=None, tiersync_task_time_limit=limit))
    conf = app.conf
    timeouts = {conf.broker_transport_options["visibility_timeout"],
                conf.result_backend_transport_options["visibility_timeout"], conf.visibility_timeout}
    assert len(timeouts) == 1  # the shortest of the three would win (celery#7651)
    assert conf.task_soft_time_limit < conf.task_time_limit < timeouts.pop()
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result


def test_intervals_as_short_as_a_second_reach_the_schedule() -> None:
    schedule = beat_schedule(Settings(_env_file=None, tiersync_sync_interval=1))
    assert schedule["incremental-sync"]["schedule"] == 1
    assert {entry["task"] for entry in schedule.values()} == {"tiersync.sync", "tiersync.routing_apply",
                                                              "tiersync.reconcile", "tiersync.service_report"}
    weekly = beat_schedule(Settings(_env_file=None))["service-report"]
    assert weekly["schedule"] == 7 * 86400 and weekly["kwargs"] == {"trigger": "beat"}
    daily = beat_schedule(Settings(_env_file=None))["reconcile"]
    assert daily["schedule"] == 86400 and daily["kwargs"] == {"trigger": "beat"}  # no secret in task arguments


class Retry(Exception):
    pass


def fake_task(retries: int = 0) -> SimpleNamespace:
    calls: list[dict] = []

    def retry(**kwargs: object) -> Retry:
        calls.append(kwargs)
        return Retry()

    return SimpleNamespace(name="tiersync.sync", request=SimpleNamespace(retries=retries), retry=retry, calls=calls)


def test_a_long_retry_after_goes_back_to_celery_as_a_countdown() -> None:
    from worker.tasks import MAX_RETRIES, _settle

    record = RunRecord(mode="incremental", dry_run=False, exit_code=ExitCode.RATE_LIMITED, retryable=True,
                       retry_after=3600.0)
    task = fake_task()
    with pytest.raises(Retry):
        _settle(task, record, retry_when_locked=False)
    assert task.calls == [{"countdown": 3600.0, "max_retries": MAX_RETRIES}]
    assert _settle(fake_task(retries=MAX_RETRIES), record, retry_when_locked=False) == 5  # bounded


def test_a_scheduled_run_that_finds_the_lock_held_is_skipped_not_queued() -> None:
    from worker.tasks import _settle

    locked = RunRecord(mode="incremental", dry_run=False, exit_code=ExitCode.LOCKED, retryable=True)
    assert _settle(fake_task(), locked, retry_when_locked=False) == 9
    with pytest.raises(Retry):  # a queued resync waits its turn instead
        _settle(fake_task(), locked, retry_when_locked=True)
