"""Where run state lives between runs (the state itself is worker.core.runstate.RunState), and the run lock.

Two interchangeable stores: Redis (``REDIS_URL``, shared by workers) and a JSON file under
``TIERSYNC_STATE_DIR`` (a single operator's terminal, or the demo). Each save replaces the whole
state at once (one SET; one atomic rename), so a crash never leaves half a state.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from worker.core.errors import AuthError, LockedError, StateStoreError
from worker.core.ports import StateStore
from worker.core.runstate import RunState
from worker.io.lease import BUSY_HINT, LEASE_SECONDS, Lease, RedisLease, held, wait_for
from worker.io.redisclient import redis_client

__all__ = ["FileStateStore", "RedisStateStore", "RunState", "StateStore", "namespace_for", "open_store"]



_PROBE_BYTES = 4096  # one file-system block: on a full disk, writing it fails as the state save would


class FileStateStore:
    """State in ``<directory>/state-<namespace>.json``, written atomically.

    File-system failures (a read-only directory, a full disk) surface as StateStoreError naming
    the file and TIERSYNC_STATE_DIR; a failed save leaves the previous state and no temporary file.
    """

    def __init__(self, directory: Path, namespace: str, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = directory / f"state-{namespace}.json"
        self._clock, self._sleep = clock, sleep

    @contextmanager
    def _os_errors(self, doing: str, path: Path) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            hint = ("free disk space in TIERSYNC_STATE_DIR, then re-run; the previous state is kept"
                    if exc.errno in (errno.ENOSPC, errno.EDQUOT) else
                    "make TIERSYNC_STATE_DIR a directory this user can write, or set REDIS_URL")
            raise StateStoreError(f"state: cannot {doing} {path}: {reason}", hint=hint) from None

    def load(self) -> RunState:
        """Read the state file, if any."""
        with self._os_errors("read", self.path):
            try:
                return RunState.from_json(self.path.read_bytes())
            except FileNotFoundError:
                return RunState()

    def save(self, state: RunState) -> None:
        """Write to a temporary file and rename it over the old one (the old one stays on failure)."""
        with self._os_errors("write", self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(state.to_json())
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, self.path)
            except BaseException:
                with suppress(OSError):
                    os.unlink(temp)
                raise

    def check(self) -> str:
        """Verify the state can be read and its directory written (doctor); returns a description."""
        with self._os_errors("write to", self.path.parent):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path.parent, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "Permission denied")
        state = self.load()
        return f"state file {self.path}" + (f" (unusable: {state.discarded})" if state.discarded else "")

    @contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[Lease]:
        """An exclusive ``flock`` on ``<state>.lock``, waiting up to ``wait`` seconds.

        The kernel drops it when the process dies, so this lease is never lost.
        """
        lock_path = self.path.with_suffix(".lock")
        with self._os_errors("create the run lock", lock_path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - closed below
        with handle:
            if not wait_for(lambda: _flocked(handle), wait=wait, clock=self._clock, sleep=self._sleep):
                raise LockedError(f"another tiersync run holds {handle.name}", hint=BUSY_HINT)
            try:
                self._probe_writable()
                yield Lease(handle.name)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _probe_writable(self) -> None:
        """Write, sync and remove a small file beside the state.

        So a read-only or full state directory stops a writing run before its first Zendesk write, not at its
        last step (the state save).
        """
        with self._os_errors("write", self.path):
            handle, probe = tempfile.mkstemp(dir=self.path.parent, prefix=".probe-", suffix=".json")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(b" " * _PROBE_BYTES)
                    out.flush()
                    os.fsync(out.fileno())
            finally:
                with suppress(OSError):
                    os.unlink(probe)

    def holder(self) -> str | None:
        """Who holds the lock: ``held (file lock)`` when another process holds it, else None."""
        lock_path = self.path.with_suffix(".lock")
        if not lock_path.exists():
            return None
        with open(lock_path, "a+", encoding="utf-8") as handle:
            if _flocked(handle):
                fcntl.flock(handle, fcntl.LOCK_UN)
                return None
        return f"held (file lock {lock_path})"


def _flocked(handle: Any) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class RedisStateStore:
    """State in the Redis key ``tiersync:state:<namespace>``, lock in ``tiersync:lock:<namespace>``.

    Redis failures surface as UnreachableError naming REDIS_URL, never as a redis-py traceback.
    """

    def __init__(self, client: Any, namespace: str, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, lease_seconds: float = LEASE_SECONDS) -> None:
        self._redis = client
        self.key = f"tiersync:state:{namespace}"
        self.lock_key = f"tiersync:lock:{namespace}"
        self._lease = RedisLease(client, self.lock_key, lease_seconds=lease_seconds)
        self._clock, self._sleep = clock, sleep

    @contextmanager
    def _redis_errors(self, doing: str) -> Iterator[None]:
        import redis

        try:
            yield
        except redis.AuthenticationError:
            raise AuthError(f"redis: cannot {doing}: the server refused REDIS_URL's user name or password",
                            hint="correct the password (and user) in REDIS_URL") from None
        except redis.ResponseError as exc:
            if not str(exc).startswith(("NOAUTH", "WRONGPASS", "NOPERM")):
                raise StateStoreError(f"redis: cannot {doing} ({type(exc).__name__})",
                                      hint="check REDIS_URL and that Redis is running") from None
            raise AuthError(f"redis: cannot {doing}: {str(exc).split(' ', 1)[0]} (authentication or ACL refused)",
                            hint="set the password (and user) Redis expects in REDIS_URL") from None
        except redis.RedisError as exc:
            raise StateStoreError(f"redis: cannot {doing} ({type(exc).__name__})",
                                  hint="check REDIS_URL and that Redis is running") from None

    def check(self) -> str:
        """Verify Redis answers and accepts the credentials (doctor); returns a description."""
        with self._redis_errors("reach the server"):
            self._redis.ping()
        state = self.load()
        kwargs = self._redis.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"Redis at {where} db {kwargs.get('db', 0)}, key {self.key}" + (
            f" (unusable: {state.discarded})" if state.discarded else "")

    def load(self) -> RunState:
        """Read the state key."""
        with self._redis_errors("read state"):
            return RunState.from_json(self._redis.get(self.key))

    def save(self, state: RunState) -> None:
        """Replace the state key in one SET."""
        with self._redis_errors("save state"):
            self._redis.set(self.key, state.to_json())

    @contextmanager
    def lock(self, wait: float = 0.0) -> Iterator[Lease]:
        """A lease (``SET NX PX``) renewed by a heartbeat while the run lives; see worker.io.lease."""
        with self._redis_errors("take the run lock"), held(self._lease, wait=wait, clock=self._clock,
                                                            sleep=self._sleep) as lease:
            yield lease

    def holder(self) -> str | None:
        """The lock holder's description (host, pid, since), or None when the lock is free."""
        with self._redis_errors("read the run lock"):
            return self._lease.holder()



