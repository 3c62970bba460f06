"""The redaction registry: a registered secret is masked in every form it takes on the way out."""

from __future__ import annotations

import html
import json
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest

from worker.core.redaction import MASK, basic_credential, redact, register_secret

SECRET = 'pw&<x>"q/+=%y'


@pytest.mark.parametrize("form", [SECRET, quote(SECRET, safe=""), escape(SECRET), html.escape(SECRET),
                                  json.dumps(SECRET)[1:-1]], ids=["raw", "url", "xml", "html", "json"])
def test_every_form_of_a_registered_secret_is_masked(form: str) -> None:
    register_secret(SECRET)
    assert redact(f"<password>{form}</password>") == f"<password>{MASK}</password>"


def test_the_basic_credential_is_what_requests_sends() -> None:
    from requests.auth import _basic_auth_str

    assert f"Basic {basic_credential('a@b.c/token', SECRET)}" == _basic_auth_str("a@b.c/token", SECRET)
