"""Fault matrix, layer C: real `celery worker` / `celery beat` processes (the Procfile's lines), a real Redis and the
HTTPS sandbox. Each test injects one fault of the reliability matrix and checks the invariants it must keep.

Faults are injected where they happen: the sandbox's request handler SIGKILLs the worker's pool processes right
after Zendesk committed a write (rows 1 and 22), the whole process group gets SIGTERM mid-run (row 21), a message
is put on the queue twice (row 2), two beats run (row 4), Redis is restarted and its keys evicted mid-run (row 23).
Every wait is a bounded poll (`wait_for`); the only clock here is the operating system's.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from tests.conftest import ROOT
from tests.integration.conftest import World, expected_tags
from tests.integration.test_celery import BROKER, wait_for
from tests.integration.test_celery import processes as processes_fixture
from worker.io.state import namespace_for
from worker.io.taskguard import DEAD_LETTER_KEY
from worker.tasks import MAX_DELIVERIES

pytestmark = pytest.mark.integration
GRACE_SECONDS = 10  # the platform's wait between SIGTERM and SIGKILL (Docker's default; Heroku 30, Kubernetes 60)
SMALL = 60  # accounts: enough for two update_many batches' worth of orgs, quick to sync
MANAGED = "managed-by: tiersync"
ROUTING_POSTS = ("/api/v2/triggers", "/api/v2/views", "/api/v2/slas/policies")
Start = Callable[..., subprocess.Popen[bytes]]
processes = processes_fixture  # test_celery's fixture: the Procfile's processes against the sandbox, torn down after


# -- helpers ---------------------------------------------------------------------------------------------------------
def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The prefork pool's processes: the children of the `celery worker` main process (the Procfile line's pid)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == worker.pid:
                children.append(int(entry.name))
    return children


def kill_pool(worker: subprocess.Popen[bytes]) -> int:
    """SIGKILL the pool's processes (an OOM kill); the main process lives on and replaces them."""
    killed = 0
    for pid in pool_processes(worker):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return killed


def send(name: str, broker: str = BROKER, **kwargs: Any) -> str:
    """Queue one task message by name, as beat or `resync --enqueue` would; returns its task id."""
    task_id = str(uuid.uuid4())
    with Celery(broker=broker) as sender:
        sender.send_task(name, kwargs=kwargs, task_id=task_id)
    return task_id


def history(world: World, broker: str = BROKER) -> list[dict[str, Any]]:
    """The run history the workers recorded in Redis, oldest first."""
    key = f"tiersync:history:{namespace_for(world.sandbox.zendesk_url.removeprefix('https://'))}"
    return [json.loads(raw) for raw in reversed(redis.Redis.from_url(broker).lrange(key, 0, -1))]


def managed_titles(world: World) -> list[str]:
    """The titles of every trigger, view and SLA policy tiersync manages (a duplicate shows up twice)."""
    zendesk = world.sandbox.zendesk
    objects = [*zendesk.triggers.values(), *zendesk.views.values(), *zendesk.sla_policies.values()]
    return sorted(o["title"] for o in objects if MANAGED in (o.get("description") or ""))


def routing_posts(world: World) -> int:
    return sum(world.sandbox.zendesk.count(method="POST", path=path) for path in ROUTING_POSTS)


def hook_zendesk(world: World, after: Callable[[str, str, int], None]) -> None:
    """Call ``after(method, path, status)`` inside the sandbox's handler, once Zendesk has served each request."""
    zendesk = world.sandbox.zendesk
    handle = zendesk.handle

    def hooked(request: Any) -> Any:
        response = handle(request)
        after(request.method, request.path.removesuffix(".json"), response.status)
        return response

    zendesk.handle = hooked  # type: ignore[method-assign]


