"""Secrets never leave the process: every configured secret is scrubbed from any text we emit.

Settings register their secret values here when they load; log records, error messages, reports
and CLI output pass through :func:`redact`. Pure standard library.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import threading
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "****"
_MIN_LENGTH = 4  # shorter values would mask ordinary words; real tokens are far longer


def register_secret(value: str | None) -> None:
    """Remember a secret, and the forms it takes on the way out, so :func:`redact` removes it.

    The forms: URL-encoded (a query string, a URL's user-info), XML/HTML-escaped (simple-salesforce escapes the
    password into its SOAP login body, which a login fault may quote back) and JSON-escaped.
    """
    if not value or len(value) < _MIN_LENGTH:
        return
    forms = {value, quote(value, safe=""), xml_escape(value), html.escape(value), json.dumps(value)[1:-1]}
    with _lock:
        _secrets.update(forms)


def basic_credential(user: str, password: str) -> str:
    """The value of an HTTP Basic ``Authorization`` header for ``user`` and ``password``, as requests builds it.

    Register it as a secret: it carries the password, base64-encoded, so the password's own entry never matches it.
    """
    return base64.b64encode(f"{user}:{password}".encode("latin-1", "replace")).decode("ascii")


def clear_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _lock:
        _secrets.clear()


_AUTH_PATTERN = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\",}]+")


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and any Authorization value masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _AUTH_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)} {MASK}", text)


class RedactingFilter(logging.Filter):
    """A logging filter that renders each record's message once and redacts it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message with its redacted rendering; keep every record."""
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
