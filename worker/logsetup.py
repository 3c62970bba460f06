"""Logging for every tiersync process: one stderr handler, redaction on every handler, quiet clients.

tiersync adds its handler beside whatever handlers another framework (Celery) has installed, and
replaces only its own on a second call; every root handler gets the redaction filter, so no
secret leaves through a handler tiersync did not create.
"""

from __future__ import annotations

import logging
import sys

from worker.core.redaction import RedactingFilter
from worker.render.text import visible

_QUIET = ("zenpy", "simple_salesforce", "urllib3", "requests")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class VisibleFormatter(logging.Formatter):
    """Formats a log line with its control characters made visible (worker.render.text.visible).

    Log messages quote services' error text: an escape sequence or a newline in it must not reach
    the terminal or forge extra log lines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The formatted line, control characters escaped."""
        return visible(super().formatMessage(record))


class _TiersyncHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """tiersync's own stderr handler (a type of its own, so a second set-up can find and replace it)."""


def configure_logging(level: str | None, *, default: str = "WARNING") -> None:
    """Log at ``level`` (``default`` when unset) to stderr, redacted; keep chatty client libraries at WARNING.

    zenpy logs request kwargs and response headers at DEBUG (``log.debug`` of each call in
    zenpy/lib/api.py), so its loggers, simple_salesforce's and urllib3's never go below WARNING,
    whatever TIERSYNC_LOG_LEVEL says.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _TiersyncHandler)]:
        root.removeHandler(old)
    handler = _TiersyncHandler(sys.stderr)
    handler.setFormatter(VisibleFormatter(FORMAT))
    root.addHandler(handler)
    protect_handlers(root)
    root.setLevel((level or default).upper())
    quiet_client_loggers()


def quiet_client_loggers() -> None:
    """Keep zenpy, simple_salesforce, urllib3 and requests at WARNING: they log request details at DEBUG."""
    for noisy in _QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def protect_handlers(logger: logging.Logger) -> None:
    """Give every handler of ``logger`` the redaction filter (once)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
