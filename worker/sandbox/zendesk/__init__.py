"""Fake Zendesk Support account, one module per resource (the layout is in :mod:`worker.sandbox`'s docstring)."""

from worker.sandbox.zendesk.account import FakeZendesk
from worker.sandbox.zendesk.state import Job, RecordInvalid

__all__ = ["FakeZendesk", "Job", "RecordInvalid"]
