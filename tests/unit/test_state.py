import fakeredis
import pytest

from worker.core.errors import LockedError, UnreachableError
from worker.io.state import FileStateStore, RedisStateStore, RunState, namespace_for, open_store

STATE = RunState(watermark="2026-01-01T00:00:00.000+0000", config_fingerprint="abc", population=10,
                 failed_ids=("001A00000000001AAA",))


def test_file_store_round_trip_and_atomic_replace(tmp_path) -> None:
    store = FileStateStore(tmp_path / "state", "acme_zendesk_com")
    assert store.load() == RunState()
    store.save(STATE)
    assert store.load() == STATE
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["state-acme_zendesk_com.json"]


def test_corrupt_state_counts_as_none(tmp_path) -> None:
    store = FileStateStore(tmp_path, "x")
    store.path.write_text("{not json")
    assert store.load() == RunState()


def test_redis_store_round_trip() -> None:
    store = RedisStateStore(fakeredis.FakeRedis(), "acme")
    store.save(STATE)
    assert store.load() == STATE
    assert store.key == "tiersync:state:acme"


def test_unreachable_redis_is_a_clear_error(tmp_path) -> None:
    store = open_store("redis://127.0.0.1:1/0", tmp_path, "x")
    with pytest.raises(UnreachableError, match="redis: cannot read state"):
        store.load()


def test_namespace_is_per_zendesk_account() -> None:
    assert namespace_for("acme.zendesk.com") == "acme_zendesk_com"
    assert namespace_for("127.0.0.1:8443") == "127_0_0_1_8443"


def test_file_lock_excludes_a_second_run(tmp_path) -> None:
    first, second = FileStateStore(tmp_path, "x"), FileStateStore(tmp_path, "x")
    with first.lock(), pytest.raises(LockedError, match="another tiersync run holds"), second.lock():
        pass
    with second.lock():  # released at exit
        pass


def test_redis_lock_is_exclusive_and_released_only_by_its_owner() -> None:
    server = fakeredis.FakeServer()
    first = RedisStateStore(fakeredis.FakeRedis(server=server), "acme")
    second = RedisStateStore(fakeredis.FakeRedis(server=server), "acme")
    with first.lock():
        assert 0 < first._redis.ttl("tiersync:lock:acme") <= 3600  # a killed holder's lock expires
        with pytest.raises(LockedError, match="tiersync:lock:acme"), second.lock():
            pass
    with second.lock():
        first._redis.set("tiersync:lock:acme", "someone-else")  # expired and re-taken meanwhile
    assert first._redis.get("tiersync:lock:acme") == b"someone-else"  # not deleted by the old owner
