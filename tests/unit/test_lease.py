"""The run lock as a lease: renewed only while ours, released only by us, waited for on a fake clock."""

from __future__ import annotations

import fakeredis
import pytest

from worker.core.errors import LockedError, LockLostError
from worker.io.lease import Lease, RedisLease, held


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_renewal_extends_only_our_own_lock() -> None:
    lease = RedisLease(fakeredis.FakeRedis(), "tiersync:lock:acme", lease_seconds=15)
    assert lease.take("ours")
    lease._redis.pexpire(lease.key, 1000)
    assert lease.renew("ours") and lease._redis.pttl(lease.key) > 14_000
    lease._redis.set(lease.key, "theirs")  # expired and taken by another run meanwhile
    assert not lease.renew("ours")
    assert lease._redis.get(lease.key) == b"theirs" and lease._redis.pttl(lease.key) < 0  # not extended
    lease.release("ours")
    assert lease._redis.get(lease.key) == b"theirs"  # never deletes someone else's lock


def test_a_lost_lease_stops_the_next_write() -> None:
    state = Lease("ours")
    state.check()
    state.lost_reason = "another run holds it now, or it expired"
    with pytest.raises(LockLostError, match="lost mid-run") as caught:
        state.check()
    assert caught.value.exit_code == 9


def test_waiting_takes_the_lock_once_its_holder_lets_go() -> None:
    lease = RedisLease(fakeredis.FakeRedis(), "tiersync:lock:acme")
    assert lease.take("other run")
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 3:
            lease.release("other run")

    with held(lease, wait=30, clock=clock, sleep=sleep, heartbeat=False) as state:
        assert state.description.startswith('{"host"')
        assert 3 <= clock.now < 4
    assert lease.holder() is None  # released at the end


def test_giving_up_after_the_wait_names_the_holder() -> None:
    lease = RedisLease(fakeredis.FakeRedis(), "tiersync:lock:acme")
    assert lease.take('{"host": "worker-7", "pid": 42}')
    clock = Clock()
    with pytest.raises(LockedError, match="worker-7") as caught, held(lease, wait=30, clock=clock,
                                                                        sleep=clock.sleep, heartbeat=False):
        pass
    assert caught.value.exit_code == 9 and 30 <= clock.now < 31
