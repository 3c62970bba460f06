"""Shared fixtures: one sandbox per test module, and factories for real clients pointed at a sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from simple_salesforce import Salesforce
from zenpy import Zenpy

from worker.sandbox.server import Sandbox


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox
        assert sandbox.errors == []


@pytest.fixture
def ca_env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """REQUESTS_CA_BUNDLE overrides Session.verify (requests' merge_environment_settings; psf/requests issue #3829), so point it at the sandbox CA.

    Every Sandbox is created by a fresh trustme CA, so tests with their own Sandbox set it again.
    """
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sb.ca_path)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return sb.ca_path


@pytest.fixture
def make_sf(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Salesforce]:
    """simple-salesforce in direct mode (session id + instance URL), trusting that sandbox's CA."""

    def factory(sandbox: Sandbox, token: str | None = None) -> Salesforce:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_path)
        return Salesforce(instance_url=sandbox.salesforce_url, session_id=token or sandbox.salesforce.access_token,
                          session=requests.Session())

    return factory


@pytest.fixture
def make_zenpy(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Zenpy]:
    """zenpy with subdomain/domain split from the sandbox URL: netloc is f"{subdomain}.{domain}"."""

    def factory(sandbox: Sandbox, token: str | None = None, **kwargs: Any) -> Zenpy:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_path)
        subdomain, _, domain = urlsplit(sandbox.zendesk_url).netloc.partition(".")
        return Zenpy(subdomain=subdomain, domain=domain, email=sandbox.zendesk.email,
                     token=token or sandbox.zendesk.api_token, disable_cache=True, session=requests.Session(),
                     **kwargs)

    return factory


@pytest.fixture
def sf(sb: Sandbox, make_sf: Callable[..., Salesforce]) -> Salesforce:
    return make_sf(sb)


@pytest.fixture
def zenpy_client(sb: Sandbox, make_zenpy: Callable[..., Zenpy]) -> Zenpy:
    return make_zenpy(sb)


@pytest.fixture
def zd_session(sb: Sandbox, ca_env: str) -> requests.Session:
    """A raw requests session with the admin's API token (for status/header assertions zenpy hides)."""
    session = requests.Session()
    session.auth = (f"{sb.zendesk.email}/token", sb.zendesk.api_token)
    return session
