import errno
import json
import os
import tempfile

import fakeredis
import pytest

from worker.core.errors import AuthError, LockedError, StateStoreError, UnreachableError
from worker.io.state import FileStateStore, RedisStateStore, RunState, namespace_for, open_store

STATE = RunState(watermark="2026-01-01T00:00:00.000+0000", config_fingerprint="abc", population=10,
                 failed_ids=("001A00000000001IAA",), salesforce_org="00D000000000001")


def test_file_store_round_trip_and_atomic_replace(tmp_path) -> None:
    store = FileStateStore(tmp_path / "state", "acme_zendesk_com")
    assert store.load() == RunState()
    store.save(STATE)
    assert store.load() == STATE
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["state-acme_zendesk_com.json"]


def test_corrupt_state_counts_as_none(tmp_path) -> None:
    store = FileStateStore(tmp_path, "x")
    store.path.write_text("{not json")
    assert store.load() == RunState(discarded="it is not valid JSON")
    store.path.write_bytes(b"\xff\xfe")
    assert store.load().discarded == "it is not valid JSON"


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ({"watermark": "yesterday"}, "watermark 'yesterday' is not a Salesforce timestamp"),
        ({"watermark": 1700000000}, "is not a Salesforce timestamp"),
        ({"watermark": "2026-01-01T00:00:00Z"}, "is not a Salesforce timestamp"),
        ({"failed_ids": [None]}, "failed_ids is not a list of Salesforce ids"),
        ({"failed_ids": "001A00000000001IAA"}, "failed_ids is not a list"),
        ({"failed_ids": ["not-an-id"]}, "failed_ids is not a list"),
        ({"population": -1}, "population is not a count"),
        ({"population": "12"}, "population is not a count"),
        ({"config_fingerprint": 5}, "config_fingerprint is not a string"),
        ([1, 2], "it is not a JSON object"),
    ],
)
def test_state_that_parses_but_is_wrong_is_discarded_with_the_reason(stored, why) -> None:
    state = RunState.from_json(json.dumps(stored))
    assert state.discarded is not None and why in state.discarded
    assert (state.watermark, state.failed_ids, state.population) == (None, (), 0)


def test_stored_ids_are_canonicalised() -> None:
    state = RunState.from_json(json.dumps({"failed_ids": ["001A00000000001", "001a00000000001iaa"]}))
    assert state.failed_ids == ("001A00000000001IAA", "001A00000000001IAA") and state.discarded is None


def test_unwritable_state_directory_is_a_typed_error_naming_the_file(tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")  # even root cannot create a directory below a file
    store = FileStateStore(blocker / "state", "x")
    with pytest.raises(StateStoreError, match=r"cannot create the run lock .*state-x\.lock") as caught, store.lock():
        pass
    assert "TIERSYNC_STATE_DIR" in caught.value.hint and caught.value.exit_code == 4
    with pytest.raises(StateStoreError, match=r"cannot write .*state-x\.json"):
        store.save(STATE)


def test_full_disk_keeps_the_old_state_and_leaves_no_temp_file(tmp_path, monkeypatch) -> None:
    store = FileStateStore(tmp_path, "x")
    store.save(STATE)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StateStoreError, match="No space left on device") as caught:
        store.save(RunState(watermark="2027-01-01T00:00:00.000+0000"))
    assert "free disk space" in caught.value.hint
    assert store.load() == STATE
    assert [p.name for p in tmp_path.iterdir()] == ["state-x.json"]


def test_wrong_redis_password_is_an_auth_error(monkeypatch) -> None:
    import redis

    store = RedisStateStore(fakeredis.FakeRedis(), "acme")

    def refuse(*args, **kwargs):
        raise redis.AuthenticationError("invalid username-password pair or user is disabled.")

    monkeypatch.setattr(store._redis, "get", refuse)
    with pytest.raises(AuthError, match="REDIS_URL") as caught:
        store.load()
    assert caught.value.exit_code == 3


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
    assert namespace_for("other.zendesk.com") != namespace_for("acme.zendesk.com")
    assert namespace_for("127.0.0.1:8443") != namespace_for("127.0.0.1:9443")


@pytest.mark.parametrize("spelling", ["ACME.zendesk.com", "acme.zendesk.com:443", "acme.zendesk.com.", " acme.zendesk.com"])
def test_every_spelling_of_one_zendesk_shares_a_namespace(spelling: str) -> None:
    assert namespace_for(spelling) == namespace_for("acme.zendesk.com")


@pytest.mark.parametrize("spelling", ["localhost:8443", "LocalHost:8443", "[::1]:8443", "127.0.0.1:8443"])
def test_loopback_spellings_share_a_namespace(spelling: str) -> None:
    assert namespace_for(spelling) == namespace_for("127.0.0.1:8443")
    assert namespace_for("127.0.0.1:8443") == "localhost_8443"


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


@pytest.mark.parametrize(("module", "name", "error", "hint"), [
    (os, "fsync", errno.ENOSPC, "free disk space"),  # a full disk
    (tempfile, "mkstemp", errno.EROFS, "make TIERSYNC_STATE_DIR a directory this user can write"),  # read-only
])
def test_taking_the_file_lock_proves_the_directory_writable(tmp_path, monkeypatch, module, name, error, hint) -> None:
    """Issue 19: a full or read-only state directory stops a writing run before its first Zendesk write."""
    store = FileStateStore(tmp_path, "x")
    store.save(STATE)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(error, os.strerror(error))

    with monkeypatch.context() as patch:
        patch.setattr(module, name, refuse)
        with pytest.raises(StateStoreError, match=rf"cannot write .*state-x\.json: {os.strerror(error)}") as caught, \
                store.lock():
            pytest.fail("the lock was granted")
    assert caught.value.exit_code == 4 and hint in caught.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state-x.json", "state-x.lock"]  # no probe left behind
    assert store.load() == STATE
    with store.lock():  # writable again: granted
        pass
