"""Wiring: settings + tier file -> the adapters one run talks through."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from worker.core.config import TierFile
from worker.core.redaction import RedactingFilter
from worker.engine import Services
from worker.io import salesforce, zendesk
from worker.io.http import CallCounter, Pacer, ServiceSession
from worker.io.state import namespace_for, open_store
from worker.render.text import visible
from worker.settings import Settings


def build_services(settings: Settings, config: TierFile, *,
                   sleep: Callable[[float], None] = time.sleep) -> Services:
    """Build sessions, clients and the state store. Validates settings first (no API call then).

    Signing in to Salesforce with a username (password or JWT) makes the first API call here.
    """
    settings.check()
    counter = CallCounter()

    def session(service: str) -> ServiceSession:
        return ServiceSession(service, timeout=settings.tiersync_http_timeout,
                              max_attempts=settings.tiersync_max_attempts,
                              max_retry_wait=settings.tiersync_max_retry_wait, counter=counter,
                              pacer=Pacer(max_wait=settings.tiersync_max_retry_wait, sleep=sleep), sleep=sleep,
                              ca_bundle=str(settings.requests_ca_bundle) if settings.requests_ca_bundle else None)

    netloc = settings.zendesk_netloc()
    zd = zendesk.ZendeskClient(zendesk.connect(settings, session("zendesk")), config.zendesk.organization_field,
                               job_timeout=settings.tiersync_job_timeout, sleep=sleep)
    sf = salesforce.SalesforceReader(salesforce.connect(settings, session("salesforce")), config)
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    state = open_store(redis_url, settings.tiersync_state_dir, namespace_for(netloc))
    return Services(salesforce=sf, zendesk=zd, state=state, counter=counter)


class VisibleFormatter(logging.Formatter):
    """Formats a log line with its control characters made visible (worker.render.visible).

    Log messages quote services' error text: an escape sequence or a newline in it must not reach
    the terminal or forge extra log lines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The formatted line, control characters escaped."""
        return visible(super().formatMessage(record))


def configure_logging(level: str) -> None:
    """Log to stderr through the redaction filter; keep chatty client libraries at WARNING.

    zenpy logs request kwargs and response headers at DEBUG (``log.debug`` of each call in
    zenpy/lib/api.py), so its loggers, simple_salesforce's and urllib3's never go below WARNING,
    whatever TIERSYNC_LOG_LEVEL says.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    for noisy in ("zenpy", "simple_salesforce", "urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
