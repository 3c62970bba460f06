"""``FakeZendesk``: the account's state with every resource's rules mixed in; ``handle`` serves one request.

A resource module adds its mixin to the bases below; importing it registers its endpoints on
:data:`worker.sandbox.zendesk.api.router`.
"""

from __future__ import annotations

from worker.sandbox.httpbase import Request, Response
from worker.sandbox.zendesk.export import OrganizationExportMixin
from worker.sandbox.zendesk.gateway import serve
from worker.sandbox.zendesk.jobs import JobsMixin
from worker.sandbox.zendesk.slas import SlaPoliciesMixin
from worker.sandbox.zendesk.tickets import TicketsMixin
from worker.sandbox.zendesk.triggers import TriggersMixin
from worker.sandbox.zendesk.views import ViewsMixin


class FakeZendesk(TriggersMixin, ViewsMixin, SlaPoliciesMixin, OrganizationExportMixin, JobsMixin, TicketsMixin):
    """In-memory Zendesk Support account.

    Organizations (and their incremental export), organization fields, background jobs, users/me, groups,
    trigger categories, triggers, views, SLA policies, and tickets with their metric sets, metric events and
    satisfaction ratings (two incremental exports and the ratings list).

    Tests also drive it directly: ``add_organization``, ``set_org_field``, ``add_field``, ``add_group``,
    ``add_trigger_category``, ``add_ticket``, ``set_ticket_metrics``, ``add_ticket_metric_event``,
    ``add_satisfaction_rating``, ``fail_next``, ``commit_then_fail_next``, ``count``, ``requests``...
    """

    def handle(self, request: Request) -> Response:
        """Serve one HTTP request (thread-safe)."""
        with self.lock:
            return serve(self, request)
