"""Wiring: settings + tier file -> the adapters one run talks through."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from worker.core.config import TierFile
from worker.engine import Services
from worker.io import salesforce, zendesk
from worker.io.history import open_history
from worker.io.http import CallCounter, ServiceSession
from worker.io.ratelimit import pacer_for
from worker.io.reports import ReportStore, open_report_store
from worker.io.state import namespace_for, open_store
from worker.io.zendesk_routing import RoutingClient
from worker.io.zendesk_tickets import IncrementalPacer, TicketReader
from worker.settings import Settings


def build_services(settings: Settings, config: TierFile, *,
                   sleep: Callable[[float], None] = time.sleep) -> Services:
    """Build sessions, clients and the state store. Validates settings first (no API call then).

    Signing in to Salesforce with a username (password or JWT) makes the first API call here.
    """
    settings.check()
    counter = CallCounter()

    netloc = settings.zendesk_netloc()
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None

    def session(service: str) -> ServiceSession:
        pacer = pacer_for(redis_url, service, namespace_for(netloc), max_wait=settings.tiersync_max_retry_wait,
                          sleep=sleep)
        return ServiceSession(service, timeout=settings.tiersync_http_timeout,
                              max_attempts=settings.tiersync_max_attempts,
                              max_retry_wait=settings.tiersync_max_retry_wait, counter=counter,
                              pacer=pacer, sleep=sleep,
                              ca_bundle=str(settings.requests_ca_bundle) if settings.requests_ca_bundle else None)

    zenpy_client = zendesk.connect(settings, session("zendesk"))
    zd = zendesk.ZendeskClient(zenpy_client, config.zendesk.organization_field,
                               job_timeout=settings.tiersync_job_timeout,
                               max_jobs_in_flight=settings.tiersync_max_jobs_in_flight, sleep=sleep)
    sf = salesforce.SalesforceReader(salesforce.connect(settings, session("salesforce")), config)
    state = open_store(redis_url, settings.tiersync_state_dir, namespace_for(netloc))
    history = open_history(redis_url, settings.tiersync_state_dir, namespace_for(netloc))
    return Services(salesforce=sf, zendesk=zd, state=state, routing=RoutingClient(zenpy_client), history=history,
                    counter=counter)


def build_report_store(settings: Settings, kind: str = "") -> ReportStore:
    """Where report summaries and the alert state are kept (Redis, or files in the state directory).

    ``kind`` keeps another report's alert state apart (``service``); the reconciliation's has none.
    """
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    namespace = namespace_for(settings.zendesk_netloc()) + (f".{kind}" if kind else "")
    return open_report_store(redis_url, settings.tiersync_state_dir, namespace, settings.tiersync_reports_kept)


def build_service_readers(settings: Settings, config: TierFile, *, sleep: Callable[[float], None] = time.sleep,
                          ) -> tuple[TicketReader, zendesk.ZendeskClient, Callable[[], datetime]]:
    """The service report's readers: tickets (paced under the incremental exports' limit) and organizations."""
    settings.check()
    netloc = settings.zendesk_netloc()
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    pacer = pacer_for(redis_url, "zendesk", namespace_for(netloc), max_wait=settings.tiersync_max_retry_wait,
                      sleep=sleep)
    session = ServiceSession("zendesk", timeout=settings.tiersync_http_timeout,
                             max_attempts=settings.tiersync_max_attempts,
                             max_retry_wait=settings.tiersync_max_retry_wait, pacer=pacer, sleep=sleep,
                             ca_bundle=str(settings.requests_ca_bundle) if settings.requests_ca_bundle else None)
    client = zendesk.connect(settings, session)
    organizations = zendesk.ZendeskClient(client, config.zendesk.organization_field, sleep=sleep)
    return TicketReader(client, pacer=IncrementalPacer(sleep=sleep)), organizations, lambda: datetime.now(UTC)
