"""A strict YAML reader for hand-written configuration (the tier file).

``yaml.safe_load`` accepts three things a tier file never needs and that hurt when they appear:

- duplicate keys, where the last one silently wins (two ``tiers:`` lists);
- anchors and aliases, which let a 2 KB file expand to gigabytes ("billion laughs");
- unbounded nesting, which ends in a RecursionError inside PyYAML's composer.

:func:`load_yaml` refuses all three with a :class:`RefusedYaml` that carries the line and a hint.
The checks run while the document is composed, before any nested node is built.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

MAX_DEPTH = 50  # nesting levels; the shipped tier file uses 6, a deeply nested rule perhaps 20
_MERGE_TAG = "tag:yaml.org,2002:merge"


class RefusedYaml(yaml.MarkedYAMLError):
    """Valid YAML that a tier file must not contain; ``problem_mark`` says where, ``hint`` what to do."""

    def __init__(self, problem: str, mark: Mark | None, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors, aliases or duplicate keys, and with bounded nesting."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if getattr(event, "anchor", None) is not None:  # an alias (*x) or an anchored node (&x)
            raise RefusedYaml("anchors and aliases are not allowed in the tier file", event.start_mark,
                              "write each value out in full instead of &anchor / *alias")
        if self._depth >= MAX_DEPTH:
            raise RefusedYaml(f"nested more than {MAX_DEPTH} levels deep", event.start_mark,
                              "a tier file needs only a few levels; flatten the structure")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            if not isinstance(key, Hashable):
                continue  # the base class reports an unhashable key
            if key in seen:
                raise RefusedYaml(f"duplicate key {key!r} (first at line {seen[key]})", key_node.start_mark,
                                  "keep one of them; YAML would silently use the last")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse one YAML document strictly (see the module docstring).

    Raises:
        yaml.YAMLError: the text is not YAML; :class:`RefusedYaml` for what a tier file must not contain.

    """
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
