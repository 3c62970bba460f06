"""The fake Zendesk's time-based incremental organization export (issue 15), over HTTPS with plain requests.

Each test has its own sandbox on a ManualClock (2024-05-01T12:00:00Z, a minute boundary), so the seconds
organizations are stamped with are exact and time moves without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from zenpy import Zenpy

from worker.sandbox.server import ManualClock, Sandbox
from worker.sandbox.zendesk import RecordInvalid

pytestmark = pytest.mark.integration

T0 = 1_714_564_800  # ManualClock's default now
EXPORT_KEYS = {"organizations", "count", "end_of_stream", "end_time", "next_page"}


@dataclass
class Env:
    sb: Sandbox
    clock: ManualClock
    session: requests.Session

    @property
    def url(self) -> str:
        return f"{self.sb.zendesk_url}/api/v2/incremental/organizations.json"

    def export(self, start_time: Any = None, per_page: Any = None) -> requests.Response:
        params = {k: v for k, v in (("start_time", start_time), ("per_page", per_page)) if v is not None}
        return self.session.get(self.url, params=params, timeout=5)

    def page(self, start_time: int, per_page: int | None = None) -> dict[str, Any]:
        response = self.export(start_time, per_page)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def add_at(self, when: int, *names: str) -> list[int]:
        """Create organizations whose updated_at is ``when`` (the clock is left there)."""
        self.clock.now = float(when)
        return [self.sb.zendesk.add_organization(name) for name in names]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    clock = ManualClock()
    with Sandbox(clock=clock) as sb:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_path)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        sb.zendesk.export_limit_per_minute = None  # the limit has its own test
        session = requests.Session()
        session.auth = (f"{sb.zendesk.email}/token", sb.zendesk.api_token)
        yield Env(sb, clock, session)
        assert sb.errors == []


def _ids(body: dict[str, Any]) -> list[int]:
    return [org["id"] for org in body["organizations"]]


def test_pages_are_inclusive_so_the_boundary_second_comes_again(env: Env) -> None:
    a, = env.add_at(T0, "A")
    b, c = env.add_at(T0 + 10, "B", "C")
    d, = env.add_at(T0 + 20, "D")
    env.clock.now = T0 + 20 + 60  # D is exactly one minute old: exported

    first = env.page(T0, per_page=3)
    assert set(first) == EXPORT_KEYS
    assert (_ids(first), first["count"], first["end_of_stream"], first["end_time"]) == ([a, b, c], 3, False, T0 + 10)
    assert first["next_page"] == f"{env.sb.zendesk_url}/api/v2/incremental/organizations.json?per_page=3&start_time={T0 + 10}"
    shown = env.session.get(f"{env.sb.zendesk_url}/api/v2/organizations/{a}.json", timeout=5).json()["organization"]
    assert first["organizations"][0] == shown  # rendered like GET /organizations

    second = env.session.get(first["next_page"], timeout=5).json()
    assert (_ids(second), second["end_of_stream"], second["end_time"]) == ([b, c, d], False, T0 + 20)  # b, c again
    third = env.session.get(second["next_page"], timeout=5).json()
    assert (_ids(third), third["count"], third["end_of_stream"], third["end_time"]) == ([d], 1, True, T0 + 20)

    assert _ids(env.page(T0 + 10)) == [b, c, d]  # start_time is inclusive
    assert _ids(env.page(T0 + 11)) == [d]
    assert env.sb.zendesk.count("GET", "/api/v2/incremental/organizations") == 5


def test_more_than_per_page_in_one_second_loops_on_the_same_page(env: Env) -> None:
    """The real API's documented hazard (api-facts A.7), reproduced on purpose: end_time == start_time."""
    same = env.add_at(T0, *(f"Same second {n}" for n in range(5)))
    env.clock.now = T0 + 120
    body = env.page(T0 - 30, per_page=3)
    assert (_ids(body), body["end_time"], body["end_of_stream"]) == (same[:3], T0, False)
    for _ in range(3):
        again = env.session.get(body["next_page"], timeout=5).json()
        assert again == body and again["next_page"].endswith(f"?per_page=3&start_time={T0}")
        body = again


def test_per_page_defaults_to_and_is_capped_at_1000(env: Env) -> None:
    env.add_at(T0, *(f"Bulk {n:04d}" for n in range(1002)))
    env.clock.now = T0 + 60
    for per_page in (None, 1000, 5000):
        body = env.page(T0, per_page)
        assert (body["count"], body["end_time"], body["end_of_stream"]) == (1000, T0, False), per_page
        assert body["next_page"].endswith(f"?per_page=1000&start_time={T0}")  # and the same page for ever
    assert env.page(T0, per_page=0)["count"] == 1  # at least one


def test_the_most_recent_minute_is_not_exported(env: Env) -> None:
    org, = env.add_at(T0, "Fresh")
    env.clock.now = T0 + 59.9
    body = env.page(T0 - 100)
    assert (body["organizations"], body["count"], body["end_of_stream"], body["end_time"]) == ([], 0, True, T0 - 100)
    assert body["next_page"].endswith(f"?per_page=1000&start_time={T0 - 100}")
    env.clock.advance(0.1)  # now T0 + 60: exactly a minute old
    assert _ids(env.page(T0 - 100)) == [org]


