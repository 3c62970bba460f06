"""An in-memory RoutingTarget: Zendesk's groups, one trigger category list and the three rule kinds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from worker.core.errors import AuthError, UnreachableError
from worker.core.rules import Kind, RoutingDefinitions, RuleObject

FIELD_KEY = "support_tier"


@dataclass
class FakeRouting:
    groups_by_name: dict[str, int] = field(default_factory=lambda: {
        "Enterprise Support": 11, "Professional Support": 12, "Starter Support": 13})
    categories: dict[str, str] = field(default_factory=dict)
    rules: dict[int, RuleObject] = field(default_factory=dict)
    offered: frozenset[str] = frozenset({f"organization.custom_fields.{FIELD_KEY}", "status", "update_type",
                                         "current_tags"})
    ghost_creates: int = 0  # the next N creates are committed, then fail as a timeout would
    refuse_list: bool = False
    writes: list[tuple[str, Kind | None, int | None]] = field(default_factory=list)
    _next_id: int = 100

    # -- RoutingTarget --------------------------------------------------------------------------
    def groups(self) -> dict[str, int]:
        return dict(self.groups_by_name)

    def definitions(self) -> RoutingDefinitions:
        return RoutingDefinitions(self.offered, frozenset({"group_id", "priority", "current_tags"}), self.offered,
                                  self.offered)

    def find_category(self, name: str) -> str | None:
        return self.categories.get(name)

    def create_category(self, name: str) -> str:
        self.writes.append(("create_category", None, None))
        self.categories[name] = str(9000 + len(self.categories))
        return self.categories[name]

    def list_rules(self, kind: Kind) -> list[RuleObject]:
        if self.refuse_list:
            raise AuthError("zendesk refused the request: the user lacks permission (GET /api/v2/triggers -> 403)")
        return [rule for rule in self.rules.values() if rule.kind is kind]

    def create_rule(self, rule: RuleObject) -> RuleObject:
        self.writes.append(("create", rule.kind, None))
        self._next_id += 1
        stored = replace(rule, id=self._next_id)
        self.rules[self._next_id] = stored
        if self.ghost_creates:
            self.ghost_creates -= 1
            raise UnreachableError("zendesk: 127.0.0.1 timed out")
        return stored

    def update_rule(self, rule: RuleObject) -> RuleObject:
        assert rule.id in self.rules
        self.writes.append(("update", rule.kind, rule.id))
        self.rules[rule.id] = rule
        return rule

    def delete_rule(self, kind: Kind, rule_id: int) -> None:
        self.writes.append(("delete", kind, rule_id))
        del self.rules[rule_id]

    # -- test helpers ---------------------------------------------------------------------------
    def of(self, kind: Kind) -> list[RuleObject]:
        return [rule for rule in self.rules.values() if rule.kind is kind]

    def add_unmanaged(self, kind: Kind, title: str) -> int:
        self._next_id += 1
        self.rules[self._next_id] = RuleObject(kind, title, "made by a person", {"active": True}, self._next_id)
        return self._next_id
