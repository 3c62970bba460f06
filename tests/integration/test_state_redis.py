"""The Redis state store against a real Redis server (REDIS_URL or 127.0.0.1:6379)."""

import os
import uuid

import pytest
import redis

from worker.io.state import RunState, open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TIERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"integration tests need Redis at {url} (.ci/run starts it): {exc}")
    return url


def test_state_survives_a_new_connection(redis_url: str, tmp_path) -> None:
    namespace = f"test_{uuid.uuid4().hex}"
    state = RunState(watermark="2026-01-01T00:00:00.000+0000", config_fingerprint="f", population=3)
    open_store(redis_url, tmp_path, namespace).save(state)
    assert open_store(redis_url, tmp_path, namespace).load() == state
    redis.Redis.from_url(redis_url).delete(f"tiersync:state:{namespace}")


def test_run_lock_on_a_real_redis(redis_url: str, tmp_path) -> None:
    from worker.core.errors import LockedError

    namespace = f"test_{uuid.uuid4().hex}"
    first, second = open_store(redis_url, tmp_path, namespace), open_store(redis_url, tmp_path, namespace)
    with first.lock(), pytest.raises(LockedError), second.lock():
        pass
    with second.lock():
        pass
    assert redis.Redis.from_url(redis_url).exists(f"tiersync:lock:{namespace}") == 0


def test_pacing_is_shared_on_a_real_redis(redis_url: str) -> None:
    from worker.io.ratelimit import RedisPacer

    key = f"tiersync:pace:test:{uuid.uuid4().hex}"
    sleeps: list[float] = []
    first = RedisPacer(redis.Redis.from_url(redis_url), key, sleep=sleeps.append, clock=lambda: 0.0)
    second = RedisPacer(redis.Redis.from_url(redis_url), key, sleep=sleeps.append, clock=lambda: 0.0)
    first.observe({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "1", "ratelimit-reset": "30"})
    second.observe({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "1", "ratelimit-reset": "2"})  # never shortens
    second.before_request()
    assert len(sleeps) == 1 and 29 < sleeps[0] <= 30
    redis.Redis.from_url(redis_url).delete(key)
