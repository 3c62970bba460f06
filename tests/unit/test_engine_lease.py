"""A run that loses its lock mid-run stops before its next write and leaves the watermark where it was."""

from __future__ import annotations

from tests.unit.fakes import FakeOrg, FakeSalesforce, FakeZendesk, MemoryStateStore
from tests.unit.helpers import account_id, make_config
from worker.engine import Services, SyncRequest, run_sync
from worker.io.http import CallCounter


def world(lose_after: int | None):
    sf, zd, store = FakeSalesforce("Support_Tier__c"), FakeZendesk(field_key="support_tier"), MemoryStateStore()
    for n in range(250):  # three update_many batches
        sf.add(account_id(n), "Enterprise")
        zd.orgs[1000 + n] = FakeOrg(account_id(n), None, f"Org {n}")
    store.lose_after = lose_after
    return zd, store, Services(sf, zd, store, counter=CallCounter())


def test_a_lost_lease_stops_the_run_before_its_next_write() -> None:
    zd, store, services = world(lose_after=1)  # the first check (before the field write) passes
    record = run_sync(make_config(), services, SyncRequest(mode="full"))
    assert record.exit_code == 9 and "lost mid-run" in (record.error or "")
    assert zd.field_state is not None  # the field was written before the lease went
    assert zd.writes == []  # no organization was
    assert store.saves == 0  # the watermark did not move


def test_a_lease_lost_between_batches_keeps_the_batches_already_written() -> None:
    zd, store, services = world(lose_after=3)  # the field's check, then two batches' checks pass
    record = run_sync(make_config(), services, SyncRequest(mode="full"))
    assert record.exit_code == 9
    assert len(zd.writes) == 200 and store.saves == 0


def test_a_kept_lease_runs_to_the_end() -> None:
    _, store, services = world(lose_after=None)
    assert run_sync(make_config(), services, SyncRequest(mode="full")).exit_code == 0
    assert store.saves == 1 and store.lease.checks == 5  # before the field, before each of 3 batches, before saving