def queue_is_empty(broker: str = BROKER) -> bool:
    """Nothing waiting, reserved or scheduled on the broker (kombu's `celery` list and `unacked` hash)."""
    client = redis.Redis.from_url(broker)
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def image_env(name: str) -> str:
    """The value the Docker image's ENV gives ``name`` (the deployments' environment)."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    (value,) = re.findall(rf"^ENV .*\b{name}=(\S+)", dockerfile, re.MULTILINE)
    return str(value)


def log_text(tmp_path: Path, name: str) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob(f"{name}-*.log")))


def record_update_many_items(world: World) -> list[int]:
    """The organization ids of every update_many item the sandbox receives from now on, in order."""
    written: list[int] = []
    create_job = world.sandbox.zendesk.create_job

    def recording(items: list[dict[str, Any]]) -> Any:
        written.extend(int(item["id"]) for item in items)
        return create_job(items)

    world.sandbox.zendesk.create_job = recording  # type: ignore[method-assign]
    return written


# -- row 1: SIGKILL after the trigger POST, before the outcome is recorded; the message is delivered again ----------
@pytest.mark.parametrize("world", [SMALL], indirect=True)
def test_row1_worker_killed_after_a_trigger_post_is_redelivered_and_creates_no_second_trigger(
        world: World, processes: Start) -> None:
    worker = processes("worker")
    killed: list[int] = []

    def kill_after_first_trigger(method: str, path: str, status: int) -> None:
        if method == "POST" and path == "/api/v2/triggers" and status < 300 and not killed:
            killed.append(kill_pool(worker))  # committed in Zendesk; the run never hears the answer

    hook_zendesk(world, kill_after_first_trigger)
    send("tiersync.routing_apply", trigger="manual")
    wait_for(lambda: bool(killed), 30, "the routing apply posted its first trigger and its worker was killed")
    assert killed[0] >= 1 and worker.poll() is None
    desired = 9  # 3 tiers x (trigger, view, SLA policy) in the example tier file
    wait_for(lambda: any(r["exit_code"] == 0 and r["trigger"] == "manual" for r in history(world)), 60,
             "the redelivered message ran to the end (after the dead run's lease expired)")
    titles = managed_titles(world)
    assert len(titles) == desired and len(set(titles)) == desired, titles  # I3: one object per managed key
    assert routing_posts(world) == desired  # the trigger the killed run made was found, not posted again
    assert world.sandbox.zendesk.count(method="POST", path="/api/v2/triggers") == 3
    send("tiersync.routing_apply", trigger="manual")  # I2: once more changes nothing
    wait_for(lambda: sum(r["exit_code"] == 0 for r in history(world)) == 2, 30, "a second apply")
    assert history(world)[-1]["routing_written"] == 0 and routing_posts(world) == desired


# -- row 2: one message delivered twice at once (a visibility-timeout redelivery while the first still runs) ---------
@pytest.mark.parametrize("world", [SMALL], indirect=True)
def test_row2_one_message_delivered_twice_at_once_writes_every_organization_once(
        world: World, processes: Start) -> None:
    expected = expected_tags(world)
    client = redis.Redis.from_url(BROKER)
    task_id = send("tiersync.sync", mode="full", trigger="beat")
    (message,) = client.lrange("celery", 0, -1)
    client.lpush("celery", message)  # the same payload again, as Redis restores an unacked message
    assert client.llen("celery") == 2 and json.loads(client.lindex("celery", 0))["headers"]["id"] == task_id
    written = record_update_many_items(world)
    processes("worker")  # concurrency 2: both deliveries start together

    def beat_runs() -> list[dict[str, Any]]:
        return [r for r in history(world) if r["trigger"] == "beat"]

    wait_for(lambda: len(beat_runs()) == 2, 60, "both deliveries ran")
    assert {org: world.tier_of(org) for org in expected} == expected  # I1
    assert written and len(written) == len(set(written)) and set(written) <= set(expected)  # never two writes
    runs = beat_runs()
    assert all(r["exit_code"] in (0, 9) for r in runs), runs  # the loser found the lock held (9) or ran after
    assert sorted(r["organizations_written"] for r in runs) == [0, len(written)]  # I2: the other wrote nothing


# -- row 4: two beat processes send every job twice ----------------------------------------------------------------
@pytest.mark.parametrize("world", [SMALL], indirect=True)
def test_row4_two_beats_in_the_same_window_run_each_job_once(world: World, processes: Start, tmp_path: Path) -> None:
    expected = expected_tags(world)
    processes("worker")
    processes("beat")
    processes("beat")
    wait_for(lambda: all(world.tier_of(o) == tag for o, tag in expected.items()), 60, "the first scheduled run")
    wait_for(lambda: "another beat message of this schedule entry ran" in log_text(tmp_path, "worker"), 20,
             "the second beat's message of a window was skipped")
    written = record_update_many_items(world)
    org_id, tag = next(iter(expected.items()))
    new_value, new_tag = ("Starter", "tier_starter") if tag != "tier_starter" else ("Enterprise", "tier_enterprise")
    external = world.sandbox.zendesk.organizations[org_id]["external_id"]
    account_id = next(a for a in world.sandbox.salesforce.accounts if a[:15].lower() == external[:15].lower())
    world.sandbox.salesforce.update_account(account_id, Support_Tier__c=new_value)
    wait_for(lambda: world.tier_of(org_id) == new_tag, 15, "the change reaches Zendesk")
    wait_for(lambda: len(managed_titles(world)) == 9, 30, "routing applied (queued by the syncs)")
    runs_before = len(history(world))
    wait_for(lambda: len(history(world)) >= runs_before + 2, 20, "two more scheduled runs")
    assert written == [org_id]  # I2: one change, one write, whatever the beats sent
    assert len(set(managed_titles(world))) == 9 and routing_posts(world) == 9  # I3


# -- row 21: SIGTERM mid-run (a Heroku dyno restart: every process; a Kubernetes pod: the main process only) -------
@pytest.mark.parametrize("world", [SMALL], indirect=True)
@pytest.mark.parametrize("signalled", ["every process", "main process"])
def test_row21_sigterm_mid_run_puts_the_run_back_on_the_queue_and_the_rerun_converges(
        world: World, processes: Start, signalled: str) -> None:
    expected = expected_tags(world)
    zendesk = world.sandbox.zendesk
    zendesk.job_polls_before_done = 10**6  # the run is stuck mid-write when the platform stops the worker
    worker = processes("worker", REMAP_SIGTERM=image_env("REMAP_SIGTERM"))  # as the image and Heroku run it
    send("tiersync.resync", trigger="manual")
    wait_for(lambda: zendesk.count(method="PUT", path="/api/v2/organizations/update_many") >= 1, 30,
             "the queued resync is writing")
    if signalled == "every process":
        os.killpg(worker.pid, signal.SIGTERM)  # Heroku signals every process of the dyno
    else:
        worker.send_signal(signal.SIGTERM)  # Kubernetes and `docker stop` signal the container's main process
    try:
        worker.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:  # the grace period is over: the platform kills what is left
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    client = redis.Redis.from_url(BROKER)
    assert (client.llen("celery"), client.hlen("unacked")) == (1, 0), "the interrupted run is not back on the queue"
    assert not any(r["exit_code"] == 0 for r in history(world))  # it had not finished
    zendesk.job_polls_before_done = 1
    processes("worker", REMAP_SIGTERM=image_env("REMAP_SIGTERM"))  # the worker comes back
    wait_for(lambda: any(r["exit_code"] == 0 for r in history(world)), 60, "the re-queued resync ran again")
    assert {org: world.tier_of(org) for org in expected} == expected  # I1
    wait_for(queue_is_empty, 10, "nothing left on the queue")
    run = world.cli("sync", "--dry-run", "--json")  # I2: nothing left to do
    assert run.exit_code == 0 and run.json()["writes"]["planned"] == 0, run.stdout


# -- row 22: a poison message that kills its worker on every delivery -----------------------------------------------
@pytest.mark.parametrize("world", [SMALL], indirect=True)
def test_row22_a_message_that_always_kills_its_worker_is_dead_lettered_with_one_alert(
        world: World, processes: Start) -> None:
    from worker.sandbox.slack import SlackReceiver

    crashes: list[str] = []
    with SlackReceiver() as slack:
        worker = processes("worker", SLACK_WEBHOOK_URL=slack.url)

        def crash_on_tickets(method: str, path: str, status: int) -> None:
            if "ticket" in path and kill_pool(worker):
                crashes.append(path)  # e.g. a response too big for the worker's memory: OOM-killed each time

        hook_zendesk(world, crash_on_tickets)
        client = redis.Redis.from_url(BROKER)
        for n in (1, 2):  # the same poison queued twice (two reports): the second is dead-lettered without an alert
            task_id = send("tiersync.service_report", trigger="manual")
            wait_for(lambda n=n: client.llen(DEAD_LETTER_KEY) == n, 60, f"poison message {n} was dead-lettered")
            wait_for(queue_is_empty, 10, "the queue is empty: no redelivery loop")
            assert len(crashes) == n * MAX_DELIVERIES  # bounded: exactly MAX_DELIVERIES deaths per message
            entry = json.loads(client.lindex(DEAD_LETTER_KEY, 0))
            assert (entry["task"], entry["task_id"], entry["deliveries"]) == ("tiersync.service_report", task_id,
                                                                             MAX_DELIVERIES)
        wait_for(lambda: len(slack.messages) >= 1, 10, "the dead-letter alert reached Slack")
        assert len(slack.messages) == 1  # I7: one alert for the same task and arguments in the alert window
        text = json.dumps(slack.messages[0])
        assert "tiersync.service_report" in text and slack.url not in text
        assert worker.poll() is None  # the worker lives on
        assert not client.keys("tiersync:deliveries:*")  # no count left behind


# -- row 23: Redis restarts (every key lost) between runs, and its keys are evicted mid-run --------------------------
class OwnRedis:
    """A redis-server of our own on a free port, without persistence, that the test can restart and flush."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.directory, self.url = directory, f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.answers, 10, "redis-server answers")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # like a crash: nothing saved
            self.process.wait(timeout=10)


