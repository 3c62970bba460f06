import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG
from worker.core import config
from worker.core.conditions import parse_condition
from worker.core.errors import ConfigError, ExitCode

BASE = """
salesforce:
  tier_field: Support_Tier__c
  fields: [AnnualContractValue__c, Strategic__c]
tiers:
  - {name: enterprise, title: Enterprise, tag: tier_enterprise, salesforce_values: [Enterprise, Tier 1]}
  - {name: starter, title: Starter, tag: tier_starter, salesforce_values: [Starter]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiers.yaml"
    path.write_text(text)
    return path


def test_example_config_loads() -> None:
    loaded = config.load_tier_file(EXAMPLE_CONFIG)
    assert loaded.tier_names == ("enterprise", "professional", "starter")
    assert loaded.soql_fields[0] == "Id"
    assert "SystemModstamp" in loaded.soql_fields
    assert loaded.max_change_fraction == 0.25


def test_demo_config_is_the_example_config() -> None:
    packaged = Path(config.__file__).resolve().parent.parent / "demo-tiers.yaml"
    assert packaged.read_text() == EXAMPLE_CONFIG.read_text()


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (BASE + "bogus: 1\n", "bogus", "unknown key"),
        (BASE.replace("tier_field:", "tier_feild:"), "salesforce.tier_feild", "unknown key"),
        (BASE.replace("name: starter", "name: enterprise"), "tiers[1].name", "duplicate tier name"),
        (BASE.replace("tag: tier_starter", "tag: tier_enterprise"), "tiers[1].tag", "duplicate tag"),
        (BASE.replace("tag: tier_starter", "tag: Tier Starter"), "tiers[1].tag", "not a valid Zendesk tag"),
        (BASE.replace("tag: tier_starter", "tag: ''"), "tiers[1].tag", "not a valid Zendesk tag"),
        (BASE.replace("salesforce_values: [Starter]", "salesforce_values: [' tier 1 ']"),
         "tiers[1].salesforce_values", "also maps to tier 'enterprise'"),
        (BASE + "rules:\n  - {tier: gold, when: {field: Strategic__c, eq: true}}\n", "rules[0].tier",
         "not in tiers"),
        (BASE + "rules:\n  - {tier: starter, when: {field: Missing__c, eq: 1}}\n", "rules[0].when",
         "not read from Salesforce"),
        (BASE + "rules:\n  - {tier: starter, when: {field: AnnualContractValue__c, gte: big}}\n",
         "rules[0].when.gte", "must be a number"),
        (BASE + "rules:\n  - {tier: starter, when: {any: []}}\n", "rules[0].when.any", "non-empty list"),
        (BASE + "unknown_value: gold\n", "unknown_value", "must be 'report' or the name of a tier"),
        (BASE + "max_change_fraction: 2\n", "max_change_fraction", "less than or equal to 1"),
        (BASE.replace("tier_field: Support_Tier__c", "tier_field: Support Tier"), "salesforce.tier_field",
         "not a Salesforce API name"),
        (BASE + "zendesk: {organization_field: '123'}\n", "zendesk.organization_field", "not a valid"),
        ("salesforce: {}\ntiers: []\n", "tiers", "at least 1"),
        ("- just\n- a list\n", "(top level)", "must be a mapping"),
        (BASE.replace("  tier_field: Support_Tier__c\n", ""), "salesforce.tier_field", "or define rules"),
        # issue 7: numbers must be numbers; true is not 1.0 and "0.5" is not 0.5
        (BASE + "max_change_fraction: true\n", "max_change_fraction", "must be a number"),
        (BASE + "max_change_fraction: '0.5'\n", "max_change_fraction", "must be a number"),
        (BASE + "max_change_fraction: .nan\n", "max_change_fraction", "finite number"),
        (BASE.replace("  fields:", "  max_api_usage_fraction: yes\n  fields:"), "salesforce.max_api_usage_fraction",
         "must be a number"),
        (BASE.replace("  fields:", "  max_api_usage_fraction: '0.8'\n  fields:"),
         "salesforce.max_api_usage_fraction", "must be a number"),
        (BASE.replace("salesforce_values: [Starter]", "salesforce_values: [1]"), "tiers[1].salesforce_values[0]",
         "quote it"),
        (BASE.replace("title: Starter", "title: 123"), "tiers[1].title", "quote it"),
        (BASE.replace("tag: tier_starter", "tag: 5"), "tiers[1].tag", "quote it"),
        (BASE + "rules:\n  - {tier: starter, when: {field: AnnualContractValue__c, gte: .nan}}\n",
         "rules[0].when.gte", "finite number"),
        (BASE + "rules:\n  - {tier: starter, when: {field: AnnualContractValue__c, eq: .inf}}\n",
         "rules[0].when.eq", "finite number"),
        # issue 19: keys YAML reads as numbers or booleans, and fractions out of range, are named plainly
        (BASE + "true: 1\n", "(top level)", "key True is the boolean true, not text; quote it"),
        (BASE + "report: {min_sla_achieved_pct: {1: 90}}\n", "report.min_sla_achieved_pct",
         "key 1 is the number 1, not text"),
        (BASE.replace("salesforce_values: [Starter]}", "salesforce_values: [Starter], sla: {first_reply_time: "
                      "{urgentt: 30}}}"), "tiers[1].sla.first_reply_time", "key 'urgentt': must be 'low', 'normal'"),
        (BASE + "max_change_fraction: -0.1\n", "max_change_fraction", "must be greater than 0, not -0.1"),
        (BASE + "max_change_fraction: 0\n", "max_change_fraction", "must be greater than 0, not 0"),
    ],
)
def test_invalid_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load_tier_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert problem in message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, "salesforce: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        config.load_tier_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        config.load_tier_file(tmp_path / "nope.yaml")


def test_fingerprint_changes_with_mapping_only(tmp_path: Path) -> None:
    first = config.load_tier_file(write(tmp_path, BASE))
    same = config.load_tier_file(write(tmp_path, BASE + "max_change_fraction: 0.5\n"))
    other = config.load_tier_file(write(tmp_path, BASE.replace("[Starter]", "[Starter, Basic]")))
    retitled = config.load_tier_file(write(tmp_path, BASE.replace("title: Starter", "title: Starter plan")))
    assert first.fingerprint == same.fingerprint == retitled.fingerprint
    assert first.fingerprint != other.fingerprint


def test_whole_numbers_are_accepted_for_fractions(tmp_path: Path) -> None:
    text = BASE.replace("  fields:", "  max_api_usage_fraction: 1\n  fields:") + "max_change_fraction: 1\n"
    loaded = config.load_tier_file(write(tmp_path, text))
    assert loaded.max_change_fraction == 1.0 and isinstance(loaded.max_change_fraction, float)
    assert loaded.salesforce.max_api_usage_fraction == 1.0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tiers[0].tag", "tier_enterprise\n"),
        ("tiers[0].name", "enterprise\n"),
        ("salesforce.tier_field", "Support_Tier__c\n"),
        ("salesforce.object", "Account\n"),
        ("salesforce.fields[0]", "AnnualContractValue__c\n"),
        ("zendesk.organization_field", "support_tier\n"),
    ],
)
def test_a_trailing_newline_is_not_valid(key: str, value: str) -> None:
    """Issue 12: `$` matches before a final newline, so `tag: |` block scalars slipped through."""
    data = yaml.safe_load(BASE)
    data.setdefault("zendesk", {})["organization_field"] = "support_tier"
    target: Any = data
    parts = key.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value
    with pytest.raises(ConfigError) as caught:
        config.validate(data, "tiers.yaml")
    assert str(caught.value).startswith(f"tiers.yaml: {key}: "), str(caught.value)


def test_block_scalar_tag_with_its_newline_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("  - {name: starter, title: Starter, tag: tier_starter, salesforce_values: [Starter]}\n",
                        "  - name: starter\n    title: Starter\n    tag: |\n      tier_starter\n")
    with pytest.raises(ConfigError, match=r"tiers\[1\]\.tag: 'tier_starter\\n' is not a valid Zendesk tag"):
        config.load_tier_file(write(tmp_path, text))


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("Type = 'Customer') OR (Name != ''", "')' at character 18 closes no '('"),
        ("(Type = 'Customer'", "'(' at character 1 is never closed"),
        ("Name = 'Acme", "string literal opened at character 8 is not closed"),
        ("Name = 'it\\'s'", None),
        ("Name = 'a\\\\') OR (Name != 'b'", "')' at character 13 closes no '('"),
        ("Type = 'Customer'; DELETE", "without ';'"),
        ("   ", "non-empty"),
        ("Type = 'Customer' AND (Name LIKE '%(%' OR Name = ')')", None),
        ("((Type = 'Customer'))", None),
    ],
)
def test_where_must_be_one_closed_condition(tmp_path: Path, where: str, problem: str | None) -> None:
    """Issue 11: build_query wraps where in parentheses; an unbalanced one escapes them and widens the scope."""
    text = BASE.replace("  fields:", f"  where: {json.dumps(where)}\n  fields:")
    path = write(tmp_path, text)
    if problem is None:
        assert config.load_tier_file(path).salesforce.where == where
        return
    with pytest.raises(ConfigError) as caught:
        config.load_tier_file(path)
    assert str(caught.value).startswith(f"{path}: salesforce.where: "), str(caught.value)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (BASE + "tiers:\n  - {name: gold, title: Gold, tag: tier_gold, salesforce_values: [Gold]}\n", 8, "tiers"),
        (BASE.replace("  fields:", "  tier_field: Other__c\n  fields:"), 4, "tier_field"),
        (BASE.replace("title: Starter,", "title: Starter, title: Basic,"), 7, "title"),
        (BASE + "rules:\n  - {tier: starter, when: {field: Strategic__c, eq: true, eq: false}}\n", 9, "eq"),
    ],
)
def test_duplicate_keys_are_refused_with_their_line(tmp_path: Path, text: str, line: int, key: str) -> None:
    """Issue 13: the last duplicate used to win silently."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load_tier_file(path)
    assert str(caught.value).startswith(f"{path}: line {line}, "), str(caught.value)
    assert f"duplicate key {key!r}" in str(caught.value)
    assert caught.value.exit_code == ExitCode.CONFIG


