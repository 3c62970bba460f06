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

    @property
    def key(self) -> str:
        """The ``<tier>:<kind>`` key of a marked object (every desired object carries its marker)."""
        marker = self.marker
        if marker is None:
            raise ValueError(f"{self.title!r} carries no tiersync marker")
        return marker.key

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


def canonical_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """``attributes`` spelled the one way Zendesk reads them back, so a written object compares equal to its read.

    Only the keys present are touched (each belongs to one kind, see :class:`RuleObject`):

    - ``conditions`` / ``filter``: both ``all`` and ``any``, a missing or null one as ``[]``; each condition
      exactly ``{field, operator, value}`` (a :class:`Condition` becomes that dict), its value untouched.
    - ``actions``: each exactly ``{field, value}``; an integer value (ids such as ``group_id``) becomes its
      decimal string, inside lists too, as Zendesk spells rule values.
    - ``columns``: a custom field's column is its integer id (a string of digits becomes an int), as the read
      format's ``execution.columns[].id`` gives it; other columns are names.
    - ``policy_metrics``: each exactly ``{priority, metric, target, business_hours}``, sorted by metric and
      priority (their order means nothing to Zendesk).
    - ``active`` is a bool; ``category_id`` a string (or None).

    Raises ValueError (or TypeError) on a shape that is not the documented one.
    """
    result = dict(attributes)
    for key in ("conditions", "filter"):
        if key in result:
            result[key] = _condition_sets(result[key])
    if "actions" in result:
        result["actions"] = [{"field": a["field"], "value": _as_text(a.get("value"))} for a in result["actions"] or []]
    if "columns" in result:
        result["columns"] = [int(c) if isinstance(c, str) and c.isdigit() else c for c in result["columns"] or []]
    if "policy_metrics" in result:
        metrics = [{k: m.get(k) for k in ("priority", "metric", "target", "business_hours")}
                   for m in result["policy_metrics"] or []]
        result["policy_metrics"] = sorted(metrics, key=lambda m: (str(m["metric"]), str(m["priority"])))
    if "active" in result:
        result["active"] = bool(result["active"])
    if result.get("category_id") is not None:
        result["category_id"] = str(result["category_id"])
    return result


def _condition_sets(value: Any) -> dict[str, list[dict[str, Any]]]:
    if value is not None and not isinstance(value, Mapping):
        raise ValueError(f"conditions must be an object with 'all' and 'any', not {type(value).__name__}")
    value = value or {}
    return {part: [_condition(c) for c in value.get(part) or []] for part in ("all", "any")}


def _condition(item: Any) -> dict[str, Any]:
    if isinstance(item, Condition):
        return item.to_json()
    return {"field": item["field"], "operator": item["operator"], "value": item.get("value")}


def _as_text(value: Any) -> Any:
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
