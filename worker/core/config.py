"""The tier file (``tiers.yaml``): schema, loading and validation.

One tier list drives everything. Every problem is reported as a :class:`ConfigError` that names
the file, the key path (``tiers[1].tag``) and what to do, before any API call is made.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator
from yaml.reader import ReaderError

from worker.core.conditions import Condition, parse_condition
from worker.core.errors import ConfigError
from worker.core.routing_config import RoutingSettings, TierRouting, TierSla, TierView
from worker.core.schema import Fraction, Strict, Text
from worker.core.yamlload import load_yaml

# Patterns validate whole values with fullmatch: `$` would also match before a final newline, which a YAML
# block scalar (`tag: |`) adds.
_SF_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_TIER_NAME = re.compile(r"[a-z][a-z0-9_]*")
_FIELD_KEY = re.compile(r"(?![0-9]+\Z)[A-Za-z0-9_]+")
# Zendesk stores tags lower-cased and splits them on whitespace, so a tag with capitals or spaces
# would never read back as written ("About tags", support.zendesk.com). We accept the conservative
# set of characters that survive unchanged.
_TAG = re.compile(r"[a-z0-9_\-:/.]{1,80}")
MAX_TIER_FILE_BYTES = 1024 * 1024  # the shipped file is about 3 KiB; even a thousand tiers fit
_WHERE_EXAMPLE = "\"Type = 'Customer' AND (Industry = 'Retail' OR Strategic__c = true)\""



def _field_name(value: str) -> str:
    if not _SF_FIELD.fullmatch(value):
        raise ValueError(f"{value!r} is not a Salesforce field API name")
    return value


FieldName = Annotated[Text, AfterValidator(_field_name)]  # per item, so errors name salesforce.fields[i]


def _soql_condition_problem(text: str) -> str | None:
    """Why ``text`` cannot be wrapped as ``(text)`` safely, or None.

    A light tokenizer, not a SOQL parser: string literals are single-quoted with backslash escapes, and the
    parentheses outside them must balance, so that the condition cannot close the parenthesis tiersync wraps it
    in and widen the query's scope. Positions are 1-based characters.
    """
    opened: list[int] = []
    literal_start: int | None = None
    escaped = False
    for position, char in enumerate(text, start=1):
        if literal_start is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                literal_start = None
        elif char == "'":
            literal_start = position
        elif char == "(":
            opened.append(position)
        elif char == ")":
            if not opened:
                return f"')' at character {position} closes no '('"
            opened.pop()
    if literal_start is not None:
        return f"the string literal opened at character {literal_start} is not closed"
    if opened:
        return f"'(' at character {opened[-1]} is never closed"
    return None


class SalesforceConfig(Strict):
    """Where the tier comes from in Salesforce."""

    object: Text = "Account"
    tier_field: Text | None = None
    fields: tuple[FieldName, ...] = ()
    where: Text | None = None
    max_api_usage_fraction: Fraction = 0.8
    # What an incremental run does with the organization of an account deleted in Salesforce or moved
    # out of ``where``: ``keep`` its value (and list it), or ``clear`` the managed field (and list it).
    on_account_removed: Literal["keep", "clear"] = "keep"

    @field_validator("object", "tier_field")
    @classmethod
    def _api_name(cls, value: str | None) -> str | None:
        if value is not None and not _SF_FIELD.fullmatch(value):
            raise ValueError(f"{value!r} is not a Salesforce API name (letters, digits, underscores)")
        return value

    @field_validator("where")
    @classmethod
    def _where(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or ";" in value):
            raise ValueError("must be a non-empty SOQL condition without ';'")
        problem = _soql_condition_problem(value) if value is not None else None
        if problem:
            raise ValueError(f"{problem}; write one complete condition, e.g. {_WHERE_EXAMPLE}")
        return value


class ZendeskConfig(Strict):
    """Where the tier goes in Zendesk."""

    organization_field: Text = "support_tier"
    organization_field_title: Text = "Support tier"
    # What an incremental run does when the export shows the managed field changed by hand away from the
    # Salesforce tier: ``restore`` the tier (in the same bulk writes) or only ``report`` it.
    on_manual_edit: Literal["restore", "report"] = "restore"
    # How a full run reads every organization: ``list`` (cursor pages of 100, the account-wide budget) or
    # ``export`` (the incremental export from the beginning, 1,000 a page: 10x fewer calls, but only 10
    # requests a minute, so slower; for accounts whose other integrations need the shared budget).
    full_read: Literal["list", "export"] = "list"

    @field_validator("organization_field")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _FIELD_KEY.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid organization field key "
                "(letters, digits and underscores, not only digits)"
            )
        return value


class Tier(Strict):
    """One tier: its name, the agent-facing title, the dropdown tag, and the Salesforce values."""

    name: Text
    title: Annotated[Text, Field(min_length=1)]
    tag: Text
    salesforce_values: tuple[Text, ...] = ()
    routing: TierRouting | None = None
    view: TierView | None = None
    sla: TierSla | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _TIER_NAME.fullmatch(value):
            raise ValueError(f"{value!r} must be lowercase letters, digits and underscores")
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _TAG.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a valid Zendesk tag: use 1-80 lowercase letters, digits or _ - : / ."
            )
        return value


class RuleConfig(Strict):
    """A computed-tier rule: the first rule whose condition holds decides the tier."""

    tier: Text
    when: dict[str, Any]


def _percent_value(value: Any, where: str) -> float:
    """A percentage from 0 to 100: a YAML number, never a boolean, text or .nan."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"must be a percentage from 0 to 100{where}, e.g. 95 (not {value!r}); "
                         "or a mapping of tier names to percentages")
    return float(value)


