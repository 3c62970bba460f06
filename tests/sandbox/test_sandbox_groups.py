"""Groups of the fake Zendesk through raw HTTP: the OAS GroupObject, offset and cursor pagination."""

from __future__ import annotations

import pytest
import requests

from worker.sandbox.server import Sandbox
from worker.sandbox.zendesk import RecordInvalid

pytestmark = pytest.mark.integration

GROUP_KEYS = {"url", "id", "name", "description", "default", "deleted", "is_public", "created_at", "updated_at"}


@pytest.fixture(scope="module")
def group_ids(sb: Sandbox) -> list[int]:
    return [sb.zendesk.add_group(f"Rules Group {n}") for n in range(5)]


def _url(sb: Sandbox, path: str) -> str:
    return f"{sb.zendesk_url}/api/v2/{path}"


def test_groups_show_list_and_paginate(sb: Sandbox, zd_session: requests.Session, group_ids: list[int]) -> None:
    first = zd_session.get(_url(sb, f"groups/{group_ids[0]}.json"), timeout=5).json()["group"]
    assert set(first) == GROUP_KEYS and first["name"] == "Rules Group 0" and first["deleted"] is False
    assert first["url"] == _url(sb, f"groups/{group_ids[0]}.json")
    missing = zd_session.get(_url(sb, "groups/1"), timeout=5)
    assert (missing.status_code, missing.json()["error"]) == (404, "RecordNotFound")

    offset = zd_session.get(_url(sb, "groups"), params={"per_page": 2, "page": 2}, timeout=5).json()
    assert set(offset) == {"groups", "next_page", "previous_page", "count"}
    assert [g["id"] for g in offset["groups"]] == sorted(sb.zendesk.groups)[2:4]
    listed, url = [], _url(sb, "groups?page[size]=2")
    while url:
        page = zd_session.get(url, timeout=5).json()
        assert set(page) == {"groups", "meta", "links"} and len(page["groups"]) <= 2
        listed += [g["id"] for g in page["groups"]]
        url = page["links"]["next"] if page["meta"]["has_more"] else None
    assert listed == sorted(sb.zendesk.groups)
    assert zd_session.get(_url(sb, "groups"), params={"page[size]": 101}, timeout=5).status_code == 400
    with pytest.raises(RecordInvalid):
        sb.zendesk.add_group("rules group 0")  # names are unique, case-insensitively
