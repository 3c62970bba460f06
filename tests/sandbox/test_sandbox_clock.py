"""Clocks for tests that must not sleep: one clock moves both fakes together."""

from __future__ import annotations

import time

import pytest

from worker.sandbox.server import ManualClock, OffsetClock, Sandbox


def test_offset_clock_runs_with_real_time_plus_offset() -> None:
    clock = OffsetClock(base=lambda: 1_000.0)
    assert clock() == 1_000.0
    clock.advance(61.5)
    clock.advance(-0.5)
    assert (clock(), clock.offset) == (1_061.0, 61.0)
    real = OffsetClock(3600)
    assert 3599 < real() - time.time() < 3601


def test_sandbox_advance_moves_both_fakes() -> None:
    sb = Sandbox()  # not started: the clock is shared from construction
    assert isinstance(sb.clock, OffsetClock)
    assert sb.salesforce.clock is sb.clock and sb.zendesk.clock is sb.clock
    before = sb.zendesk.clock()
    sb.advance(3600)
    assert 3600 <= sb.zendesk.clock() - before < 3610 and abs(sb.salesforce.clock() - sb.zendesk.clock()) < 5

    manual = Sandbox(clock=ManualClock(100.0))
    manual.advance(5)
    assert manual.salesforce.clock() == manual.zendesk.clock() == 105.0

    fixed = Sandbox(clock=time.time)
    with pytest.raises(TypeError, match="cannot be moved"):
        fixed.advance(1)
