"""Pacing shared through Redis: one worker's pause is every worker's pause, and Redis trouble never fails a run."""

from __future__ import annotations

import fakeredis
import redis

from worker.io.ratelimit import RedisPacer

SPENT = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "3", "ratelimit-reset": "20"}


def pacers(count: int) -> tuple[list[RedisPacer], list[float]]:
    server, sleeps = fakeredis.FakeServer(), []
    made = [RedisPacer(fakeredis.FakeRedis(server=server), "tiersync:pace:zendesk:acme", sleep=sleeps.append,
                       clock=lambda: 0.0) for _ in range(count)]
    return made, sleeps


def test_one_workers_spent_window_pauses_every_worker() -> None:
    (first, second), sleeps = pacers(2)
    second.before_request()
    assert sleeps == []
    first.observe(SPENT)  # worker 1 sees the account's window nearly spent
    second.before_request()  # worker 2 has not seen that response, and waits anyway
    assert len(sleeps) == 1 and 19 < sleeps[0] <= 20


def test_a_shorter_pause_never_shortens_a_longer_one() -> None:
    (first, second), _ = pacers(2)
    first.observe(SPENT)
    second.observe({**SPENT, "ratelimit-reset": "2"})
    assert first._redis.pttl(first.key) > 15_000


def test_plenty_left_means_no_pause() -> None:
    (first,), sleeps = pacers(1)
    first.observe({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "500"})
    first.before_request()
    assert sleeps == [] and first._redis.pttl(first.key) < 0


def test_redis_down_paces_this_process_only() -> None:
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    sleeps: list[float] = []
    pacer = RedisPacer(down, "k", sleep=sleeps.append, clock=lambda: 0.0)
    pacer.observe(SPENT)
    pacer.before_request()
    assert sleeps == [20.0]
