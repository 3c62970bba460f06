"""Kept report summaries and the alert state: in a real Redis server and in files, the same behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis

from worker.core.errors import StateStoreError
from worker.io.reports import FileReportStore, RedisReportStore, prune_report_files

pytestmark = pytest.mark.integration


@pytest.fixture(params=["redis", "files"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "files":
        yield FileReportStore(tmp_path, "acme.zendesk.com", keep=3)
        return
    url = os.environ.get("TIERSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    client.delete("tiersync:reports:acme.zendesk.com", "tiersync:alert:acme.zendesk.com")
    yield RedisReportStore(client, "acme.zendesk.com", keep=3)
    client.delete("tiersync:reports:acme.zendesk.com", "tiersync:alert:acme.zendesk.com")


def test_the_newest_summaries_are_kept_newest_first(store) -> None:  # type: ignore[no-untyped-def]
    assert store.previous() is None and store.alert_state() is None
    for n in range(5):
        store.append({"report_id": f"r{n}", "drift_keys": [f"k{n}"]})
    assert [s["report_id"] for s in store.recent(10)] == ["r4", "r3", "r2"]  # keep=3
    assert store.previous()["report_id"] == "r4"
    store.save_alert_state('{"fingerprint": "abc"}')
    assert store.alert_state() == '{"fingerprint": "abc"}'


def test_an_unwritable_report_directory_is_a_state_error_naming_it(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    with pytest.raises(StateStoreError, match=str(blocked)):
        FileReportStore(blocked, "acme", keep=3).append({"report_id": "r"})


def test_only_the_newest_report_files_are_kept(tmp_path: Path) -> None:
    for n in range(4):
        for ext in ("json", "html"):
            (tmp_path / f"reconcile-2026112{n}T000000Z-abcdef.{ext}").write_text("x")
    (tmp_path / "notes.txt").write_text("mine")
    assert prune_report_files(tmp_path, keep=2) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt", "reconcile-20261122T000000Z-abcdef.html", "reconcile-20261122T000000Z-abcdef.json",
        "reconcile-20261123T000000Z-abcdef.html", "reconcile-20261123T000000Z-abcdef.json"]
