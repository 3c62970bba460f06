"""The scheduled path with real processes: a real Redis, and `celery worker` and `celery beat` started from the
Procfile's own lines, against the HTTPS sandbox on a 2-second schedule.

These tests wait on real processes (the only clock here is the operating system's): every wait is a bounded poll.
"""

from __future__ import annotations

import itertools
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT
from tests.integration.conftest import World, expected_tags

pytestmark = pytest.mark.integration
BROKER = os.environ.get("TIERSYNC_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/13")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


METRICS_PORT = _free_port()


def procfile(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"Procfile has no {name} process")


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds}s: {what}")


@pytest.fixture
def processes(world: World, tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    redis.Redis.from_url(BROKER).flushdb()
    env = {**os.environ, **world.sandbox.env(), "REDIS_URL": BROKER, "TIERSYNC_CONFIG": str(world.config_path),
           "TIERSYNC_STATE_DIR": str(tmp_path / "state"), "TIERSYNC_SYNC_INTERVAL": "2",
           "TIERSYNC_FULL_SYNC_INTERVAL": "3600", "TIERSYNC_ROUTING_INTERVAL": "3600",
           "PYTHONPATH": str(ROOT), "TIERSYNC_METRICS_PORT": str(METRICS_PORT),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # the venv's celery
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, **extra: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"{name}-{len(started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(["bash", "-c", procfile(name)], cwd=ROOT, env={**env, **extra}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    redis.Redis.from_url(BROKER).flushdb()


def test_procfile_starts_the_real_processes() -> None:
    assert shlex.split(procfile("worker"))[:4] == ["celery", "-A", "worker", "worker"]
    assert shlex.split(procfile("beat"))[:4] == ["celery", "-A", "worker", "beat"]


def test_a_tier_changed_in_salesforce_reaches_zendesk_within_10_seconds(world: World, processes) -> None:
    expected = expected_tags(world)
    processes("worker")
    processes("beat")
    wait_for(lambda: all(world.tier_of(o) == tag for o, tag in expected.items()), 60,
             "the first scheduled run (a full one: no watermark yet) sets every tier")
    org_id, tag = next(iter(expected.items()))
    new_value, new_tag = ("Starter", "tier_starter") if tag != "tier_starter" else ("Enterprise", "tier_enterprise")
    external = world.sandbox.zendesk.organizations[org_id]["external_id"]
    account_id = next(a for a in world.sandbox.salesforce.accounts if a[:15].lower() == external[:15].lower())
    world.sandbox.salesforce.update_account(account_id, Support_Tier__c=new_value)
    took = wait_for(lambda: world.tier_of(org_id) == new_tag, 10, "the changed tier reaches Zendesk")
    print(f"changed tier reached Zendesk after {took:.1f}s")
    wait_for(lambda: sum("managed-by: tiersync" in (t["description"] or "")  # the tier file's routing was never
                         for t in world.sandbox.zendesk.triggers.values()) == 3,  # applied: the syncs queued it
             20, "routing applied after the sync")
    import urllib.request

    metrics = urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5).read().decode()
    runs = [line for line in metrics.splitlines() if line.startswith("tiersync_runs_total{")]
    assert any('trigger="beat"' in line and 'outcome="ok"' in line for line in runs), metrics[:2000]
    assert "tiersync_organizations_written_total" in metrics and 'tiersync_api_calls_total{service="zendesk"}' in metrics


def test_resync_enqueue_queues_ids_and_no_secret(world: World) -> None:
    redis.Redis.from_url(BROKER).flushdb()
    world.monkeypatch.setenv("REDIS_URL", BROKER)
    account_id = next(iter(world.sandbox.salesforce.accounts))
    run = world.cli("resync", account_id, "--enqueue", "--json")
    assert run.exit_code == 0, run.stderr
    task_id = __import__("json").loads(run.stdout)["task_id"]
    queued = [m.decode() for m in redis.Redis.from_url(BROKER).lrange("celery", 0, -1)]
    assert len(queued) == 1 and task_id in queued[0] and account_id in queued[0]
    for secret in (world.sandbox.zendesk.api_token, world.sandbox.salesforce.access_token):
        assert secret not in queued[0]
    assert world.zendesk_writes() == 0  # nothing ran here
    redis.Redis.from_url(BROKER).flushdb()


def test_resync_enqueue_with_redis_down_is_one_line_and_exit_4(world: World) -> None:
    world.monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    started = time.monotonic()
    run = world.cli("resync", "--all", "--enqueue")
    assert run.exit_code == 4, run.stdout + run.stderr
    assert run.stderr.splitlines()[0].startswith("error: redis: cannot queue the resync")
    assert time.monotonic() - started < 30


def test_a_killed_holders_lock_frees_itself_and_the_next_sync_runs(world: World) -> None:
    """A run holding the lease is SIGKILLed mid-run; an ordinary `sync` waits for the lease to expire and runs."""
    from worker.io.state import namespace_for

    redis.Redis.from_url(BROKER).flushdb()
    namespace = namespace_for(world.sandbox.zendesk_url.removeprefix("https://"))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom worker.io.state import open_store\n"
         f"store = open_store({BROKER!r}, Path('.'), {namespace!r})\n"
         "with store.lock():\n    print('held', flush=True)\n    time.sleep(600)\n"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
    holder.send_signal(signal.SIGKILL)  # dies holding the lock: no release, no more heartbeats
    holder.wait(timeout=10)
    assert redis.Redis.from_url(BROKER).exists(f"tiersync:lock:{namespace}")
    world.monkeypatch.setenv("REDIS_URL", BROKER)
    world.monkeypatch.setenv("TIERSYNC_LOCK_WAIT", "30")
    started = time.monotonic()
    run = world.cli("sync", "--full", "--json")
    waited = time.monotonic() - started
    assert run.exit_code == 0, run.stderr
    assert run.json()["writes"]["updated"] > 0 and waited < 30
    print(f"the dead holder's lock was gone and the sync done after {waited:.1f}s")
    redis.Redis.from_url(BROKER).flushdb()


def test_two_workers_and_two_queued_resyncs_never_run_at_once_nor_write_twice(world: World, processes) -> None:
    import json

    from worker.io.state import namespace_for

    expected = expected_tags(world)
    for _ in range(2):
        processes("worker")
    processes("beat")
    wait_for(lambda: all(world.tier_of(o) == tag for o, tag in expected.items()), 60, "the first scheduled run")
    written: list[int] = []
    zendesk = world.sandbox.zendesk
    create_job = zendesk.create_job

    def recording(items):  # every organization any update_many asks to write, from any worker
        written.extend(int(item["id"]) for item in items)
        return create_job(items)

    zendesk.create_job = recording
    org_id, tag = next(iter(expected.items()))
    new_value, new_tag = ("Starter", "tier_starter") if tag != "tier_starter" else ("Enterprise", "tier_enterprise")
    external = zendesk.organizations[org_id]["external_id"]
    account_id = next(a for a in world.sandbox.salesforce.accounts if a[:15].lower() == external[:15].lower())
    world.sandbox.salesforce.update_account(account_id, Support_Tier__c=new_value)
    world.monkeypatch.setenv("REDIS_URL", BROKER)
    for _ in range(2):  # fired while the 2-second schedule keeps running syncs
        assert world.cli("resync", "--all", "--enqueue").exit_code == 0
    wait_for(lambda: world.tier_of(org_id) == new_tag, 15, "the change reaches Zendesk")
    history_key = f"tiersync:history:{namespace_for(world.sandbox.zendesk_url.removeprefix('https://'))}"
    client = redis.Redis.from_url(BROKER)

    def manual_runs() -> list[dict]:
        runs = [json.loads(raw) for raw in client.lrange(history_key, 0, -1)]
        return [r for r in runs if r["trigger"] == "manual" and r["exit_code"] != 9]

    wait_for(lambda: len(manual_runs()) == 2, 60, "both queued resyncs ran")
    assert written.count(org_id) == 1  # one change, one write, whoever ran first
    runs = sorted((json.loads(raw) for raw in client.lrange(history_key, 0, -1)), key=lambda r: r["started_at"])
    ran = [r for r in runs if r["exit_code"] != 9]
    for before, after in itertools.pairwise(ran):  # never two runs at once
        ended = datetime.fromisoformat(before["started_at"]) + timedelta(seconds=before["duration_seconds"])
        assert datetime.fromisoformat(after["started_at"]) >= ended - timedelta(milliseconds=5), (before, after)


def test_killing_every_worker_mid_write_loses_nothing_and_frees_the_lock(world: World, processes) -> None:
    """SIGKILL every worker while a queued resync's update_many jobs are in flight; then an ordinary sync runs
    within 30 s (the dead lease expires) and every tier is right (the watermark did not move past unapplied work)."""
    from worker.io.state import namespace_for

    expected = expected_tags(world)
    zendesk = world.sandbox.zendesk
    zendesk.job_polls_before_done = 10**6  # jobs stay in flight: the run is stuck mid-write
    workers = [processes("worker") for _ in range(2)]
    world.monkeypatch.setenv("REDIS_URL", BROKER)
    assert world.cli("resync", "--all", "--enqueue").exit_code == 0
    wait_for(lambda: zendesk.count(method="PUT", path="/api/v2/organizations/update_many") >= 1, 30,
             "the queued resync is writing")
    for worker in workers:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    namespace = namespace_for(world.sandbox.zendesk_url.removeprefix("https://"))
    client = redis.Redis.from_url(BROKER)
    assert client.exists(f"tiersync:lock:{namespace}")  # the dead run's lease is still there...
    assert client.get(f"tiersync:state:{namespace}") is None  # ...and it saved no state (no watermark)
    zendesk.job_polls_before_done = 1
    started = time.monotonic()
    run = world.cli("sync", "--json")
    took = time.monotonic() - started
    assert run.exit_code == 0, run.stderr
    assert took < 30 and run.json()["mode"] == "full"
    assert {org: world.tier_of(org) for org in expected} == expected
    print(f"after SIGKILL of every worker, the next sync ran after {took:.1f}s and set every tier")


def test_beat_schedules_the_reconcile_which_writes_its_reports_and_alerts_slack(world: World, processes,
                                                                                 tmp_path: Path) -> None:
    from worker.sandbox.slack import SlackReceiver

    assert world.cli("sync", "--full").exit_code == 0
    org_id = next(iter(expected_tags(world)))
    world.sandbox.zendesk.set_org_field(org_id, "support_tier", None)  # drift for the reconcile to find
    reports = tmp_path / "reports"
    with SlackReceiver() as slack:
        extra = {"TIERSYNC_RECONCILE_INTERVAL": "3", "TIERSYNC_SYNC_INTERVAL": "3600", "TIERSYNC_REPORT_DIR": str(reports),
                 "SLACK_WEBHOOK_URL": slack.url, "TIERSYNC_STATE_DIR": str(world.config_path.parent / "state")}
        processes("worker", **extra)
        processes("beat", **extra)
        wait_for(lambda: reports.exists() and len(list(reports.glob("reconcile-*.html"))) >= 1, 60,
                 "a scheduled reconcile wrote its report files")
        wait_for(lambda: len(slack.messages) >= 1, 20, "the drift alert reached Slack")
        assert {p.suffix for p in reports.iterdir()} == {".json", ".csv", ".html", ".md"}
        document = __import__("json").loads(next(reports.glob("*.json")).read_text())
        assert document["summary"]["totals"]["drift"] == 1 and document["summary"]["has_drift"]
        assert world.tier_of(org_id) is None  # scheduled reconciles report; TIERSYNC_RECONCILE_REPAIR is off
        queued = [m.decode() for m in redis.Redis.from_url(BROKER).lrange("celery", 0, -1)]
        assert all(slack.url not in m for m in queued)  # no secret in a broker message
        assert len(slack.messages) == 1
