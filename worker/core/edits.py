"""What an incremental run lists beside its plan: hand edits of the managed field, and removed accounts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EditAction(StrEnum):
    """What a run does about a hand edit of the managed field."""

    RESTORE = "restore"  # the Salesforce tier is written back
    REPORT = "report"  # left as found (zendesk.on_manual_edit: report)
    NONE = "none"  # the account's own outcome is rejected: there is no tier to restore


@dataclass(frozen=True)
class ManualEdit:
    """An organization whose managed field someone changed away from the Salesforce tier."""

    organization_id: int
    account_id: str
    account_name: str
    found: str | None
    expected: str | None
    action: EditAction
    detail: str = ""


class RemovalAction(StrEnum):
    """What a run does to the organization of an account that left the scope."""

    KEEP = "keep"
    CLEAR = "clear"


@dataclass(frozen=True)
class Removal:
    """An account deleted in Salesforce or moved out of ``where``, and its organization's fate."""

    account_id: str
    account_name: str
    organization_id: int
    reason: str
    found: str
    action: RemovalAction
    detail: str = ""
