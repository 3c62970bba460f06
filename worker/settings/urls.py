"""URL checks shared by the settings groups: one spelling per endpoint, no credentials in a URL."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

from worker.core.errors import ConfigError

_DEFAULT_PORTS = {"https": 443, "http": 80}
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_REDIS_DB = re.compile(r"/?[0-9]*/?")


def normalise_url(url: str) -> str:
    """``url`` without surrounding whitespace, with a lower-case scheme and host, no default port, no trailing ``/``.

    requests lower-cases the host it sends, so ``https://Acme.zendesk.com`` would otherwise not match the URLs
    zenpy builds. Text that is not an absolute URL comes back stripped, for :meth:`Settings.check` to report.

    Raises:
        ValueError: the port is not a number from 0 to 65535, or the host is malformed (``[::1``).

    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("is not a valid URL: check the host and the port (a number from 0 to 65535)") from None
    if not parts.scheme or not parts.hostname:
        return text
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # urlsplit lower-cases both
    netloc = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))




def refuse_user_info(url: str | None, credentials_go_in: str | None = None) -> None:
    """Refuse ``https://user:password@host``: the URL is printed, logged and names state files.

    Any ``@`` is refused, not only one in the host part: none of these URLs has a path that needs one,
    and a password containing ``/`` would otherwise move the rest of it into the path.

    Raises:
        ValueError: without quoting the URL.

    """
    if url is not None and "@" in url:
        raise ValueError("must not contain a user name or password" +
                         (f"; put credentials in {credentials_go_in}" if credentials_go_in else ""))


def redis_url_problem(url: str) -> str | None:
    """What is wrong with a Redis URL, or None; the answer never quotes the URL (it may hold a password)."""
    if not url.startswith(_REDIS_SCHEMES):
        return "must start with redis://, rediss:// or unix:// (e.g. redis://127.0.0.1:6379/0)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "has a port that is not a number from 0 to 65535, or a malformed host"
    if parts.scheme == "unix":
        return None if parts.path else "a unix:// URL needs a socket path, e.g. unix:///run/redis/redis.sock"
    if not parts.hostname:
        return "has no host, e.g. redis://127.0.0.1:6379/0"
    if not _REDIS_DB.fullmatch(parts.path):
        return "has a database that is not a number, e.g. redis://127.0.0.1:6379/0"
    return _redis_options_problem(url)


def _redis_options_problem(url: str) -> str | None:
    """Build (without connecting) the connection open_store's client would make, to check ``?options``."""
    import redis  # only when REDIS_URL is set

    try:
        redis.ConnectionPool.from_url(url).make_connection()
    except ValueError as exc:  # "Invalid value for 'socket_timeout' in connection URL."
        return str(exc)
    except TypeError as exc:  # "... got an unexpected keyword argument 'foo'"
        return f"has an option redis does not know: {str(exc).rsplit(' ', 1)[-1]}"
    return None


def require_https(name: str, url: str) -> SplitResult:
    """The parts of ``url``, or a ConfigError naming variable ``name`` when it is not an https URL."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"{name}={url!r} is not an https:// URL",
                          hint="both services are reached over HTTPS; for a private CA set REQUESTS_CA_BUNDLE")
    return parts


def require_bare_https(name: str, url: str, example: str) -> SplitResult:
    """The parts of ``url``: an https URL of a host and nothing more (no path, query or fragment).

    Every API path is built from it, so a path would be doubled or silently dropped by the client.

    Raises:
        ConfigError: naming variable ``name``.

    """
    parts = require_https(name, url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{name}={url!r} must not have a path, query or fragment",
                          hint=f"use the bare URL, e.g. {example}")
    return parts
