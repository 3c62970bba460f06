"""Fault matrix, layer H: row 12, a Salesforce that accepts the request and never answers, over HTTPS.

The sandbox's Salesforce handler blocks on the query until the test lets it go, so the real client's read
timeout (TIERSYNC_HTTP_TIMEOUT) is what ends each attempt; retry waits go to the rig's fake clock.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from tests.integration.test_faults import Rig
from tests.integration.test_faults import rig as rig_fixture
from worker.core.errors import ExitCode

pytestmark = pytest.mark.integration
rig = rig_fixture  # test_faults' fixture: the HTTPS sandbox with 400 accounts and a fake clock for waits


def test_row12_a_hanging_salesforce_times_out_each_attempt_and_the_task_retries_later(rig: Rig) -> None:
    salesforce = rig.sandbox.salesforce
    release = threading.Event()
    handle = salesforce.handle
    hung: list[str] = []

    def hanging(request: Any) -> Any:
        if "/query" in request.path:
            hung.append(request.path)
            release.wait(30)  # no answer: the client's read timeout must fire first
        return handle(request)

    salesforce.handle = hanging  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        record = rig.run(tiersync_http_timeout=0.5, tiersync_max_attempts=2)
    finally:
        release.set()
    took = time.monotonic() - started
    assert record.exit_code == ExitCode.UNREACHABLE and "timed out" in (record.error or "")
    assert record.retryable and record.plan is None  # I5: nothing planned from a read that never came
    assert rig.writes() == 0 and not list(rig.state_dir.glob("state-*.json"))
    assert len(hung) == 2 and took < 10  # each attempt bounded by the timeout, nowhere near a task time limit

    from worker.tasks import _settle

    retries: list[dict[str, Any]] = []

    def retry(**kwargs: Any) -> Exception:
        retries.append(kwargs)
        return RuntimeError("retry")

    with pytest.raises(RuntimeError, match="retry"):  # the task hands it back to Celery with a backoff
        _settle(SimpleNamespace(request=SimpleNamespace(retries=1), retry=retry), record, retry_when_locked=False)
    assert retries == [{"countdown": 30, "max_retries": 5}]
