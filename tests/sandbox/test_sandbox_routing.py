"""How both fakes answer paths they do not serve and methods a path does not take (raw HTTP)."""

from __future__ import annotations

import pytest
import requests

from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.integration

INVALID_ENDPOINT = {"error": "InvalidEndpoint", "description": "Not found"}
SF_NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


@pytest.fixture(scope="module")
def ids(sb: Sandbox) -> dict[str, int]:
    org = sb.zendesk.add_organization("Routing Org", "ROUTE-1")
    field = sb.zendesk.add_field("routing_tier", "dropdown", "Routing Tier", [("Gold", "routing_gold")])
    return {"org": org, "field": field}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v2/nothing_here"),
    ("GET", "/api/v2/organizations/abc"),
    ("GET", "/api/v2/organizations/{org}/extra"),
    ("GET", "/api/v2/organizations/update_many"),
    ("DELETE", "/api/v2/organizations"),
    ("PATCH", "/api/v2/organizations.json"),
    ("POST", "/api/v2/organizations/count"),
    ("PATCH", "/api/v2/organizations/{org}"),
    ("POST", "/api/v2/organization_fields/{field}"),
    ("PUT", "/api/v2/organization_fields"),
    ("PUT", "/api/v2/job_statuses/V3-nope"),
    ("POST", "/api/v2/users/me"),
    ("POST", "/api/v2/organizations/1"),  # the method decides before the record: no RecordNotFound
    ("PATCH", "/api/v2/organization_fields/1"),
])
def test_zendesk_unknown_path_or_method_is_invalid_endpoint(sb: Sandbox, zd_session: requests.Session,
                                                             ids: dict[str, int], method: str, path: str) -> None:
    response = zd_session.request(method, sb.zendesk_url + path.format(**ids), timeout=5)
    assert (response.status_code, response.json()) == (404, INVALID_ENDPOINT)
    assert response.headers["X-Rate-Limit"] == str(sb.zendesk.rate_limit_per_minute)


def test_zendesk_head_is_not_served(sb: Sandbox, zd_session: requests.Session, ids: dict[str, int]) -> None:
    response = zd_session.head(f"{sb.zendesk_url}/api/v2/organizations/{ids['org']}", timeout=5)
    assert (response.status_code, response.content) == (404, b"")


def test_zendesk_suffix_and_trailing_slash_are_the_same_route(sb: Sandbox, zd_session: requests.Session,
                                                              ids: dict[str, int]) -> None:
    bodies = [zd_session.get(f"{sb.zendesk_url}/api/v2/organizations/{ids['org']}{tail}", timeout=5).json()
              for tail in ("", ".json", "/")]
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0]["organization"]["id"] == ids["org"]


def test_zendesk_auth_and_body_are_checked_before_routing(sb: Sandbox, zd_session: requests.Session,
                                                          ca_env: str) -> None:
    anonymous = requests.get(f"{sb.zendesk_url}/api/v2/nothing_here", timeout=5)
    assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Couldn't authenticate you"})
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="Web Password"'
    broken = zd_session.post(f"{sb.zendesk_url}/api/v2/nothing_here", data="{not json", timeout=5)
    assert (broken.status_code, broken.json()["error"]) == (400, "InvalidValue")


def _sf(sb: Sandbox, method: str, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sb.salesforce.access_token}"}
    return requests.request(method, sb.salesforce_url + path, headers=headers, timeout=5)


@pytest.mark.parametrize("path", ["", "/limits", "/query", "/sobjects/Account/describe", "/no/such/resource"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_salesforce_rest_api_is_read_only(sb: Sandbox, ca_env: str, method: str, path: str) -> None:
    """Any other method than GET under /services/data/vNN.N is 405, known resource or not (after auth)."""
    used = sb.salesforce.api_used
    response = _sf(sb, method, "/services/data/v59.0" + path)
    assert response.status_code == 405
    assert response.json() == [{"message": f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD",
                                "errorCode": "METHOD_NOT_ALLOWED"}]
    assert sb.salesforce.api_used == used + 1 and response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert _sf(sb, method, "/services/data/v59.0" + path, token="wrong").status_code == 401


def test_salesforce_head_is_refused_like_a_write(sb: Sandbox, ca_env: str) -> None:
    response = _sf(sb, "HEAD", "/services/data/v59.0/limits")
    assert (response.status_code, response.content) == (405, b"")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/services/data/v59.0/no/such/resource"),
    ("GET", "/services/data/vX/limits"),
    ("GET", "/services/Soap/u/59.0"),
    ("POST", "/services/data"),
    ("DELETE", "/services/data/"),
    ("GET", "/nothing"),
])
def test_salesforce_unknown_path_or_method_is_not_found(sb: Sandbox, ca_env: str, method: str, path: str) -> None:
    response = _sf(sb, method, path)
    assert (response.status_code, response.json()) == (404, SF_NOT_FOUND)
