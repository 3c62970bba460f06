"""Zendesk business-rule objects (triggers, views, SLA policies) in the one canonical form tiersync compares.

The Zendesk adapter converts between this form and each endpoint's own read and write formats (a
view is written with ``all``/``any``/``output`` but read back with ``conditions``/``execution``),
so the core plans on one shape. Ownership is a deterministic marker: every managed object's title
starts with :data:`TITLE_PREFIX` and its description holds a line
``managed-by: tiersync key=<tier>:<kind> digest=<digest>``; ``digest`` is the digest of the
content tiersync wrote, so a later difference tells a hand edit (drift) from a changed tier file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

TITLE_PREFIX = "[tiersync] "
_MARKER = re.compile(r"^managed-by: tiersync key=(?P<key>[a-z0-9_]+:[a-z_]+)(?: digest=(?P<digest>[0-9a-f]{12}))?$",
                     re.MULTILINE)


class Kind(StrEnum):
    """The kinds of routing object tiersync manages, in apply order."""

    TRIGGER = "trigger"
    VIEW = "view"
    SLA_POLICY = "sla_policy"


@dataclass(frozen=True)
class Condition:
    """``{field, operator, value}``; ``value`` is a string, a number or a list of them (OAS)."""

    field: str
    operator: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        """The API's shape."""
        return {"field": self.field, "operator": self.operator, "value": self.value}


@dataclass(frozen=True)
class RuleObject:
    """A trigger, view or SLA policy as tiersync compares it.

    Attributes:
        kind: trigger, view or SLA policy.
        title: the title (managed ones start with TITLE_PREFIX).
        description: the description (managed ones hold the marker line).
        attributes: the compared content, by kind:
            trigger: ``active``, ``category_id`` (str), ``conditions`` ``{"all": [...], "any": [...]}``,
            ``actions`` ``[{"field", "value"}]``;
            view: ``active``, ``conditions`` ``{"all", "any"}``, ``columns`` (list of column ids);
            SLA policy: ``filter`` ``{"all", "any"}``, ``policy_metrics``
            ``[{"priority", "metric", "target", "business_hours"}]``.
        id: Zendesk's id (None before creation).
        position: SLA policies: position among policies (set on create, not compared).

    """

    kind: Kind
    title: str
    description: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    position: int | None = None

    @property
    def marker(self) -> Marker | None:
        """The ownership marker in the description, if any."""
        return parse_marker(self.description)

    def content_digest(self) -> str:
        """Digest of title and attributes: what tiersync wrote, stamped into the marker."""
        text = json.dumps({"title": self.title, "attributes": self.attributes}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def with_id(self, object_id: int) -> RuleObject:
        """A copy carrying Zendesk's id."""
        return replace(self, id=object_id)


@dataclass(frozen=True)
class Marker:
    """What the marker line says: the object's key (``<tier>:<kind>``) and the digest written with it."""

    key: str
    digest: str | None


def marker_line(key: str, digest: str) -> str:
    """The description line that marks an object as tiersync's."""
    return f"managed-by: tiersync key={key} digest={digest}"


def parse_marker(description: str | None) -> Marker | None:
    """The marker in ``description``, or None when the object is not tiersync's."""
    match = _MARKER.search(description or "")
    return Marker(match.group("key"), match.group("digest")) if match else None


@dataclass(frozen=True)
class RoutingDefinitions:
    """Condition (and action) fields Zendesk offers, from the three definitions endpoints."""

    trigger_conditions: frozenset[str] = frozenset()
    trigger_actions: frozenset[str] = frozenset()
    view_conditions: frozenset[str] = frozenset()
    sla_conditions: frozenset[str] = frozenset()