_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]", "0:0:0:0:0:0:0:1", "[0:0:0:0:0:0:0:1]")


def namespace_for(zendesk_netloc: str) -> str:
    """A state and lock namespace per Zendesk account, the same for every spelling of its address.

    Letter case, a trailing dot, the default port 443 and the loopback aliases (``localhost``,
    ``127.0.0.1``, ``[::1]``) do not make another account, so runs that spell one Zendesk
    differently still share one watermark and one run lock (in one shared state store).
    """
    netloc = zendesk_netloc.strip().lower().rsplit("@", 1)[-1]
    host, port = netloc, "443"
    if netloc.startswith("[") and "]" in netloc:
        host, _, rest = netloc.partition("]")
        host, port = host + "]", rest.removeprefix(":") or "443"
    elif netloc.count(":") == 1:
        host, port = netloc.split(":")
    host = host.rstrip(".")
    if host in _LOOPBACK:
        host = "localhost"
    canonical = host if port == "443" else f"{host}:{port}"
    return "".join(ch if ch.isalnum() else "_" for ch in canonical)


def open_store(redis_url: str | None, state_dir: Path, namespace: str) -> StateStore:
    """Redis when ``redis_url`` is set, else a file under ``state_dir``."""
    if redis_url:
        return RedisStateStore(redis_client(redis_url), namespace)
    return FileStateStore(state_dir, namespace)
