"""The canonical spelling of routing-object attributes (worker.core.rules.canonical_attributes)."""

import pytest

from worker.core.rules import Condition, canonical_attributes


def test_missing_any_and_condition_objects_become_the_api_shape() -> None:
    got = canonical_attributes({"conditions": {"all": [Condition("status", "less_than", "solved"),
                                                       {"field": "group_id", "operator": "is", "value": "7"}]}})
    assert got["conditions"] == {"all": [{"field": "status", "operator": "less_than", "value": "solved"},
                                         {"field": "group_id", "operator": "is", "value": "7"}], "any": []}
    assert canonical_attributes({"filter": None})["filter"] == {"all": [], "any": []}


def test_condition_values_are_left_as_given() -> None:
    conditions = {"all": [{"field": "assignee_id", "operator": "is", "value": 296220096}], "any": None}
    assert canonical_attributes({"conditions": conditions})["conditions"]["all"][0]["value"] == 296220096


def test_integer_action_values_become_strings_and_booleans_do_not() -> None:
    actions = [{"field": "group_id", "value": 20455932}, {"field": "notification_webhook", "value": [12, "{}"]},
               {"field": "priority", "value": "high"}, {"field": "custom_fields_5", "value": True}]
    assert [a["value"] for a in canonical_attributes({"actions": actions})["actions"]] == [
        "20455932", ["12", "{}"], "high", True]


def test_custom_field_columns_are_integer_ids() -> None:
    assert canonical_attributes({"columns": ["status", "360011", 5]})["columns"] == ["status", 360011, 5]


def test_policy_metrics_are_sorted_and_trimmed() -> None:
    metrics = [{"priority": "urgent", "metric": "first_reply_time", "target": 10, "business_hours": False},
               {"priority": "high", "metric": "first_reply_time", "target": 30, "business_hours": True, "x": 1}]
    assert canonical_attributes({"policy_metrics": metrics})["policy_metrics"] == [
        {"priority": "high", "metric": "first_reply_time", "target": 30, "business_hours": True},
        {"priority": "urgent", "metric": "first_reply_time", "target": 10, "business_hours": False}]


def test_category_id_is_a_string_and_active_a_bool() -> None:
    assert canonical_attributes({"category_id": 10026, "active": 1}) == {"category_id": "10026", "active": True}
    assert canonical_attributes({"category_id": None}) == {"category_id": None}


def test_a_shape_that_is_not_conditions_is_refused() -> None:
    with pytest.raises(ValueError, match="conditions must be an object"):
        canonical_attributes({"conditions": [{"field": "status"}]})
