"""Fault matrix, layer F: rows 1, 2 and 3 over the in-memory fakes, through the engine's one path (`run_sync`).

The fault is injected inside a fake at the exact step the row names: a worker that dies right after Zendesk
committed a create (row 1), a second delivery of the same run arriving while the first holds the lock (row 2),
and a lease lost between two write batches while another run takes over (row 3).
"""

from __future__ import annotations

from typing import Any

import fakeredis

from tests.unit.fake_routing import FakeRouting
from tests.unit.fakes import FakeOrg, FakeSalesforce, FakeZendesk, MemoryStateStore
from tests.unit.helpers import TIERS, account_id, make_config
from worker.core.errors import ExitCode
from worker.core.rules import RuleObject
from worker.engine import ROUTING_SECTIONS, Services, SyncRequest, run_sync
from worker.io.http import CallCounter
from worker.io.lease import RedisLease, held

ROUTED: list[dict[str, Any]] = [
    {**TIERS[0], "routing": {"group": "Enterprise Support", "priority": "high"}, "view": {},
     "sla": {"first_reply_time": {"urgent": 30}}},
    {**TIERS[1], "routing": {"group": "Professional Support"}, "view": {}, "sla": {"first_reply_time": {"urgent": 60}}},
    {**TIERS[2], "routing": {"group": "Starter Support"}, "view": {}, "sla": {"first_reply_time": {"normal": 480}}},
]
ROUTING = SyncRequest(mode="full", sections=ROUTING_SECTIONS)


class WorkerDied(BaseException):  # a death, not an error: nothing in the run may catch it
    """The process is gone (SIGKILL, OOM): no code of the run runs after this point."""


def routing_world(routing: FakeRouting) -> tuple[Any, Services, MemoryStateStore]:
    store = MemoryStateStore()
    services = Services(FakeSalesforce("Support_Tier__c"), FakeZendesk(field_key="support_tier"), store,
                        routing=routing, counter=CallCounter())
    return make_config(tiers=ROUTED), services, store


def managed_keys(routing: FakeRouting) -> list[str]:
    return sorted(f"{rule.kind}:{rule.title}" for rule in routing.rules.values())


def creates(routing: FakeRouting) -> int:
    return sum(1 for action, _, _ in routing.writes if action == "create")


def test_row1_a_run_killed_after_a_committed_create_is_rerun_and_finds_it_by_key() -> None:
    class DiesAfterFirstCreate(FakeRouting):
        def create_rule(self, rule: RuleObject) -> RuleObject:
            stored = super().create_rule(rule)  # committed in Zendesk...
            if creates(self) == 1:
                raise WorkerDied  # ...and the worker is killed before the run records anything
            return stored

    routing = DiesAfterFirstCreate()
    config, services, store = routing_world(routing)
    try:
        run_sync(config, services, ROUTING)
        raise AssertionError("the run should have died")
    except WorkerDied:
        pass
    assert len(routing.rules) == 1 and store.saves == 0  # one object made, nothing recorded
    rerun = run_sync(config, services, ROUTING)  # the message is delivered again
    assert rerun.exit_code == ExitCode.OK, rerun.error
    keys = managed_keys(routing)
    assert len(keys) == 9 and len(set(keys)) == 9  # I3: one object per managed key
    assert creates(routing) == 9  # the committed one was found by its marker, not created twice
    writes = len(routing.writes)
    again = run_sync(config, services, ROUTING)  # I2: a third delivery writes nothing
    assert again.exit_code == ExitCode.OK and len(routing.writes) == writes


def test_row2_a_second_delivery_while_the_first_runs_finds_the_lock_and_writes_nothing() -> None:
    duplicate: list[Any] = []

    class DuplicateArrivesMidRun(FakeRouting):
        def create_rule(self, rule: RuleObject) -> RuleObject:
            if not duplicate:  # the same message, redelivered after the visibility timeout, runs now
                writes_before = len(self.writes)
                duplicate.append(run_sync(config, services, ROUTING))
                assert len(self.writes) == writes_before  # it wrote nothing
            return super().create_rule(rule)

    routing = DuplicateArrivesMidRun()
    config, services, _ = routing_world(routing)
    first = run_sync(config, services, ROUTING)
    assert duplicate[0].exit_code == ExitCode.LOCKED  # the loser no-ops
    assert first.exit_code == ExitCode.OK, first.error
    assert creates(routing) == 9 and len(set(managed_keys(routing))) == 9  # I3: never two creates
    third = run_sync(config, services, ROUTING)  # and whoever comes after converges to nothing to do
    assert third.exit_code == ExitCode.OK and creates(routing) == 9


def test_row3_a_lease_lost_mid_run_stops_that_run_and_the_next_run_converges() -> None:
    sf, zd, store = FakeSalesforce("Support_Tier__c"), FakeZendesk(field_key="support_tier"), MemoryStateStore()
    for n in range(250):  # three update_many batches
        sf.add(account_id(n), "Enterprise" if n % 2 else "Starter")
        zd.orgs[1000 + n] = FakeOrg(account_id(n), None, f"Org {n}")
    zd.orgs[5000] = FakeOrg("not-ours", "legacy_gold", "Foreign")
    services = Services(sf, zd, store, counter=CallCounter())
    store.lose_after = 2  # the field's check and the first batch's pass; the lease expires before the second
    first = run_sync(make_config(), services, SyncRequest(mode="full"))
    assert first.exit_code == ExitCode.LOCKED and "lost mid-run" in (first.error or "")
    assert len(zd.writes) == 100 and store.saves == 0  # stopped before its next write; the watermark stayed
    store.lose_after = None  # the run that took the expired lock over
    second = run_sync(make_config(), services, SyncRequest(mode="full"))
    assert second.exit_code == ExitCode.OK, second.error
    assert len(zd.writes) == 250 and len({w.organization_id for w in zd.writes}) == 250  # each org written once
    assert all(zd.orgs[1000 + n].tier_tag == ("tier_enterprise" if n % 2 else "tier_starter") for n in range(250))
    assert zd.orgs[5000].tier_tag == "legacy_gold"  # I4: what is not ours is untouched
    third = run_sync(make_config(), services, SyncRequest(mode="incremental"))
    assert third.exit_code == ExitCode.OK and len(zd.writes) == 250  # I2


def test_row3_the_expired_holders_release_neither_fails_nor_frees_the_new_holders_lock() -> None:
    client = fakeredis.FakeRedis()
    lease = RedisLease(client, "tiersync:lock:acme", lease_seconds=15)
    with held(lease, wait=0, heartbeat=False) as first:
        client.delete(lease.key)  # the TTL ran out while the first run was still going
        with held(lease, wait=0, heartbeat=False) as second:  # a second run starts
            assert second.description != first.description
        assert lease.take("third")  # (the second finished and released its own lock)
    assert lease.holder() == "third"  # the first run's release did not delete someone else's lock, nor raise
