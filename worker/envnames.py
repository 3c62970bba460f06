"""Spelling checks for tiersync's environment variables.

A misspelled variable is silently ignored by a settings loader, so ``SALESFORCE_USER`` instead of
``SALESFORCE_USERNAME`` would look like "no credentials" and ``tiersync run`` would quietly run the
demo. Every variable with one of tiersync's prefixes must be one tiersync knows.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PREFIXES = ("SALESFORCE_", "ZENDESK_", "TIERSYNC_")
# Read by tiersync's dependencies or tests, not by Settings, but legitimately set by users.
_ALSO_KNOWN = frozenset({"ZENPY_FORCE_NETLOC", "TIERSYNC_TEST_REDIS_URL"})


@dataclass(frozen=True)
class UnknownVariable:
    """A variable with one of tiersync's prefixes that tiersync does not read."""

    name: str
    source: str
    suggestion: str | None

    def describe(self) -> str:
        """``SALESFORCE_USER (in .env): did you mean SALESFORCE_USERNAME?``."""
        guess = f"; did you mean {self.suggestion}?" if self.suggestion else ""
        return f"{self.name} ({self.source}) is not a tiersync variable{guess}"


def unknown_variables(known: Iterable[str], sources: Mapping[str, Iterable[str]]) -> list[UnknownVariable]:
    """Names in ``sources`` (source label -> names) that carry our prefixes but are not ``known``."""
    known_upper = {name.upper() for name in known} | _ALSO_KNOWN
    found: list[UnknownVariable] = []
    for source, names in sources.items():
        for name in sorted({n.upper() for n in names}):
            if name.startswith(PREFIXES) and name not in known_upper:
                close = difflib.get_close_matches(name, sorted(known_upper), n=1, cutoff=0.6)
                found.append(UnknownVariable(name, source, close[0] if close else None))
    return found


def mentions_a_service(sources: Mapping[str, Iterable[str]]) -> bool:
    """True when any Salesforce or Zendesk variable is set, spelled right or not."""
    return any(name.upper().startswith(("SALESFORCE_", "ZENDESK_")) for names in sources.values() for name in names)