def test_start_time_too_recent_or_invalid_is_400(env: Env) -> None:
    env.clock.now = T0 + 0.5
    too_recent = env.export(T0 - 59)
    assert (too_recent.status_code, too_recent.json()) == (400, {
        "error": "InvalidValue", "description": "Too recent start_time. Use a start_time older than 1 minute"})
    assert env.export(T0 - 60).status_code == 200
    assert env.export(T0 + 3600).status_code == 400
    for bad in (None, "", "soon", "1714564000.5", "-5", "\u00b2"):
        response = env.export(bad)
        assert (response.status_code, response.json()["error"]) == (400, "InvalidValue"), bad
        assert set(response.json()) == {"error", "description"}
    for bad in ("many", "--5", "1.5"):
        bad_page = env.export(T0 - 600, per_page=bad)
        assert (bad_page.status_code, bad_page.json()["error"]) == (400, "InvalidValue"), bad


def test_non_admin_is_forbidden(env: Env) -> None:
    env.sb.zendesk.role = "agent"
    response = env.export(T0 - 600)
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


def test_eleventh_export_in_a_minute_is_429_and_other_endpoints_go_on(env: Env) -> None:
    zd = env.sb.zendesk
    zd.export_limit_per_minute = 10
    env.clock.now = T0 + 45  # 15 s left in this minute
    assert [env.export(T0 - 600).status_code for _ in range(10)] == [200] * 10
    limited = env.export(T0 - 600)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "15"
    assert limited.json() == {"errors": [{"code": "RateLimitExceeded", "status": "429",
                                          "title": "Rate limit exceeded. Maximum 10 requests per minute."}]}
    assert "X-Rate-Limit-Remaining" in limited.headers  # the account-wide headers still come
    listed = env.session.get(f"{env.sb.zendesk_url}/api/v2/organizations.json", timeout=5)
    assert listed.status_code == 200
    env.clock.advance(14.5)
    assert env.export(T0 - 600).headers["Retry-After"] == "1"
    env.clock.advance(0.5)  # the next minute
    assert env.export(T0 - 600).status_code == 200


def test_put_update_many_and_ui_edits_bump_updated_at(env: Env) -> None:
    zd = env.sb.zendesk
    zd.add_field("tier", "dropdown", "Tier", [("Gold", "gold"), ("Silver", "silver")])
    put_org, job_org, ui_org = env.add_at(T0, "Put", "Job", "UI")
    base = env.sb.zendesk_url

    env.clock.now = T0 + 100
    put = env.session.put(f"{base}/api/v2/organizations/{put_org}.json",
                          json={"organization": {"organization_fields": {"tier": "gold"}}}, timeout=5)
    assert put.status_code == 200 and put.json()["organization"]["updated_at"] == "2024-05-01T12:01:40Z"

    env.clock.now = T0 + 200
    job = env.session.put(f"{base}/api/v2/organizations/update_many.json",
                          json={"organizations": [{"id": job_org, "organization_fields": {"tier": "silver"}}]},
                          timeout=5).json()["job_status"]
    env.clock.now = T0 + 210  # the job runs when polled
    assert env.session.get(job["url"], timeout=5).json()["job_status"]["status"] == "completed"

    env.clock.now = T0 + 300
    zd.set_org_field(ui_org, "tier", "gold")
    with pytest.raises(RecordInvalid):
        zd.set_org_field(ui_org, "tier", "platinum")
    with pytest.raises(ValueError, match="no organization field"):
        zd.set_org_field(ui_org, "no_such_key", "x")

    env.clock.now = T0 + 400
    body = env.page(T0 + 1)
    assert _ids(body) == [put_org, job_org, ui_org] and body["end_time"] == T0 + 300
    assert [o["organization_fields"]["tier"] for o in body["organizations"]] == ["gold", "silver", "gold"]
    assert [o["updated_at"] for o in body["organizations"]] == [
        "2024-05-01T12:01:40Z", "2024-05-01T12:03:30Z", "2024-05-01T12:05:00Z"]
    assert _ids(env.page(T0 + 211)) == [ui_org]


def test_zenpy_reads_the_export_duplicates_included(env: Env) -> None:
    orgs = [env.add_at(T0 + n, f"Zenpy {n}")[0] for n in range(4)]
    env.clock.now = T0 + 3600
    subdomain, _, domain = env.sb.zendesk_url.removeprefix("https://").partition(".")
    client = Zenpy(subdomain=subdomain, domain=domain, email=env.sb.zendesk.email, token=env.sb.zendesk.api_token,
                   disable_cache=True, session=requests.Session())
    seen = [org.id for org in client.organizations.incremental(start_time=T0, per_page=2)]
    assert seen == [orgs[0], orgs[1], orgs[1], orgs[2], orgs[2], orgs[3], orgs[3]]
    assert env.sb.zendesk.count("GET", "/api/v2/incremental/organizations") == 4  # zenpy stops at end_of_stream
