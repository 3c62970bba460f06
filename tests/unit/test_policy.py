import pytest

from tests.unit.helpers import account, make_config
from worker.core.conditions import DataError, parse_condition
from worker.core.policy import DecisionSource, TierPolicy

RULES = [
    {"tier": "enterprise", "when": {"any": [{"field": "ACV__c", "gte": 500000}, {"field": "Strategic__c", "eq": True}]}},
    {"tier": "professional", "when": {"all": [{"field": "Complexity__c", "in": ["High", "Medium"]},
                                              {"not": {"field": "ACV__c", "is_null": True}}]}},
]


@pytest.mark.parametrize(
    ("value", "tier", "source"),
    [
        ("Enterprise", "enterprise", DecisionSource.VALUE),
        ("  tier 1 ", "enterprise", DecisionSource.VALUE),
        ("PROFESSIONAL", "professional", DecisionSource.VALUE),
        ("Platinum", None, DecisionSource.UNKNOWN_VALUE),
        ("", None, DecisionSource.BLANK_VALUE),
        ("   ", None, DecisionSource.BLANK_VALUE),
        (None, None, DecisionSource.BLANK_VALUE),
    ],
)
def test_value_map(value: object, tier: str | None, source: DecisionSource) -> None:
    decision = TierPolicy(make_config()).resolve(account(1, value))
    assert (decision.tier, decision.source) == (tier, source)
    assert decision.explanation


@pytest.mark.parametrize(
    ("fields", "tier", "source", "why"),
    [
        ({"ACV__c": 600000, "Strategic__c": False}, "enterprise", DecisionSource.RULE, "rule 1 matched: ACV__c=600000"),
        ({"ACV__c": 10, "Strategic__c": True}, "enterprise", DecisionSource.RULE, "Strategic__c=True"),
        ({"ACV__c": 10, "Strategic__c": False, "Complexity__c": "high"}, "professional", DecisionSource.RULE,
         "rule 2"),
        ({"ACV__c": None, "Strategic__c": False, "Complexity__c": "High"}, "starter", DecisionSource.VALUE,
         "no rule matched; Support_Tier__c='Starter'"),
        ({"ACV__c": "lots", "Strategic__c": False}, None, DecisionSource.INVALID_DATA, "'lots' is not a number"),
        ({"ACV__c": "750000", "Strategic__c": False}, "enterprise", DecisionSource.RULE, "rule 1"),
    ],
)
def test_rules_first_then_value(fields: dict, tier: str | None, source: DecisionSource, why: str) -> None:
    config = make_config(rules=RULES)
    decision = TierPolicy(config).resolve(account(1, "Starter", **fields))
    assert (decision.tier, decision.source) == (tier, source)
    assert why in decision.explanation


def test_fallback_tier_for_unknown_values() -> None:
    decision = TierPolicy(make_config(unknown_value="starter")).resolve(account(1, "Platinum"))
    assert decision.tier == "starter"
    assert decision.is_fallback
    assert "falls back to 'starter'" in decision.explanation


def test_rules_only_mode() -> None:
    config = make_config(salesforce={"fields": ["ACV__c", "Strategic__c", "Complexity__c"]}, rules=RULES)
    assert TierPolicy(config).resolve(account(1, None, ACV__c=1, Strategic__c=False)).source is DecisionSource.UNKNOWN_VALUE


@pytest.mark.parametrize(
    ("condition", "record", "expected"),
    [
        ({"field": "X", "eq": "a"}, {"X": " A "}, True),
        ({"field": "X", "ne": "a"}, {"X": "b"}, True),
        ({"field": "X", "eq": None}, {"X": None}, True),
        ({"field": "X", "eq": 5}, {"X": 5.0}, True),
        ({"field": "X", "eq": True}, {"X": "true"}, True),
        ({"field": "X", "gt": 5}, {"X": None}, False),
        ({"field": "X", "lt": 5}, {"X": 4}, True),
        ({"field": "X", "lte": 5}, {"X": 5}, True),
        ({"field": "X", "not_in": ["a", "b"]}, {"X": "c"}, True),
        ({"field": "X", "is_null": False}, {"X": ""}, False),
        ({"field": "x", "eq": 1}, {"X": 1}, True),  # field names are case-insensitive, like SOQL
    ],
)
def test_field_tests(condition: dict, record: dict, expected: bool) -> None:
    assert parse_condition(condition, "w").evaluate(record)[0] is expected


def test_boolean_is_not_a_number() -> None:
    with pytest.raises(DataError):
        parse_condition({"field": "X", "gt": 1}, "w").evaluate({"X": True})


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"field": "X"}, "exactly one operator"),
        ({"field": "X", "eq": 1, "ne": 2}, "exactly one operator"),
        ({"field": "X", "like": "a"}, "unknown key 'like'"),
        ({"any": [{"field": "X", "eq": 1}], "all": []}, "must be the only key"),
        ({"field": "X", "in": "a"}, "non-empty list"),
        ({"field": "X", "eq": [1]}, "must be a string, number, boolean or null"),
        ({"field": "X", "is_null": "yes"}, "true or false"),
        ([], "must be a mapping"),
    ],
)
def test_bad_conditions(condition: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_condition(condition, "rules[0].when")


def test_tier_field_is_found_in_any_letter_case() -> None:
    config = make_config(salesforce={"tier_field": "support_tier__C", "fields": []})
    decision = TierPolicy(config).resolve(account(1, "Professional"))  # the record has Support_Tier__c
    assert (decision.tier, decision.source) == ("professional", DecisionSource.VALUE)


def test_accounts_with_one_value_share_one_decision_and_rules_decide_each_account() -> None:
    from tests.unit.helpers import account, make_config
    from worker.core.policy import TierPolicy

    policy = TierPolicy(make_config())
    first, second, other = (policy.resolve(account(n, value)) for n, value in ((1, "Enterprise"), (2, "Enterprise"),
                                                                               (3, "Tier 1")))
    assert first is second and first.tier == other.tier == "enterprise" and first is not other
    assert policy.resolve(account(4, True)) is not policy.resolve(account(5, 1))  # True and 1 are not one value
    ruled = TierPolicy(make_config(rules=[{"tier": "starter", "when": {"field": "ACV__c", "lt": 10}}]))
    small, large = ruled.resolve(account(6, "Enterprise", ACV__c=5)), ruled.resolve(account(7, "Enterprise", ACV__c=50))
    assert (small.tier, large.tier) == ("starter", "enterprise")
