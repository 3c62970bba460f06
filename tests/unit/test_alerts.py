"""The alert decision: one alert per drift fingerprint per window, one recovery, quiet otherwise."""

from __future__ import annotations

import json

import pytest

from worker.core.alerts import AlertState, Decision, decide

HOUR = 3600.0
DAY = 24 * HOUR
T0 = 1_714_564_800.0


def step(state: AlertState, *, drift: bool, fingerprint: str = "f1", now: float = T0,
         repeat_after: float = DAY) -> tuple[Decision, AlertState]:
    return decide(state, has_drift=drift, fingerprint=fingerprint if drift else "e3b0c44298fc1c14", now=now,
                  repeat_after=repeat_after)


def run(*steps: tuple[bool, str, float]) -> list[Decision]:
    """Decisions of successive reconciliations, saving the state after each send (every send succeeds)."""
    state, decisions = AlertState(), []
    for drift, fingerprint, now in steps:
        decision, state = step(state, drift=drift, fingerprint=fingerprint, now=now)
        decisions.append(decision)
    return decisions


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param([(True, "f1", T0)], [Decision.DRIFT], id="first drift"),
        pytest.param([(True, "f1", T0), (True, "f1", T0 + HOUR)], [Decision.DRIFT, Decision.NONE],
                     id="same drift again within the window"),
        pytest.param([(True, "f1", T0), (True, "f1", T0 + HOUR), (True, "f1", T0 + DAY)],
                     [Decision.DRIFT, Decision.NONE, Decision.DRIFT], id="same drift after the window"),
        pytest.param([(True, "f1", T0), (True, "f1", T0 + DAY), (True, "f1", T0 + DAY + HOUR),
                      (True, "f1", T0 + 2 * DAY)],
                     [Decision.DRIFT, Decision.DRIFT, Decision.NONE, Decision.DRIFT],
                     id="the window restarts at each reminder"),
        pytest.param([(True, "f1", T0), (True, "f2", T0 + HOUR)], [Decision.DRIFT, Decision.DRIFT],
                     id="changed fingerprint is new drift"),
        pytest.param([(True, "f1", T0), (True, "f2", T0 + HOUR), (True, "f2", T0 + 2 * HOUR)],
                     [Decision.DRIFT, Decision.DRIFT, Decision.NONE], id="the new fingerprint is then deduplicated"),
        pytest.param([(True, "f1", T0), (False, "", T0 + HOUR), (False, "", T0 + 2 * HOUR),
                      (False, "", T0 + 3 * DAY)],
                     [Decision.DRIFT, Decision.RECOVERY, Decision.NONE, Decision.NONE], id="cleared: one recovery"),
        pytest.param([(False, "", T0), (False, "", T0 + DAY), (False, "", T0 + 9 * DAY)],
                     [Decision.NONE] * 3, id="no drift ever"),
        pytest.param([(True, "f1", T0), (False, "", T0 + HOUR), (True, "f1", T0 + 2 * HOUR)],
                     [Decision.DRIFT, Decision.RECOVERY, Decision.DRIFT],
                     id="the same drift coming back after a recovery is alerted"),
    ],
)
def test_decision_table(steps: list[tuple[bool, str, float]], expected: list[Decision]) -> None:
    assert run(*steps) == expected


def test_new_state_says_what_was_sent() -> None:
    decision, state = step(AlertState(), drift=True, fingerprint="abc", now=T0)
    assert decision is Decision.DRIFT and state == AlertState("abc", T0, True)
    decision, state = step(state, drift=False, now=T0 + 5)
    assert decision is Decision.RECOVERY and state == AlertState("abc", T0 + 5, False)


def test_nothing_to_send_returns_the_state_unchanged() -> None:
    state = AlertState("abc", T0, True)
    assert step(state, drift=True, fingerprint="abc", now=T0 + 1) == (Decision.NONE, state)
    quiet = AlertState("abc", T0, False)
    assert step(quiet, drift=False, now=T0 + 1) == (Decision.NONE, quiet)


def test_a_failed_send_is_tried_again_next_time() -> None:
    """The caller saves the new state only after a send succeeded: a failure leaves the old state."""
    stored = AlertState()
    decision, _unsaved = step(stored, drift=True, now=T0)  # the send fails: nothing saved
    assert decision is Decision.DRIFT
    assert step(stored, drift=True, now=T0 + 60)[0] is Decision.DRIFT
    alerted = AlertState("f1", T0, True)
    decision, _unsaved = step(alerted, drift=False, now=T0 + 60)  # recovery fails: still outstanding
    assert decision is Decision.RECOVERY
    assert step(alerted, drift=False, now=T0 + 120)[0] is Decision.RECOVERY


def test_repeat_after_zero_alerts_every_run() -> None:
    state = AlertState("f1", T0, True)
    assert step(state, drift=True, fingerprint="f1", now=T0, repeat_after=0)[0] is Decision.DRIFT


def test_a_send_time_in_the_future_does_not_silence_the_drift() -> None:
    state = AlertState("f1", T0 + 30 * DAY, True)
    assert step(state, drift=True, fingerprint="f1", now=T0)[0] is Decision.DRIFT


def test_json_round_trip() -> None:
    for state in (AlertState(), AlertState("f1", T0, True), AlertState("f1", T0 + 0.5, False)):
        assert AlertState.from_json(state.to_json()) == state
    assert AlertState.from_json(AlertState("f1", T0, True).to_json().encode()) == AlertState("f1", T0, True)


@pytest.mark.parametrize(
    "text",
    [
        None, "", b"", "not json", b"\xff\xfe", "[]", "null", "42", '"text"', "{}",
        '{"fingerprint": "f1", "alerted_at": 1.0}',  # drift_active missing
        '{"fingerprint": 7, "alerted_at": 1.0, "drift_active": true}',
        '{"fingerprint": "", "alerted_at": 1.0, "drift_active": true}',
        '{"fingerprint": "f1", "alerted_at": "yesterday", "drift_active": true}',
        '{"fingerprint": "f1", "alerted_at": true, "drift_active": true}',
        '{"fingerprint": "f1", "alerted_at": NaN, "drift_active": true}',
        '{"fingerprint": "f1", "alerted_at": Infinity, "drift_active": true}',
        '{"fingerprint": "f1", "alerted_at": 1.0, "drift_active": "yes"}',
        '{"fingerprint": null, "alerted_at": 1.0, "drift_active": true}',  # active drift with no fingerprint
        '{"fingerprint": "f1", "alerted_at": null, "drift_active": true}',
        json.dumps({"fingerprint": "f" * 200, "alerted_at": 1.0, "drift_active": True}),
    ],
)
def test_bad_stored_state_is_no_state(text: str | bytes | None) -> None:
    assert AlertState.from_json(text) == AlertState()


def test_an_integer_send_time_is_accepted() -> None:
    assert AlertState.from_json('{"fingerprint": "f1", "alerted_at": 5, "drift_active": true}') == \
        AlertState("f1", 5.0, True)
