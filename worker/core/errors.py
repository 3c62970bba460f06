"""One error taxonomy for the whole tool; every error knows its exit code.

The command line maps these to process exit codes (documented in README.md), Celery tasks map
them to retry / give-up decisions. Messages name the input and the fix; they never carry secrets
(see worker/core/redaction.py, which scrubs them once more at every output).
"""

from __future__ import annotations

from enum import IntEnum

from worker.core.redaction import redact


class ExitCode(IntEnum):
    """Process exit codes of the ``tiersync`` command."""

    OK = 0
    INTERNAL = 1
    CONFIG = 2
    AUTH = 3
    UNREACHABLE = 4
    RATE_LIMITED = 5
    PLAN_REFUSED = 6
    REMOTE_STATE = 7
    PARTIAL = 8
    LOCKED = 9
    DRIFT = 10  # reconcile --fail-on-drift found drift (a report, not an error)


class TiersyncError(Exception):
    """Base of every error tiersync raises on purpose.

    Args:
        message: what went wrong, naming the input (file, key, service, record).
        hint: what the operator should do about it.

    """

    exit_code = ExitCode.INTERNAL
    retryable = False
    http_status: int | None = None  # set when the error is a service's HTTP answer

    def __init__(self, message: str, hint: str = "") -> None:
        message, hint = redact(message), redact(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(TiersyncError):
    """Bad configuration or input, detected before any API call."""

    exit_code = ExitCode.CONFIG


class AuthError(TiersyncError):
    """A service rejected the credentials, or the user lacks a needed permission."""

    exit_code = ExitCode.AUTH


class UnreachableError(TiersyncError):
    """A service could not be reached, timed out or kept failing (5xx) after retries."""

    exit_code = ExitCode.UNREACHABLE
    retryable = True


class StateStoreError(UnreachableError):
    """The run state (Redis, or the files in TIERSYNC_STATE_DIR) cannot be read or written."""


class RateLimitedError(TiersyncError):
    """A service's rate limit or daily quota is exhausted; wait before trying again.

    Args:
        retry_after: seconds the service asked us to wait, when it said.

    """

    exit_code = ExitCode.RATE_LIMITED
    retryable = True

    def __init__(self, message: str, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class QuotaExhaustedError(RateLimitedError):
    """The Salesforce daily API allocation is used up, or our configured ceiling is reached."""

    retryable = False


class PlanRefusedError(TiersyncError):
    """A safety rail refused the plan; nothing was written."""

    exit_code = ExitCode.PLAN_REFUSED


class RemoteStateError(TiersyncError):
    """A service's data or configuration does not fit ours.

    For example a field of the wrong type, a missing column, an incomplete read or an unexpected
    response shape.
    """

    exit_code = ExitCode.REMOTE_STATE


class LockedError(TiersyncError):
    """Another run for the same Zendesk account holds the run lock; nothing was done."""

    exit_code = ExitCode.LOCKED
    retryable = True


class LockLostError(LockedError):
    """The run lock was lost mid-run (expired, or taken over); the run stopped before its next write."""
