"""Sandbox knobs for the secret canaries: fault bodies that quote the request back, late answers, and the JWT
bearer token endpoint (``POST /services/oauth2/token``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from worker.sandbox.httpbase import echo_request
from worker.sandbox.server import Sandbox

TOKEN_PATH = "/services/oauth2/token"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
def jwt_sandbox(sb: Sandbox, keys: tuple[bytes, bytes], ca_env: str) -> Iterator[Sandbox]:
    sb.salesforce.consumer_key, sb.salesforce.jwt_public_key = "3MVG9-test-consumer", keys[1]
    yield sb
    sb.salesforce.consumer_key = sb.salesforce.jwt_public_key = None


def assertion(private: bytes, *, iss: str = "3MVG9-test-consumer", sub: str = "integration@sandbox.example.com") -> str:
    claims = {"iss": iss, "sub": sub, "aud": "https://login.salesforce.com", "exp": int(time.time()) + 180}
    return jwt.encode(claims, private, algorithm="RS256")


def test_a_signed_assertion_gets_the_access_token(jwt_sandbox: Sandbox, keys: tuple[bytes, bytes]) -> None:
    sent = assertion(keys[0])
    answer = requests.post(jwt_sandbox.salesforce_url + TOKEN_PATH, data={"grant_type": GRANT, "assertion": sent},
                           timeout=10)
    assert answer.status_code == 200
    assert answer.json()["access_token"] == jwt_sandbox.salesforce.access_token
    assert answer.json()["instance_url"] == jwt_sandbox.salesforce_url
    assert jwt_sandbox.salesforce.jwt_assertions[-1] == sent


@pytest.mark.parametrize(("make", "error"), [
    (lambda keys: assertion(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())), "invalid_grant"),
    (lambda keys: assertion(keys[0], iss="someone-else"), "invalid_client_id"),
    (lambda keys: assertion(keys[0], sub="nobody@example.com"), "invalid_grant"),
])
def test_a_wrong_key_client_or_user_is_refused(jwt_sandbox: Sandbox, keys: tuple[bytes, bytes], make, error: str) -> None:
    answer = requests.post(jwt_sandbox.salesforce_url + TOKEN_PATH,
                           data={"grant_type": GRANT, "assertion": make(keys)}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_a_fault_body_can_quote_the_request_back(sb: Sandbox, ca_env: str) -> None:
    sb.zendesk.fail_next(1, 401, lambda request: {"error": "Couldn't authenticate you",
                                                  "description": echo_request(request)})
    answer = requests.get(sb.zendesk_url + "/api/v2/users/me.json?x=1", headers={"Authorization": "Bearer abc123"},
                          timeout=10)
    assert answer.status_code == 401
    assert answer.json()["description"].startswith("GET /api/v2/users/me.json?x=1\n")
    assert "Authorization: Bearer abc123" in answer.json()["description"]


def test_a_fault_can_answer_late(sb: Sandbox, ca_env: str) -> None:
    sb.salesforce.fail_next(1, 500, "late", path_contains="/services/data", delay=1.0)
    with pytest.raises(requests.Timeout):
        requests.get(sb.salesforce_url + "/services/data", timeout=(5, 0.3))
    assert requests.get(sb.salesforce_url + "/services/data", timeout=10).status_code == 200  # the fault is used up
