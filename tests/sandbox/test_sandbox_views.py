"""Views of the fake Zendesk through raw HTTP: written with all/any/output, read with conditions/execution."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from worker.sandbox.server import Sandbox
from worker.sandbox.zendesk.views import REQUIRED_ALL_MESSAGE

pytestmark = pytest.mark.integration

# Key set from Zendesk's OAS ViewObject.
VIEW_KEYS = {"id", "title", "description", "active", "position", "default", "restriction", "conditions", "execution",
             "created_at", "updated_at"}


@pytest.fixture(scope="module")
def ids(sb: Sandbox) -> dict[str, Any]:
    zd = sb.zendesk
    zd.add_field("view_tier", "dropdown", "View Tier", [("Gold", "view_gold"), ("Silver", "view_silver")])
    return {"group": zd.add_group("View Group")}


def _url(sb: Sandbox, path: str) -> str:
    return f"{sb.zendesk_url}/api/v2/{path}"


def _view(**changes: Any) -> dict[str, Any]:
    """A valid view in the WRITE format."""
    body = {"title": "[tiersync] Gold - open", "description": "managed", "active": True,
            "all": [{"field": "status", "operator": "less_than", "value": "solved"},
                    {"field": "organization.custom_fields.view_tier", "operator": "is", "value": "view_gold"}],
            "any": [],
            "output": {"columns": ["status", "requester", "assignee", "organization", "priority"],
                       "group_by": "assignee", "group_order": "desc", "sort_by": "status", "sort_order": "desc"}}
    return {**body, **changes}


def _details(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["error"], body["description"]) == ("RecordInvalid", "Record validation errors")
    return dict(body["details"])


def test_view_is_written_with_all_and_output_and_read_with_conditions_and_execution(
        sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    created = zd_session.post(_url(sb, "views.json"), json={"view": _view(restriction={
        "type": "Group", "ids": [ids["group"]]})}, timeout=5)
    assert created.status_code == 200, created.text  # the OAS CreateView answer, not 201
    view = created.json()["view"]
    assert set(view) == VIEW_KEYS  # no all, any, output
    assert view["conditions"] == {"all": _view()["all"], "any": []}
    execution = view["execution"]
    assert execution["columns"][:2] == [{"id": "status", "title": "Status"}, {"id": "requester", "title": "Requester"}]
    assert (execution["group_by"], execution["group_order"], execution["sort_by"], execution["sort_order"]) == (
        "assignee", "desc", "status", "desc")
    assert execution["group"] == {"id": "assignee", "title": "Assignee", "order": "desc"}
    assert view["restriction"] == {"type": "Group", "id": ids["group"], "ids": [ids["group"]]}
    url = _url(sb, f"views/{view['id']}")
    assert zd_session.get(url, timeout=5).json() == {"view": view}

    # writing back what was read: conditions/execution are not the write format, so nothing changes...
    echoed = zd_session.put(url, json={"view": {k: v for k, v in view.items() if k in ("conditions", "execution")}},
                            timeout=5)
    assert echoed.status_code == 200 and echoed.json()["view"]["conditions"] == view["conditions"]
    # ...and creating from it is the documented 422
    copied = zd_session.post(_url(sb, "views"), json={"view": {"title": "Copy", "conditions": view["conditions"]}},
                             timeout=5)
    assert _details(copied) == {"conditions": [{"description": REQUIRED_ALL_MESSAGE, "error": "InvalidValue"}]}

    assert zd_session.delete(url, timeout=5).status_code == 204
    assert zd_session.get(url, timeout=5).status_code == 404


def test_view_update_replaces_both_condition_arrays(sb: Sandbox, zd_session: requests.Session,
                                                    ids: dict[str, Any]) -> None:
    view = zd_session.post(_url(sb, "views"), json={"view": _view(any=[
        {"field": "priority", "operator": "is", "value": "high"}])}, timeout=5).json()["view"]
    url = _url(sb, f"views/{view['id']}")
    only_any = zd_session.put(url, json={"view": {"any": [{"field": "type", "operator": "is", "value": "task"}]}},
                              timeout=5)
    assert "conditions" in _details(only_any)  # `all` was cleared with it, so no status/type/group... test
    updated = zd_session.put(url, json={"view": {"all": [{"field": "group_id", "operator": "is",
                                                          "value": str(ids["group"])}],
                                                 "output": {"columns": ["nice_id"]}}}, timeout=5).json()["view"]
    assert updated["conditions"] == {"all": [{"field": "group_id", "operator": "is", "value": str(ids["group"])}],
                                     "any": []}
    assert updated["execution"]["columns"] == [{"id": "nice_id", "title": "ID"}]
    assert updated["execution"]["sort_by"] == "status"  # output keys left out are kept


@pytest.mark.parametrize(("changes", "attr"), [
    ({"title": None}, "title"),
    ({"all": [{"field": "current_tags", "operator": "includes", "value": "tier_gold"}]}, "conditions"),
    ({"all": [{"field": "status", "operator": "is", "value": "open"},
              {"field": "update_type", "operator": "is", "value": "Create"}]}, "conditions"),
    ({"all": [{"field": "status", "operator": "is", "value": "open"},
              {"field": "organization.custom_fields.gone", "operator": "is", "value": "x"}]}, "conditions"),
    ({"output": {"columns": ["status", "requester", "assignee", "organization", "priority", "type", "group",
                             "created", "updated", "nice_id", "brand"]}}, "output"),
    ({"output": {"columns": ["status", "no_such_column"]}}, "output"),
    ({"output": {"columns": ["status"], "sort_by": "description"}}, "output"),
    ({"restriction": {"type": "Group", "ids": [1]}}, "restriction"),
])
def test_view_validation(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any],
                         changes: dict[str, Any], attr: str) -> None:
    before = dict(sb.zendesk.views)
    response = zd_session.post(_url(sb, "views"), json={"view": _view(**changes)}, timeout=5)
    assert list(_details(response)) == [attr]
    assert sb.zendesk.views == before


def test_view_list_filters_and_pages(sb: Sandbox, zd_session: requests.Session, ids: dict[str, Any]) -> None:
    for n in range(3):
        zd_session.post(_url(sb, "views"), json={"view": _view(title=f"Listed {n}", active=n != 1)}, timeout=5)
    inactive = zd_session.get(_url(sb, "views"), params={"active": "false"}, timeout=5).json()
    assert [v["title"] for v in inactive["views"]] == ["Listed 1"] and inactive["count"] == 1
    page = zd_session.get(_url(sb, "views"), params={"page[size]": 1, "active": "true"}, timeout=5).json()
    assert set(page) == {"views", "meta", "links"} and "active=true" in page["links"]["next"]
    listed = [v["position"] for v in zd_session.get(_url(sb, "views"), timeout=5).json()["views"]]
    assert listed == sorted(listed)
