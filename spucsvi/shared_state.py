"""Where the workers of SPUCSVi meet: the submit lock and the submission counts.

Two backends, chosen in one place (`backend`):
- `FileBackend` (the default): a lock file and an SQLite file of counts in a private
  folder, shared by every worker of one host (one kernel, one filesystem);
- `RedisBackend` (SPUCSVI_REDIS_URL): a redis-py lock and Flask-Limiter's own Redis
  storage for the counts (the `limits` package's), shared by replicas on any host.

Both give the same two things: `limit_storage()` for Flask-Limiter, and
`submit_lock()`, a `SubmitLock` whose failures are all `LockUnusable`.
"""

from __future__ import annotations

import functools
import logging
import time
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

import redis
from filelock import FileLock, Timeout
from redis.exceptions import LockError, RedisError

from spucsvi.per_process import PerProcess
from spucsvi.settings import Settings, UnsafeFolder
from spucsvi.spuc.client import redact_url
from spucsvi.web.ratelimit import SCHEME

log = logging.getLogger(__name__)

# Seconds to wait for Redis to accept a connection or answer: a Redis that does
# not answer refuses a submission quickly (503) instead of holding its thread.
REDIS_TIMEOUT = 1.0
# Seconds a Redis lock outlives the longest a holder may legitimately keep it
# (SPUC's connect and read timeouts), so a crashed holder frees it on its own.
LOCK_MARGIN = 5.0
# How long Redis keeps the time of the last take or free of the lock: far longer
# than any holder keeps the lock (an older mark means no one is at SPUC).
MARK_SECONDS = 3600


class LockUnusable(Exception):
    """The lock cannot be taken at all (its folder is unsafe, Redis does not answer)."""


class SubmitLock(Protocol):
    """One submission at SPUC at a time, across every process that shares it."""

    def acquire(self, timeout: float) -> bool:
        """Whether the lock was taken within `timeout` seconds."""

    def release(self) -> None: ...

    def mark(self) -> None:
        """Note now as the time the lock was taken or freed."""

    def since_mark(self) -> float | None:
        """Seconds since the last `mark` of any holder (None: never marked)."""


class Backend(Protocol):
    def limit_storage(self) -> tuple[str, dict[str, Any]]:
        """Flask-Limiter's storage URI and its options."""

    def submit_lock(self) -> SubmitLock: ...


def backend(settings: Settings) -> Backend:
    """The one place that chooses where the lock and counts live."""
    return RedisBackend(settings) if settings.redis_url else FileBackend(settings)


class FileBackend:
    """A lock file and SQLite counts beside it (settings.lock_path's folder)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def limit_storage(self) -> tuple[str, dict[str, Any]]:
        return f"{SCHEME}://{self.settings.rate_path}", {"wrap_exceptions": True}

    def submit_lock(self) -> SubmitLock:
        try:
            return FileSubmitLock(self.settings.lock_path)
        except UnsafeFolder as exc:
            raise LockUnusable(str(exc)) from None


class FileSubmitLock:
    """`flock` on a file; the mark is the mtime of a file beside it (`<lock>.since`)."""

    def __init__(self, path: Path):
        self._lock = FileLock(path)
        self._since = path.with_name(f"{path.name}.since")

    def acquire(self, timeout: float) -> bool:
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            return False
        except OSError as exc:
            raise LockUnusable(str(exc)) from None
        return True

    def release(self) -> None:
        self._lock.release()

    def mark(self) -> None:
        try:
            self._since.touch()
        except OSError as exc:
            raise LockUnusable(str(exc)) from None

    def since_mark(self) -> float | None:
        try:
            return time.time() - self._since.stat().st_mtime
        except OSError:
            return None


class RedisBackend:
    """A redis-py lock and Redis counts, one set per SPUC URL."""

    def __init__(self, settings: Settings):
        assert settings.redis_url is not None
        self.url = settings.redis_url
        self.name = f"spucsvi:submit:{sha256(settings.spuc_url.encode()).hexdigest()[:16]}"
        self.lock_timeout = settings.connect_timeout + settings.read_timeout + LOCK_MARGIN

    def limit_storage(self) -> tuple[str, dict[str, Any]]:
        return self.url, {"wrap_exceptions": True, **_REDIS_OPTIONS}

    def submit_lock(self) -> SubmitLock:
        return RedisSubmitLock(_connection(self.url)(), self.name, self.lock_timeout)


_REDIS_OPTIONS = {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT}


@functools.cache
def _connection(url: str) -> PerProcess[redis.Redis]:
    """A client (its connection pool) per process: a socket must not cross a fork."""
    return PerProcess(lambda: redis.Redis.from_url(url, **_REDIS_OPTIONS))


class RedisSubmitLock:
    """redis-py's `Lock` with a timeout (a killed holder's lock expires); the mark
    is a key whose remaining time to live says when it was set, by Redis's clock
    alone (the hosts' clocks may differ)."""

    def __init__(self, client: redis.Redis, name: str, timeout: float):
        self._client = client
        self._lock = client.lock(name, timeout=timeout, sleep=0.05)
        self._since = f"{name}:since"

    def acquire(self, timeout: float) -> bool:
        try:
            return self._lock.acquire(blocking_timeout=timeout)
        except RedisError as exc:
            raise _unusable(exc) from None

    def release(self) -> None:
        try:
            self._lock.release()
        except LockError:
            # Held past its timeout (SPUC answered very slowly): another may have it now.
            log.warning("The submit lock expired before it was released")
        except RedisError as exc:
            # It expires on its own; the sighting was sent.
            log.error("Cannot release the submit lock: %s", exc)

    def mark(self) -> None:
        try:
            self._client.set(self._since, 1, ex=MARK_SECONDS)
        except RedisError as exc:
            raise _unusable(exc) from None

    def since_mark(self) -> float | None:
        try:
            left = self._client.pttl(self._since)
        except RedisError as exc:
            raise _unusable(exc) from None
        return None if left < 0 else MARK_SECONDS - left / 1000


def _unusable(exc: RedisError) -> LockUnusable:
    return LockUnusable(f"Redis does not answer: {redact_url(str(exc))}")
