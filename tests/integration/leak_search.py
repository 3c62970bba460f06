"""Searching captured output for secret canaries: every encoding a leak could take, and the whole of a Redis database.

Used by test_secret_canaries.py. A :class:`Canary` names the texts whose presence is a leak; :func:`leaks` looks for
them in each captured text and in what can be decoded from it (URL-decoded, HTML/XML-unescaped, base64 runs such as
a Celery message body or an HTTP Basic credential).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import redis


@dataclass(frozen=True)
class Canary:
    """One secret's canary: its name, its value, and the part of it no legitimate output contains."""

    name: str
    value: str
    core: str
    encoded: bool = True  # also look for the value URL-encoded, HTML/JSON-escaped and base64-encoded

    def needles(self) -> set[str]:
        """The texts whose presence anywhere is a leak: the value (in several encodings), and 12-character pieces
        of its core every 6 characters, so a message cut short mid-secret is caught by the piece it keeps (any
        prefix or suffix of 12 characters, any other fragment of 17)."""
        forms = {self.value}
        if self.encoded:
            forms |= {quote(self.value, safe=""), quote(self.value), quote_plus(self.value), html.escape(self.value),
                      json.dumps(self.value)[1:-1], base64.b64encode(self.value.encode()).decode().rstrip("=")}
        forms |= {self.core[i:i + 12] for i in range(0, max(1, len(self.core) - 11), 6)} | {self.core[-12:]}
        return {form for form in forms if form}


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def decoded_views(text: str) -> list[str]:
    """``text`` and what a reader could decode from it: URL-decoded, HTML/XML-unescaped, base64 runs decoded."""
    views = list(dict.fromkeys([text, unquote(text), unquote_plus(text), html.unescape(text)]))  # each once
    decoded = []
    for run in _BASE64_RUN.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                decoded.append(decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                continue
    return views + decoded


def leaks(captured: dict[str, str], canaries: list[Canary]) -> list[str]:
    """Every (place, secret, form) where a canary shows, as readable lines; empty when nothing leaked."""
    needles = [(canary.name, needle) for canary in canaries for needle in canary.needles()]
    found = []
    for place, text in captured.items():
        for view in decoded_views(text):
            found += [f"{place}: {name} as {needle!r}" for name, needle in needles if needle in view]
    return sorted(set(found))


def redis_dump(url: str) -> str:
    """Every key of the database and its value, whatever the type (broker queues and unacked messages too)."""
    client = redis.Redis.from_url(url)
    parts: list[bytes] = []
    for key in client.scan_iter(count=500):
        kind = client.type(key).decode()
        values: list[bytes]
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = list(client.zrange(key, 0, -1))
        else:
            values = [repr(client.dump(key)).encode()]
        parts += [key, *values]
    return "\n".join(part.decode("utf-8", "replace") for part in parts)
