"""Fake Zendesk Support account, one module per resource.

- ``state``: the in-memory account (users, organizations, fields, jobs, request log, faults, clock).
- ``api``: the router and what every endpoint module shares (error answers, bodies, plain lists).
- ``gateway``: request log, faults, credentials and the rate limit in front of the router.
- ``pagination``: offset and cursor pagination.
- ``users``, ``fields``, ``organizations``, ``jobs``: each resource's rules (a mixin) and endpoints.
- ``account``: ``FakeZendesk``, the state with every resource mixed in.
"""

from worker.sandbox.zendesk.account import FakeZendesk
from worker.sandbox.zendesk.state import Job, RecordInvalid

__all__ = ["FakeZendesk", "Job", "RecordInvalid"]
