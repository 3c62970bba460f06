"""Matching Salesforce accounts to Zendesk organizations by ``external_id`` = Account Id.

Zendesk compares ``external_id`` case-insensitively and organizations may carry the 15- or the
18-character id, so both sides are reduced to the canonical 18-character id first
(:func:`worker.core.ids.try_to_18`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, overload

from worker.core.ids import try_to_18
from worker.core.model import Organization

_T = TypeVar("_T")


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

    by_account: Mapping[str, tuple[Organization, ...]]
    foreign: tuple[Organization, ...]
    without_external_id: int
    padded: Mapping[str, tuple[Organization, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, organizations: Iterable[Organization]) -> OrganizationIndex:
        """Index organizations, de-duplicating repeated reads of the same organization id.

        A full read indexes every organization of the account (100,000 and more), so the usual case, one
        organization per account id, costs one dict entry and a 1-tuple; only ids that several
        organizations claim are grouped in a dict of their own.
        """
        grouped = _Grouping()
        padded = _Grouping()
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
                padded.add(canonical, organization)
            else:
                grouped.add(canonical, organization)
        return cls(grouped.tuples(), tuple(foreign.values()), len(without), padded.tuples())

    def duplicates(self) -> dict[str, tuple[Organization, ...]]:
        """Account ids that more than one organization claims."""
        if isinstance(self.by_account, _Claims):
            return dict(self.by_account.several)
        return {key: orgs for key, orgs in self.by_account.items() if len(orgs) > 1}


class _Grouping:
    """Organizations by canonical account id: one entry per id, a group only where several claim it."""

    def __init__(self) -> None:
        self.single: dict[str, Organization] = {}
        self.several: dict[str, dict[int, Organization]] = {}

    def add(self, key: str, organization: Organization) -> None:
        """Note that ``organization`` claims ``key`` (a repeated read of the same organization id replaces it)."""
        group = self.several.get(key)
        if group is not None:
            group[organization.id] = organization
            return
        first = self.single.setdefault(key, organization)
        if first.id == organization.id:
            self.single[key] = organization
        else:
            self.several[key] = {first.id: first, organization.id: organization}
            del self.single[key]

    def tuples(self) -> Mapping[str, tuple[Organization, ...]]:
        """Key -> its organizations, sorted by id."""
        several = {key: tuple(sorted(group.values(), key=lambda o: o.id)) for key, group in self.several.items()}
        return _Claims(self.single, several)


class _Claims(Mapping[str, tuple[Organization, ...]]):
    """A read-only map of canonical id -> organizations, without a tuple per key for the usual single claim.

    At 100,000 organizations a 1-tuple each is about 5 MiB; the tuple is made when a key is looked up.
    """

    def __init__(self, single: dict[str, Organization], several: dict[str, tuple[Organization, ...]]) -> None:
        self.single = single
        self.several = several

    def __getitem__(self, key: str) -> tuple[Organization, ...]:
        organization = self.single.get(key)
        return (organization,) if organization is not None else self.several[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.single
        yield from self.several

    def __len__(self) -> int:
        return len(self.single) + len(self.several)

    def __contains__(self, key: object) -> bool:
        return key in self.single or key in self.several

    @overload
    def get(self, key: str, /) -> tuple[Organization, ...] | None: ...

    @overload
    def get(self, key: str, default: _T, /) -> tuple[Organization, ...] | _T: ...

    def get(self, key: str, default: object = None, /) -> object:
        """``self[key]`` or ``default``, without Mapping.get's KeyError round trip (once per account planned)."""
        organization = self.single.get(key)
        if organization is not None:
            return (organization,)
        return self.several.get(key, default)


def external_id_forms(account_id: str) -> tuple[str, str]:
    """The two forms an organization may store for a canonical id: 18- and 15-character."""
    return account_id, account_id[:15]
