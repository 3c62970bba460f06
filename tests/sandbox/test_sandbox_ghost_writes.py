"""Fault hooks on the business-rule endpoints: ghost writes (applied, then answered with an error) and fail_next."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from worker.sandbox.server import Sandbox
from worker.sandbox.zendesk.api import FORBIDDEN

pytestmark = pytest.mark.integration


def _url(sb: Sandbox, path: str) -> str:
    return f"{sb.zendesk_url}/api/v2/{path}"


def _trigger(title: str) -> dict[str, Any]:
    return {"trigger": {"title": title, "conditions": {"all": [{"field": "update_type", "operator": "is",
                                                                 "value": "Create"}]},
                        "actions": [{"field": "priority", "value": "high"}]}}


def test_ghost_write_creates_the_trigger_and_answers_504(sb: Sandbox, zd_session: requests.Session) -> None:
    zd = sb.zendesk
    zd.commit_then_fail_next(1, 504, "POST", "/api/v2/triggers")
    refused = zd_session.post(_url(sb, "triggers"), json=_trigger(""), timeout=5)
    assert refused.status_code == 422  # nothing was written: the rule waits for a write that succeeds
    ghost = zd_session.post(_url(sb, "triggers"), json=_trigger("Ghost"), timeout=5)
    assert (ghost.status_code, ghost.json()) == (504, {"error": "Gateway Timeout"})
    assert "X-Rate-Limit" in ghost.headers
    assert [t["title"] for t in zd.triggers.values()].count("Ghost") == 1  # it was created all the same
    again = zd_session.post(_url(sb, "triggers"), json=_trigger("Ghost"), timeout=5)
    assert again.status_code == 201 and zd.ghost_writes == []


def test_ghost_write_of_an_update_with_a_body_and_headers(sb: Sandbox, zd_session: requests.Session) -> None:
    view = zd_session.post(_url(sb, "views"), json={"view": {"title": "Before", "all": [
        {"field": "status", "operator": "less_than", "value": "solved"}]}}, timeout=5).json()["view"]
    sb.zendesk.commit_then_fail_next(1, 502, "PUT", f"/api/v2/views/{view['id']}", body=b"<html>Bad Gateway</html>",
                                     headers={"Content-Type": "text/html"})
    assert zd_session.get(_url(sb, f"views/{view['id']}"), timeout=5).status_code == 200  # another method
    ghost = zd_session.put(_url(sb, f"views/{view['id']}"), json={"view": {"title": "After"}}, timeout=5)
    assert (ghost.status_code, ghost.text, ghost.headers["Content-Type"]) == (502, "<html>Bad Gateway</html>",
                                                                            "text/html")
    assert sb.zendesk.views[view["id"]]["title"] == "After"


def test_fail_next_can_refuse_the_trigger_list(sb: Sandbox, zd_session: requests.Session) -> None:
    sb.zendesk.fail_next(1, 403, FORBIDDEN, path_contains="/api/v2/triggers", method="GET")
    assert zd_session.get(_url(sb, "trigger_categories"), timeout=5).status_code == 200  # not a trigger path
    refused = zd_session.get(_url(sb, "triggers"), params={"active": "true"}, timeout=5)
    assert (refused.status_code, refused.json()) == (403, FORBIDDEN)
    assert zd_session.get(_url(sb, "triggers"), timeout=5).status_code == 200