class Supervisor:
    """Restarts a process that exited, as the deployments do (`restart: unless-stopped`, a Deployment, Heroku)."""

    def __init__(self, start: Start, name: str, **extra: str) -> None:
        self.start, self.name, self.extra = start, name, extra
        self.process = start(name, **extra)
        self.restarts = 0

    def keep_running(self) -> bool:
        """Start the process again if it exited; always True, so it can sit inside a `wait_for` condition."""
        if self.process.poll() is not None:
            self.process = self.start(self.name, **self.extra)
            self.restarts += 1
        return True


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("world", [SMALL], indirect=True)
def test_row23_redis_restarts_and_evicted_keys_are_reconciled_by_the_next_scheduled_run(
        world: World, own_redis: OwnRedis, processes: Start) -> None:
    expected = expected_tags(world)
    zendesk, salesforce = world.sandbox.zendesk, world.sandbox.salesforce
    worker = Supervisor(processes, "worker", REDIS_URL=own_redis.url)
    beat = Supervisor(processes, "beat", REDIS_URL=own_redis.url)

    def supervised_until(condition: Callable[[], bool]) -> Callable[[], bool]:
        return lambda: worker.keep_running() and beat.keep_running() and condition()

    wait_for(lambda: all(world.tier_of(o) == tag for o, tag in expected.items()), 60, "the first scheduled run")
    wait_for(lambda: len(managed_titles(world)) == 9, 30, "routing applied")
    (failing, tag_a), (changed, tag_b), (evicted, tag_c), (other, tag_d) = list(expected.items())[:4]
    flip = {"tier_starter": ("Enterprise", "tier_enterprise")}

    def change(org: int, tag: str) -> str:
        """Change the tier of the org's account in Salesforce; returns the tag the org should get."""
        value, new_tag = flip.get(tag, ("Starter", "tier_starter"))
        external = zendesk.organizations[org]["external_id"][:15].lower()
        salesforce.update_account(next(a for a in salesforce.accounts if a[:15].lower() == external),
                                  Support_Tier__c=value)
        return new_tag

    # A write Zendesk refuses is a failed row, kept in Redis for the next run to retry...
    zendesk.fail_org_ids = {failing}
    want_a = change(failing, tag_a)
    wait_for(lambda: any(r["failed"] for r in history(world, own_redis.url)), 20, "the failed row is recorded")
    # ...and Redis restarts without its data: the watermark, the failed row, the history, the queue are gone.
    own_redis.stop()
    zendesk.fail_org_ids = set()
    want_b = change(changed, tag_b)
    own_redis.start()
    # The worker may exit here (kombu 5.7 can fail to restore an unacked message while Redis is down:
    # "Unrecoverable error: AttributeError ... 'hostname'"); the deployments restart it, and so does the test.
    wait_for(supervised_until(lambda: world.tier_of(failing) == want_a and world.tier_of(changed) == want_b), 60,
             "the next scheduled run (a full one: no watermark) retried the lost failed row and read the change")
    # Keys evicted while a run is writing: its lock and the state vanish under it.
    evictions: list[int] = []

    def evict_mid_write(method: str, path: str, status: int) -> None:
        if path == "/api/v2/organizations/update_many" and not evictions:
            evictions.append(redis.Redis.from_url(own_redis.url).flushdb())

    hook_zendesk(world, evict_mid_write)
    want_c = change(evicted, tag_c)
    wait_for(lambda: bool(evictions), 20, "a run was writing when the keys went")
    want_d = change(other, tag_d)
    wait_for(supervised_until(lambda: world.tier_of(evicted) == want_c and world.tier_of(other) == want_d), 60,
             "the runs after the eviction reconciled both changes")
    untouched = {org: tag for org, tag in expected.items() if org not in (failing, changed, evicted, other)}
    assert {org: world.tier_of(org) for org in untouched} == untouched
    titles = managed_titles(world)
    assert len(titles) == 9 and len(set(titles)) == 9 and routing_posts(world) == 9  # no duplicates
    assert beat.restarts == 0  # beat rides out a Redis restart
    print(f"the worker was restarted {worker.restarts} time(s) after Redis went away")
