"""Matching Salesforce accounts to Zendesk organizations by ``external_id`` = Account Id.

Zendesk compares ``external_id`` case-insensitively and organizations may carry the 15- or the
18-character id, so both sides are reduced to the canonical 18-character id first
(:func:`worker.core.ids.try_to_18`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from worker.core.ids import try_to_18
from worker.core.model import Organization


@dataclass(frozen=True)
class OrganizationIndex:
    """Organizations grouped by the canonical account id their external_id names.

    Attributes:
        by_account: canonical id -> organizations (more than one means a duplicate).
        foreign: organizations whose external_id is set but is not a Salesforce id.
        without_external_id: count of organizations with no external_id (not ours to judge).
        padded: canonical id -> organizations whose external_id names it with surrounding
            whitespace. Zendesk stores such an id as given and ``show_many?external_ids=`` only
            finds exact (case-insensitive) values, so incremental runs can never find these; full
            runs leave them unmatched too, so that both kinds of run behave alike, and report them.

    """

    by_account: dict[str, tuple[Organization, ...]]
    foreign: tuple[Organization, ...]
    without_external_id: int
    padded: dict[str, tuple[Organization, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, organizations: Iterable[Organization]) -> OrganizationIndex:
        """Index organizations, de-duplicating repeated reads of the same organization id."""
        grouped: dict[str, dict[int, Organization]] = defaultdict(dict)
        padded: dict[str, dict[int, Organization]] = defaultdict(dict)
        foreign: dict[int, Organization] = {}
        without = set()
        for organization in organizations:
            if not organization.external_id or not organization.external_id.strip():
                without.add(organization.id)
                continue
            canonical = try_to_18(organization.external_id)
            if canonical is None:
                foreign[organization.id] = organization
            elif organization.external_id != organization.external_id.strip():
                padded[canonical][organization.id] = organization
            else:
                grouped[canonical][organization.id] = organization
        return cls(_sorted(grouped), tuple(foreign.values()), len(without), _sorted(padded))

    def duplicates(self) -> dict[str, tuple[Organization, ...]]:
        """Account ids that more than one organization claims."""
        return {key: orgs for key, orgs in self.by_account.items() if len(orgs) > 1}


def _sorted(grouped: dict[str, dict[int, Organization]]) -> dict[str, tuple[Organization, ...]]:
    return {key: tuple(sorted(orgs.values(), key=lambda o: o.id)) for key, orgs in grouped.items()}


def external_id_forms(account_id: str) -> tuple[str, str]:
    """The two forms an organization may store for a canonical id: 18- and 15-character."""
    return account_id, account_id[:15]
