"""The pure arithmetic of run state: next watermark and what of a stored state a run may trust."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.core.runstate import RunState, format_stamp, next_watermark, parse_stamp, usable_state

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ORG = "00D000000000001"


@pytest.mark.parametrize(
    ("stamps", "previous", "expected"),
    [
        ([], None, None),
        ([None], None, None),
        ([], "2026-01-01T00:00:00.000+0000", "2026-01-01T00:00:00.000+0000"),
        (["2026-01-02T00:00:00.000+0000", "2026-01-03T00:00:00.000+0000"], "2026-01-01T00:00:00.000+0000",
         "2026-01-03T00:00:00.000+0000"),
        (["2025-12-31T00:00:00.000+0000"], "2026-01-01T00:00:00.000+0000", "2026-01-01T00:00:00.000+0000"),  # no step back
        (["2026-01-01T00:00:00.999+0000", "2026-01-01T00:00:01.000+0000"], None, "2026-01-01T00:00:01.000+0000"),
        (["2026-01-01T01:00:00.000+0100"], None, "2026-01-01T00:00:00.000+0000"),  # another offset, same instant
        (["2026-01-01T00:00:05Z"], None, "2026-01-01T00:00:05.000+0000"),  # ISO form, stored canonical
        (["not a stamp", "2026-01-01T00:00:00.000+0000"], None, "2026-01-01T00:00:00.000+0000"),
    ],
)
def test_next_watermark(stamps: list[str | None], previous: str | None, expected: str | None) -> None:
    assert next_watermark(stamps, previous) == expected


def test_canonical_stamps_round_trip() -> None:
    stamp = "2026-03-04T05:06:07.089+0000"
    moment = parse_stamp(stamp)
    assert moment is not None and format_stamp(moment) == stamp
    assert parse_stamp("2026-03-04T05:06:07") is None  # no offset: not a Salesforce stamp


@pytest.mark.parametrize(
    ("stored", "kept", "note"),
    [
        (RunState(), RunState(), None),
        (RunState("2026-06-01T12:30:00.000+0000", "f", 3, ("x",), ORG), RunState(
            "2026-06-01T12:30:00.000+0000", "f", 3, ("x",), ORG), None),  # within the skew tolerance
        (RunState("2026-06-01T14:00:00.000+0000", "f", 3, (), ORG), RunState(None, "f", 3, (), ORG), "in the future"),
        (RunState("2026-01-01T00:00:00.000+0000", "f", 3, ("x",), "00D000000000002"), RunState(salesforce_org=ORG),
         "belongs to Salesforce org 00D000000000002, not 00D000000000001"),
        (RunState("2026-01-01T00:00:00.000+0000", "f", 3), RunState(salesforce_org=ORG), "org (unknown)"),
        (RunState(discarded="it is not valid JSON"), RunState(salesforce_org=ORG), "because it is not valid JSON"),
    ],
)
def test_usable_state(stored: RunState, kept: RunState, note: str | None) -> None:
    state, said = usable_state(stored, ORG, NOW)
    assert state == kept
    assert (said is None) if note is None else (said is not None and note in said)
