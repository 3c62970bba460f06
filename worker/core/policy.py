"""Tier resolution: which tier an account belongs to, and why.

Rules (mode 2) are tried first, in order, and the first match decides. Otherwise the tier field
(mode 1) is looked up in each tier's ``salesforce_values`` ignoring case and surrounding
whitespace. A value that maps to nothing is *unknown*; a missing or blank value is *blank*. With
``unknown_value: <tier>`` both fall back to that tier, which the planner never lets downgrade an
organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from worker.core.conditions import DataError
from worker.core.config import TierFile
from worker.core.model import Account


class DecisionSource(StrEnum):
    """What decided (or failed to decide) the tier."""

    RULE = "rule"
    VALUE = "value"
    FALLBACK = "fallback"
    UNKNOWN_VALUE = "unknown_value"
    BLANK_VALUE = "blank_value"
    INVALID_DATA = "invalid_data"


@dataclass(frozen=True, slots=True)  # one per account: no __dict__
class TierDecision:
    """The resolved tier (None when undecided) with a human explanation."""

    tier: str | None
    source: DecisionSource
    explanation: str

    @property
    def is_fallback(self) -> bool:
        """True when the tier comes from ``unknown_value`` rather than the data."""
        return self.source is DecisionSource.FALLBACK


_SHARED_DECISIONS = 10_000  # distinct tier-field values remembered; a free-text field stops sharing past it


class TierPolicy:
    """Resolves accounts to tiers according to one validated tier file."""

    def __init__(self, config: TierFile) -> None:
        self._config = config
        self._value_map = {
            value.strip().casefold(): tier.name for tier in config.tiers for value in tier.salesforce_values
        }
        # Without rules a decision depends on the tier field's value alone: accounts sharing a value share
        # one decision object (a full read decides 100,000 accounts from a handful of values).
        self._by_value: dict[tuple[str, Any], TierDecision] = {}

    def resolve(self, account: Account) -> TierDecision:
        """Decide the tier of ``account`` and explain the decision."""
        if self._config.rules or self._config.salesforce.tier_field is None:
            return self._resolve(account)
        raw = account.value(self._config.salesforce.tier_field)
        try:
            key = (type(raw).__name__, raw)
            shared = self._by_value.get(key)
        except TypeError:  # an unhashable value (a compound field): decided on its own
            return self._resolve(account)
        if shared is None:
            shared = self._resolve(account)
            if len(self._by_value) < _SHARED_DECISIONS:
                self._by_value[key] = shared
        return shared

    def _resolve(self, account: Account) -> TierDecision:
        for rule in self._config.rules:
            try:
                matched, why = rule.condition.evaluate(account.fields)
            except DataError as exc:
                return TierDecision(None, DecisionSource.INVALID_DATA, f"rule {rule.index + 1}: {exc}")
            if matched:
                return TierDecision(rule.tier, DecisionSource.RULE, f"rule {rule.index + 1} matched: {why}")
        field = self._config.salesforce.tier_field
        if field is None:
            return self._undecided(DecisionSource.UNKNOWN_VALUE, "no rule matched")
        raw: Any = account.value(field)
        prefix = "no rule matched; " if self._config.rules else ""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self._undecided(DecisionSource.BLANK_VALUE, f"{prefix}{field} is blank")
        tier = self._value_map.get(str(raw).strip().casefold())
        if tier is None:
            return self._undecided(DecisionSource.UNKNOWN_VALUE,
                                   f"{prefix}{field}={raw!r} is not in any tier's salesforce_values")
        return TierDecision(tier, DecisionSource.VALUE, f"{prefix}{field}={raw!r} maps to tier {tier!r}")

    def _undecided(self, source: DecisionSource, why: str) -> TierDecision:
        fallback = self._config.unknown_value
        if fallback == "report":
            return TierDecision(None, source, why)
        return TierDecision(fallback, DecisionSource.FALLBACK, f"{why}; unknown_value falls back to {fallback!r}")
