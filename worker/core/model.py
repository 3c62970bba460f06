"""The records that walk the one path: Salesforce accounts and Zendesk organizations."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)  # one per record: no __dict__
class Account:
    """A Salesforce account as tiersync sees it.

    Attributes:
        id: the canonical 18-character id.
        name: the account name, for reports.
        fields: every field read, by API name.
        modstamp: SystemModstamp as Salesforce sent it (ISO 8601), for the incremental watermark.

    """

    id: str
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    modstamp: str | None = None

    def value(self, name: str) -> Any:
        """The value of field ``name``, ignoring letter case as SOQL does (None when absent).

        SOQL field names are case-insensitive and results come back under the canonical API name,
        so a tier file's ``support_tier__c`` must find ``Support_Tier__c``.
        """
        return field_value(self.fields, name)


def field_value(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]``, or the value of the key equal to ``name`` ignoring case (None when absent)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    return next((value for key, value in record.items() if key.lower() == lowered), None)


@dataclass(frozen=True, slots=True)  # one per record: no __dict__
class Organization:
    """A Zendesk organization, reduced to what the plan needs.

    Attributes:
        id: Zendesk organization id.
        name: organization name, for reports.
        external_id: as stored in Zendesk (any case, 15 or 18 characters, or anything else).
        tier_tag: current value of the managed dropdown field (None when unset).
        updated_at: when Zendesk last changed it (unix seconds), when read; :func:`iso_utc` shows it. An int
            is half the size of the ISO text, and a full read holds one per organization (bench/).

    """

    id: int
    name: str
    external_id: str | None
    tier_tag: str | None
    updated_at: int | None = None


def iso_utc(seconds: int | None) -> str | None:
    """Unix seconds as Zendesk writes its times (``2026-01-01T00:00:00Z``); None stays None."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_value(value: object) -> str | None:
    """A dropdown value as read (None when unset), interned.

    A full read holds one per organization and there are only a few distinct tags, so 100,000
    organizations share a handful of strings, not 100,000 copies.
    """
    return None if value in (None, "") else sys.intern(str(value))


@dataclass(frozen=True)
class FieldOption:
    """One option of a dropdown field: ``name`` is the label, ``value`` the tag."""

    id: int | None
    name: str
    value: str


@dataclass(frozen=True)
class OrganizationFieldState:
    """The managed organization field as it exists in Zendesk."""

    id: int
    key: str
    type: str
    title: str
    options: tuple[FieldOption, ...]


@dataclass(frozen=True, slots=True)  # one per record: no __dict__
class WriteResult:
    """Zendesk's verdict on one organization update."""

    organization_id: int
    ok: bool
    error: str = ""


@dataclass(frozen=True, slots=True)  # one per record: no __dict__
class RemovedAccount:
    """An account an incremental read saw leave the scope: deleted, or no longer matching ``where``.

    Attributes:
        id: the canonical 18-character id.
        name: the account name as last read, for reports.
        reason: ``deleted`` (in the recycle bin) or ``out_of_scope`` (no longer matches ``where``).
        modstamp: SystemModstamp as Salesforce sent it, for the watermark.

    """

    id: str
    name: str
    reason: str
    modstamp: str | None = None


@dataclass(frozen=True)
class AccountChanges:
    """What one incremental Salesforce read found: accounts in scope, and accounts that left it."""

    accounts: tuple[Account, ...] = ()
    removed: tuple[RemovedAccount, ...] = ()
    # Salesforce's clock (a Date header, unix seconds) from a response received before the query was
    # sent: a row stamped in an earlier second cannot change again within its second unseen by this read.
    known_before: float | None = None


@dataclass(frozen=True, slots=True)  # one per record: no __dict__
class ChangedOrganization:
    """An organization the incremental export returned, with when it last changed (unix seconds)."""

    organization: Organization
    updated_at: int
    created_at: int | None = None


@dataclass(frozen=True)
class OrganizationExport:
    """One incremental export read, from ``start_time`` to the end of the stream.

    Attributes:
        organizations: every organization delivered (duplicates across pages removed, latest kept).
        end_time: the ``end_time`` of the last page: the next read starts there (None when nothing was read).
        complete: False when more organizations share one second than a page holds, so that the
            export cannot move past that second without skipping some (the caller reads everything).
        too_recent: True when Zendesk refused ``start_time`` as under a minute old (nothing read).

    """

    organizations: tuple[ChangedOrganization, ...] = ()
    end_time: int | None = None
    complete: bool = True
    too_recent: bool = False