class ReportSettings(Strict):
    """The service report's options: the minimum SLA achievement, for all tiers or per tier."""

    min_sla_achieved_pct: float | dict[str, float] | None = None

    @field_validator("min_sla_achieved_pct", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict):
            return {str(name): _percent_value(share, f" for {name!r}") for name, share in value.items()}
        return _percent_value(value, "")

    def minimum(self, tier: str) -> float | None:
        """The threshold for ``tier`` (None: no alert)."""
        value = self.min_sla_achieved_pct
        return value.get(tier) if isinstance(value, dict) else value


class _RawTierFile(Strict):
    """The raw shape of ``tiers.yaml``."""

    salesforce: SalesforceConfig
    zendesk: ZendeskConfig = ZendeskConfig()
    tiers: tuple[Tier, ...] = Field(min_length=1)
    rules: tuple[RuleConfig, ...] = ()
    unknown_value: Text = "report"
    max_change_fraction: Fraction = 0.25
    routing: RoutingSettings = RoutingSettings()
    report: ReportSettings = ReportSettings()


class Rule(Strict):
    """A validated rule with its parsed condition."""

    tier: str
    condition: Condition
    index: int


class TierFile(Strict):
    """The validated tier file (``tiers.yaml``) that the rest of tiersync reads."""

    path: str
    salesforce: SalesforceConfig
    zendesk: ZendeskConfig
    tiers: tuple[Tier, ...]
    rules: tuple[Rule, ...]
    unknown_value: Literal["report"] | str
    max_change_fraction: float
    routing: RoutingSettings = RoutingSettings()
    report: ReportSettings = ReportSettings()

    @property
    def tier_names(self) -> tuple[str, ...]:
        """Tier names, highest first."""
        return tuple(tier.name for tier in self.tiers)

    def tier(self, name: str) -> Tier:
        """The tier called ``name``."""
        return next(tier for tier in self.tiers if tier.name == name)

    @property
    def fingerprint(self) -> str:
        """Digest of everything that decides what is written; a change invalidates the watermark.

        That is what is read (object, fields, scope), how tiers are decided (values, rules, order,
        fallback) and where they go (the field key, the tags). Labels and safety knobs write nothing
        that the next run would not plan anyway, so they are left out.
        """
        decisive = self.model_dump(include={"unknown_value"})
        decisive["salesforce"] = self.salesforce.model_dump(exclude={"max_api_usage_fraction", "on_account_removed"})
        decisive["organization_field"] = self.zendesk.organization_field
        # A label decides nothing; routing objects are planned from the live state on every apply.
        decisive["tiers"] = [tier.model_dump(exclude={"title", "routing", "view", "sla"}) for tier in self.tiers]
        decisive["rules"] = [repr(rule.condition) + rule.tier for rule in self.rules]
        return hashlib.sha256(json.dumps(decisive, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def routing_fingerprint(self) -> str:
        """Digest of everything routing is built from; when it changes, the routing is due to be applied."""
        decisive = {"routing": self.routing.model_dump(), "field": self.zendesk.organization_field,
                    "tiers": [tier.model_dump(include={"name", "title", "tag", "routing", "view", "sla"})
                              for tier in self.tiers]}
        return hashlib.sha256(json.dumps(decisive, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def soql_fields(self) -> tuple[str, ...]:
        """Every Salesforce field tiersync reads, Id first, without duplicates."""
        wanted = ["Id", "Name", *( [self.salesforce.tier_field] if self.salesforce.tier_field else []),
                  *self.salesforce.fields, "SystemModstamp"]
        seen: dict[str, str] = {}
        for name in wanted:
            seen.setdefault(name.lower(), name)
        return tuple(seen.values())


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _located(error: dict[str, Any]) -> tuple[str, str]:
    """The key path and the problem of a validation error; a bad mapping key is named as a key, not an index."""
    loc = tuple(error["loc"])
    if loc[-1:] == ("[key]",):  # a key that failed its own type (e.g. an SLA priority): (..., key, "[key]")
        problem = str(error["msg"]).replace("Input should be", "must be", 1)
        return _loc(loc[:-2]), f"key {loc[-2]!r}: {problem}"
    return _loc(loc), _describe(error)


def _non_text_key(data: Any, path: tuple[int | str, ...] = ()) -> tuple[tuple[int | str, ...], Any] | None:
    """The path and the first mapping key that YAML read as something other than text (``1:``, ``true:``), or None.

    Every key of a tier file is a name, so such a key is a mistake; pydantic would report ``true`` as ``1``.
    The loader bounds the depth (yamlload.MAX_DEPTH).
    """
    children: Any = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        if isinstance(data, dict) and not isinstance(key, str):
            return path, key
        found = _non_text_key(value, (*path, key))
        if found is not None:
            return found
    return None


def _describe(error: dict[str, Any]) -> str:
    if error["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{str(error['msg']).replace('Input should be', 'must be', 1)}, not {error['input']!r}"
    if error["type"] == "extra_forbidden":
        return "unknown key; remove it or check its spelling against README.md"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] in ("float_type", "int_type"):
        unquote = "; write a plain number, without quotes" if isinstance(error["input"], str) else ""
        number = "a whole number such as 30" if error["type"] == "int_type" else "a number such as 0.25"
        return f"must be {number}, not {_yaml_kind(error['input'])}{unquote}"
    if error["type"] == "finite_number":
        return "must be a finite number, not .nan or .inf"
    if error["type"] == "string_type":
        quote = "; quote it (e.g. '1') so YAML keeps it as written" if isinstance(error["input"], int | float) else ""
        return f"must be text, not {_yaml_kind(error['input'])}{quote}"
    return str(error["msg"]).removeprefix("Value error, ")


def _yaml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return "null" if value is None else f"a {type(value).__name__}"


def _norm_value(value: str) -> str:
    return value.strip().casefold()


def _check_tiers(raw: _RawTierFile, fail: Any) -> None:
    seen_names: dict[str, int] = {}
    seen_tags: dict[str, int] = {}
    seen_values: dict[str, tuple[int, str]] = {}
    for index, tier in enumerate(raw.tiers):
        if tier.name in seen_names:
            fail(f"tiers[{index}].name", f"duplicate tier name {tier.name!r} (also tiers[{seen_names[tier.name]}])")
        seen_names[tier.name] = index
        if tier.tag in seen_tags:
            fail(f"tiers[{index}].tag", f"duplicate tag {tier.tag!r} (also tiers[{seen_tags[tier.tag]}]); "
                 "each tier needs its own dropdown value")
        seen_tags[tier.tag] = index
        for value in tier.salesforce_values:
            key = _norm_value(value)
            if not key:
                fail(f"tiers[{index}].salesforce_values", "a blank value cannot map to a tier")
            if key in seen_values and seen_values[key][0] != index:
                other = seen_values[key][1]
                fail(f"tiers[{index}].salesforce_values",
                     f"{value!r} also maps to tier {other!r}; a Salesforce value must map to one tier")
            seen_values[key] = (index, tier.name)


def _check_rules(raw: _RawTierFile, fail: Any) -> tuple[Rule, ...]:
    readable = {name.lower() for name in raw.salesforce.fields}
    if raw.salesforce.tier_field:
        readable.add(raw.salesforce.tier_field.lower())
    tier_names = {tier.name for tier in raw.tiers}
    rules = []
    for index, rule in enumerate(raw.rules):
        if rule.tier not in tier_names:
            fail(f"rules[{index}].tier", f"names tier {rule.tier!r}, which is not in tiers")
        try:
            condition = parse_condition(rule.when, f"rules[{index}].when")
        except ValueError as exc:
            fail(*str(exc).split(": ", 1))
        for field in condition.fields():
            if field.lower() not in readable:
                fail(f"rules[{index}].when", f"reads field {field!r}, which is not read from Salesforce; "
                     "add it to salesforce.fields")
        rules.append(Rule(tier=rule.tier, condition=condition, index=index))
    return tuple(rules)


def validate(raw_data: Any, path: str) -> TierFile:
    """Validate parsed YAML into a :class:`TierFile`.

    Raises:
        ConfigError: naming ``path``, the key and the problem.

    """

    def fail(key: str, problem: str) -> None:
        raise ConfigError(f"{path}: {key}: {problem}", hint="fix the tier file; see README.md")

    if not isinstance(raw_data, dict):
        fail("(top level)", "must be a mapping with salesforce, zendesk and tiers keys")
    bad_key = _non_text_key(raw_data)
    if bad_key is not None:
        fail(_loc(bad_key[0]), f"key {bad_key[1]!r} is {_yaml_kind(bad_key[1])}, not text; quote it (e.g. '1') "
                               "or remove it")
    try:
        raw = _RawTierFile.model_validate(raw_data)
    except ValidationError as exc:
        fail(*_located(dict(exc.errors()[0])))
        raise  # unreachable: fail() raises
    _check_tiers(raw, fail)
    if not raw.salesforce.tier_field and not raw.rules:
        fail("salesforce.tier_field", "set a tier field, or define rules, or both")
    rules = _check_rules(raw, fail)
    if raw.unknown_value != "report" and raw.unknown_value not in {t.name for t in raw.tiers}:
        fail("unknown_value", f"{raw.unknown_value!r} must be 'report' or the name of a tier")
    minimums = raw.report.min_sla_achieved_pct
    for name in minimums if isinstance(minimums, dict) else ():
        if name not in {t.name for t in raw.tiers}:
            fail(f"report.min_sla_achieved_pct.{name}", f"{name!r} is not a tier; use a tier name from tiers")
    return TierFile(
        path=path, salesforce=raw.salesforce, zendesk=raw.zendesk, tiers=raw.tiers, rules=rules,
        unknown_value=raw.unknown_value, max_change_fraction=raw.max_change_fraction, routing=raw.routing,
        report=raw.report,
    )


def load_tier_file(path: str | Path) -> TierFile:
    """Read and validate the tier file at ``path``.

    Raises:
        ConfigError: the file is missing, unreadable, larger than MAX_TIER_FILE_BYTES, not YAML, or invalid.

    """
    shown = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_TIER_FILE_BYTES + 1)  # never more: /dev/zero or a runaway file is refused, not read
    except FileNotFoundError:
        raise ConfigError(f"{shown}: file not found",
                          hint="set TIERSYNC_CONFIG to your tier file, or copy config/tiers.yaml") from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror}",
                          hint="check the path and that tiersync may read the file") from None
    if len(raw) > MAX_TIER_FILE_BYTES:
        raise ConfigError(f"{shown}: is larger than {MAX_TIER_FILE_BYTES // 2**20} MiB; a tier file is a few KiB",
                          hint="point TIERSYNC_CONFIG at the tier file itself (config/tiers.yaml)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{shown}: line {line}: is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                          hint="save the tier file as UTF-8") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        where, problem, hint = _yaml_problem(exc, text)
        raise ConfigError(f"{shown}: {where}: {problem}", hint=hint) from None
    return validate(data, shown)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, str, str]:
    """Where, what and the fix, for a YAML error."""
    if isinstance(exc, ReaderError):  # a control character; it carries a position, not a line
        line = text[: exc.position].count("\n") + 1
        shown = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return f"line {line}", f"character {shown} is not allowed in YAML", "remove the control character"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    problem = getattr(exc, "problem", None) or "invalid YAML"
    return where, str(problem), getattr(exc, "hint", "fix the YAML syntax")
