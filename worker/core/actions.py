"""What a plan does to one remote object: the one vocabulary of every plan section.

The field plan uses it today; the routing plan (triggers, views, SLA policies) will too. Like
Terraform's plan actions, a typo is an AttributeError, never a silent "no action".
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """The change planned for one remote object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NONE = "none"
