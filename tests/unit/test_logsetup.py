"""Logging set-up: tiersync's handler joins the others, every handler redacts, levels as documented."""

from __future__ import annotations

import io
import logging

import pytest

from worker.core.redaction import register_secret
from worker.logsetup import configure_logging


@pytest.fixture
def root():
    logger = logging.getLogger()
    saved_handlers, saved_level = logger.handlers[:], logger.level
    yield logger
    logger.handlers[:] = saved_handlers
    logger.setLevel(saved_level)


def test_another_frameworks_handler_is_kept_and_redacted(root) -> None:
    stream = io.StringIO()
    theirs = logging.StreamHandler(stream)
    root.addHandler(theirs)
    configure_logging("INFO")
    configure_logging("INFO")  # a second set-up replaces only tiersync's own handler
    assert theirs in root.handlers
    assert sum(type(h).__name__ == "_TiersyncHandler" for h in root.handlers) == 1
    register_secret("hunter2-canary")
    logging.getLogger("worker.test").warning("token is hunter2-canary")
    assert "hunter2-canary" not in stream.getvalue() and "****" in stream.getvalue()


@pytest.mark.parametrize(("level", "expected"), [(None, logging.WARNING), ("DEBUG", logging.DEBUG)])
def test_unset_level_is_warning_at_a_terminal(root, level, expected) -> None:
    configure_logging(level)
    assert root.level == expected
    assert logging.getLogger("zenpy").level == logging.WARNING  # never below, whatever was asked