_LAUGHS = "".join(f"\n      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else 'lol'}]" for i in range(10))
BILLION_LAUGHS = BASE + "rules:\n  - tier: starter\n    when:\n      field: Strategic__c\n      eq: true" + _LAUGHS + "\n"


@pytest.mark.parametrize(
    "text",
    [
        BASE + "x: &a {field: Strategic__c, eq: true}\n",
        BASE + "rules:\n  - tier: starter\n    when: &cond {field: Strategic__c, eq: true}\n"
               "  - tier: enterprise\n    when: *cond\n",
        BILLION_LAUGHS,
    ],
)
def test_anchors_and_aliases_are_refused(tmp_path: Path, text: str) -> None:
    """Issue 14: nested aliases ("billion laughs") took gigabytes before validation even started."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load_tier_file(path)
    assert re.match(rf"{re.escape(str(path))}: line \d+, column \d+: anchors and aliases are not allowed", str(caught.value))


@pytest.mark.parametrize("text", [
    BASE + "x: " + "[" * 3000 + "]" * 3000 + "\n",
    BASE + "x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    BASE + "x:\n" + "".join("  " * i + "- \n" for i in range(1, 200)) + "\n",
])
def test_deep_nesting_is_a_config_error_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: nested more than 50 levels deep"):
        config.load_tier_file(path)


def test_deeply_nested_condition_is_refused_without_recursion() -> None:
    node: dict[str, Any] = {"field": "Strategic__c", "eq": True}
    for _ in range(3000):
        node = {"not": node}
    with pytest.raises(ValueError, match=r"nested more than \d+ levels"):
        parse_condition(node, "rules[0].when")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (BASE.encode("latin-1") + "# caf\xe9\n".encode("latin-1"), "is not UTF-8"),
        (BASE.encode() + b"x: \x00\n", "not allowed in YAML"),
    ],
)
def test_undecodable_tier_file_is_a_config_error(tmp_path: Path, data: bytes, problem: str) -> None:
    """Issue 15a: a Latin-1 tier file ended in exit 1 (UnicodeDecodeError)."""
    path = tmp_path / "tiers.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        config.load_tier_file(path)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)
    assert problem in str(caught.value)
    assert caught.value.exit_code == ExitCode.CONFIG


def test_unreadable_tier_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r": cannot read: ") as caught:
        config.load_tier_file(tmp_path)  # a directory: IsADirectoryError, like a permission error an OSError
    assert caught.value.exit_code == ExitCode.CONFIG and caught.value.hint


def test_a_tier_file_larger_than_1_mib_is_refused_without_reading_it_all(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE + "#" * config.MAX_TIER_FILE_BYTES)
    with pytest.raises(ConfigError, match=r": is larger than 1 MiB; a tier file is a few KiB") as caught:
        config.load_tier_file(path)
    assert caught.value.exit_code == ExitCode.CONFIG and "TIERSYNC_CONFIG" in caught.value.hint
    write(tmp_path, BASE + "#" * (config.MAX_TIER_FILE_BYTES - len(BASE) - 1))  # exactly at the cap: fine
    assert config.load_tier_file(path).tier_names == ("enterprise", "starter")
