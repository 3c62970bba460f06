"""Zendesk adapter for per-tier routing: groups, trigger categories, triggers, views and SLA policies.

Requests used, each an operation in Zendesk's OpenAPI spec (paths as the spec writes them, no ``.json``):
``GET /api/v2/groups``, ``GET /api/v2/trigger_categories``, ``GET /api/v2/triggers`` and
``GET /api/v2/views``, all with ``page[size]=100`` (cursor pagination); ``GET /api/v2/slas/policies`` (the
spec gives it no pagination parameters); ``GET /api/v2/{triggers,views,slas/policies}/definitions``;
``POST /api/v2/trigger_categories``; ``POST /api/v2/{triggers,views,slas/policies}``; and
``PUT``/``DELETE /api/v2/{triggers,views,slas/policies}/{id}``.

Every request is a JSON request on the zenpy client's own :class:`~worker.io.http.ServiceSession`, so
timeouts, retries (never for a POST) and typed errors apply. zenpy's objects are not used here, groups
included, because in zenpy 2.0.57:

- trigger categories do not exist (no endpoint, API class or object mentions them);
- ``SlaPolicyApi.create`` and ``.update`` call ``super()`` without ``return``, so they always return None
  (zenpy/lib/api.py);
- ``View`` names only the read format (``conditions``, ``execution``) in its constructor, and a fetched view
  is sent back in that format, which Zendesk refuses: views are written as ``all``/``any``/``output``
  (zenpy issue #225);
- there is no definitions call for triggers or views;
- its list generators cannot tell a complete read from a truncated one: ``CursorResultsGenerator`` asks for
  the URL ``None`` when ``meta.has_more`` is true without ``links.next`` (tried with groups: a TypeError,
  i.e. an internal error, not a refused read), and the offset generator never compares ``count`` with what
  it read (zenpy/lib/generator.py).

Reads are complete or raise (see :meth:`RoutingClient._list`); absence read from a partial list would be a
reason to create duplicates. The canonical form is :func:`worker.core.rules.canonical_attributes`, applied
to what is read and to what is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zenpy import Zenpy

from worker.core.errors import RemoteStateError
from worker.core.rules import Kind, RoutingDefinitions, RuleObject, canonical_attributes
from worker.io.zendesk_json import ZendeskJson


@dataclass(frozen=True)
class _Endpoint:
    """Where one kind lives: its path under /api/v2, and its JSON keys for one object and for a list."""

    path: str
    one: str
    many: str
    cursor: bool  # the spec lists cursor pagination (page[size]) for this list


_ENDPOINTS = {
    Kind.TRIGGER: _Endpoint("triggers", "trigger", "triggers", cursor=True),
    Kind.VIEW: _Endpoint("views", "view", "views", cursor=True),
    Kind.SLA_POLICY: _Endpoint("slas/policies", "sla_policy", "sla_policies", cursor=False),
}


class RoutingClient:
    """Reads and writes Zendesk's routing objects in tiersync's canonical form (a ``RoutingTarget``).

    Args:
        client: the zenpy client from :func:`worker.io.zendesk.connect`; its ServiceSession and its base
            URL (including a pinned host) are used, no new session is made.

    """

    def __init__(self, client: Zenpy) -> None:
        try:
            self._json = ZendeskJson(client)
        except TypeError:
            raise TypeError("RoutingClient needs the zenpy client from worker.io.zendesk.connect (a ServiceSession)")\
                from None

    def groups(self) -> dict[str, int]:
        """Every group that is not deleted, name -> id; two live groups with one name are an error."""
        found: dict[str, int] = {}
        for group in self._list("groups", "groups"):
            if group.get("deleted") is True:
                continue
            name = str(group.get("name") or "")
            if name in found:
                raise RemoteStateError(f"zendesk: two groups are called {name!r}",
                                       hint="rename one of them in Zendesk, so routing can tell them apart")
            found[name] = _id(group, "group")
        return found

    def definitions(self) -> RoutingDefinitions:
        """The condition fields of triggers, views and SLA policies, and the trigger action fields."""
        triggers = self._definitions("triggers/definitions")
        views = self._definitions("views/definitions")
        slas = self._definitions("slas/policies/definitions")
        return RoutingDefinitions(
            trigger_conditions=_names(triggers, ("conditions_all", "conditions_any"), "subject"),
            trigger_actions=_names(triggers, ("actions",), "subject"),
            view_conditions=_names(views, ("conditions_all", "conditions_any"), "subject"),
            sla_conditions=_names(slas, ("all", "any"), "value"))

    def find_category(self, name: str) -> str | None:
        """The id of the trigger category called exactly ``name`` (the oldest, if several are), or None."""
        categories = self._list("trigger_categories", "trigger_categories")
        ids = [str(c["id"]) for c in categories if c.get("name") == name and c.get("id") is not None]
        return min(ids, key=lambda i: (len(i), i)) if ids else None

    def create_category(self, name: str) -> str:
        """Create a trigger category called ``name``; returns its id (a string, as Zendesk gives it)."""
        answer = self._send("POST", "trigger_categories", body={"trigger_category": {"name": name}})
        category = _object(answer, "trigger_category", "POST /api/v2/trigger_categories")
        if category.get("id") is None:
            raise RemoteStateError("zendesk: POST /api/v2/trigger_categories answered without an id")
        return str(category["id"])

    def list_rules(self, kind: Kind) -> list[RuleObject]:
        """Every trigger, view or SLA policy, managed or not, in canonical form; complete or raises."""
        endpoint = _ENDPOINTS[kind]
        return [_rule(kind, raw, f"GET /api/v2/{endpoint.path}")
                for raw in self._list(endpoint.path, endpoint.many, cursor=endpoint.cursor)]

    def create_rule(self, rule: RuleObject) -> RuleObject:
        """POST ``rule`` in its kind's write format; returns the created object, read from the answer.

        Never retried here (a POST is not idempotent): after a failure, the caller looks the object up
        by its marker before trying again.
        """
        endpoint = _ENDPOINTS[rule.kind]
        return self._write("POST", endpoint.path, rule)

    def update_rule(self, rule: RuleObject) -> RuleObject:
        """PUT the whole content of ``rule`` (its ``id`` set); returns the object as Zendesk now has it."""
        if rule.id is None:
            raise ValueError(f"update_rule needs the {rule.kind}'s id: {rule.title!r}")
        endpoint = _ENDPOINTS[rule.kind]
        return self._write("PUT", f"{endpoint.path}/{rule.id}", rule)

    def delete_rule(self, kind: Kind, rule_id: int) -> None:
        """Delete one trigger, view or SLA policy."""
        self._send("DELETE", f"{_ENDPOINTS[kind].path}/{int(rule_id)}")

    def _write(self, method: str, path: str, rule: RuleObject) -> RuleObject:
        endpoint = _ENDPOINTS[rule.kind]
        answer = self._send(method, path, body={endpoint.one: _WRITERS[rule.kind](rule)})
        where = f"{method} /api/v2/{path}"
        return _rule(rule.kind, _object(answer, endpoint.one, where), where)

    def _definitions(self, path: str) -> Mapping[str, Any]:
        answer = self._send("GET", path)
        return _object(answer, "definitions", f"GET /api/v2/{path}")

    def _list(self, path: str, key: str, *, cursor: bool = True) -> list[dict[str, Any]]:
        """Every item of a list endpoint, complete or raising (worker.io.zendesk_json)."""
        return self._json.items(path, key, cursor=cursor)

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              body: Mapping[str, Any] | None = None) -> Any:
        """One JSON request through the ServiceSession; the decoded answer (None when it has no body)."""
        return self._json.send(method, path, params=params, body=body)


def _object(answer: Any, key: str, where: str) -> dict[str, Any]:
    found = answer.get(key) if isinstance(answer, Mapping) else None
    if not isinstance(found, dict):
        raise RemoteStateError(f"zendesk: {where} answered without a {key!r} object")
    return found


def _id(raw: Mapping[str, Any], what: str) -> int:
    try:
        return int(raw["id"])
    except (KeyError, TypeError, ValueError):
        raise RemoteStateError(f"zendesk: a {what} came without a numeric id") from None


def _names(definitions: Mapping[str, Any], parts: tuple[str, ...], key: str) -> frozenset[str]:
    return frozenset(str(item[key]) for part in parts for item in definitions.get(part) or []
                     if isinstance(item, Mapping) and item.get(key) is not None)


def _rule(kind: Kind, raw: Mapping[str, Any], where: str) -> RuleObject:
    """A read-format object (list item or write answer) in canonical form."""
    try:
        attributes = canonical_attributes(_READERS[kind](raw))
        position = raw.get("position") if kind is Kind.SLA_POLICY else None
        position = int(position) if position is not None else None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RemoteStateError(f"zendesk: {where}: {kind} {raw.get('id')!r} has an unexpected shape") from None
    return RuleObject(kind=kind, title=str(raw.get("title") or ""), description=str(raw.get("description") or ""),
                      attributes=attributes, id=_id(raw, kind), position=position)


def _conditions(raw: Mapping[str, Any]) -> Any:
    """``conditions``; the deprecated top-level ``all``/``any`` when only those are given."""
    conditions = raw.get("conditions")
    if isinstance(conditions, Mapping) and conditions.keys() & {"all", "any"}:
        return conditions
    return {"all": raw.get("all"), "any": raw.get("any")}


def _read_trigger(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"active": raw.get("active", True), "category_id": raw.get("category_id"),
            "conditions": _conditions(raw), "actions": raw.get("actions")}


def _read_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    execution = raw.get("execution") or {}
    return {"active": raw.get("active", True), "conditions": _conditions(raw),
            "columns": [column["id"] for column in execution.get("columns") or []]}


def _read_sla_policy(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"filter": raw.get("filter"), "policy_metrics": raw.get("policy_metrics")}


_READERS = {Kind.TRIGGER: _read_trigger, Kind.VIEW: _read_view, Kind.SLA_POLICY: _read_sla_policy}


def _write_trigger(rule: RuleObject) -> dict[str, Any]:
    """``{title, description, active, category_id (when set), conditions: {all, any}, actions}``."""
    attributes = canonical_attributes(rule.attributes)
    body: dict[str, Any] = {"title": rule.title, "description": rule.description, "active": attributes["active"],
            "conditions": attributes["conditions"], "actions": attributes["actions"]}
    if attributes.get("category_id") is not None:
        body["category_id"] = attributes["category_id"]
    return body


def _write_view(rule: RuleObject) -> dict[str, Any]:
    """``{title, description, active, all, any, output: {columns}}``: the view write format."""
    attributes = canonical_attributes(rule.attributes)
    return {"title": rule.title, "description": rule.description, "active": attributes["active"],
            "all": attributes["conditions"]["all"], "any": attributes["conditions"]["any"],
            "output": {"columns": attributes["columns"]}}


def _write_sla_policy(rule: RuleObject) -> dict[str, Any]:
    """``{title, description, filter: {all, any}, policy_metrics, position (when set)}``."""
    attributes = canonical_attributes(rule.attributes)
    body: dict[str, Any] = {"title": rule.title, "description": rule.description, "filter": attributes["filter"],
            "policy_metrics": attributes["policy_metrics"]}
    if rule.position is not None:
        body["position"] = rule.position
    return body


_WRITERS = {Kind.TRIGGER: _write_trigger, Kind.VIEW: _write_view, Kind.SLA_POLICY: _write_sla_policy}
