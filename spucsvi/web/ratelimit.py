"""A per-client limit on submissions (the form, its old path and the JSON API).

SPUC has no delete, and one client recorded 2,532 sightings in 21 s. The limit
(SPUCSVI_SUBMIT_RATE, default 30/minute;300/hour, "off" to turn it off) counts
every submission of a client address, whichever of the three paths it used.

Flask-Limiter does the counting. Its in-memory store would count per process,
so N gunicorn workers would let N times the limit through; Redis or memcached
would be a new service for the compose stack. So the counts live in an SQLite
file beside the submit lock (the same private folder, or SPUCSVI_SUBMIT_LOCK's
folder), which every worker of a server shares: `SqliteStorage`, a fixed-window
storage for the `limits` package that Flask-Limiter builds on.

The client is the connection's address (REMOTE_ADDR). Forwarded headers are
not read: behind a proxy every visitor shares the proxy's address (and limit)
unless the server is configured to pass the real one on.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from limits.storage import Storage

SCHEME = "spucsvi-sqlite"
# The views that record a sighting; they share one count per client.
SUBMIT_ENDPOINTS = ("pages.submit", "api.create_sighting")


class SqliteStorage(Storage):
    """Fixed-window counters in an SQLite file, shared by processes: `spucsvi-sqlite:///path`."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(unquote(urlsplit(uri or "").path))
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """One connection per thread and process (a connection must not cross a fork)."""
        db = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            db = sqlite3.connect(self.path, timeout=2, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS counters"
                " (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self._local.db, self._local.pid = db, os.getpid()
        return db

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        db, now = self._db(), time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
            db.execute(
                "INSERT INTO counters (key, count, expires) VALUES (?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET count = count + excluded.count",
                (key, amount, now + expiry),
            )
            (count,) = db.execute("SELECT count FROM counters WHERE key = ?", (key,)).fetchone()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return count

    def _row(self, key: str) -> tuple[int, float] | None:
        row = (
            self._db()
            .execute(
                "SELECT count, expires FROM counters WHERE key = ? AND expires > ?",
                (key, time.time()),
            )
            .fetchone()
        )
        return None if row is None else (row[0], row[1])

    def get(self, key: str) -> int:
        row = self._row(key)
        return 0 if row is None else row[0]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return time.time() if row is None else row[1]

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))


def client_address() -> str:
    return request.remote_addr or "unknown"


def install(app: Flask, rate: str | None, storage: Path | None) -> None:
    """Limit the submit views of `app` to `rate` per client (nothing when None)."""
    if rate is None or storage is None:
        return
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=f"{SCHEME}://{storage}",
        strategy="fixed-window",
        headers_enabled=True,
        default_limits=[],
    )
    app.extensions["submit_limiter"] = limiter
    shared = limiter.shared_limit(rate, scope="submit", methods=["POST"])
    for endpoint in SUBMIT_ENDPOINTS:
        # Plain functions, not coroutines: typed so, the wrapper keeps their type.
        view = cast(Callable[..., ResponseReturnValue], app.view_functions[endpoint])
        app.view_functions[endpoint] = shared(view)


def retry_after() -> int:
    """Whole seconds until the client's window ends (at least 1)."""
    limiter: Limiter | None = current_app.extensions.get("submit_limiter")
    limit = limiter.current_limit if limiter is not None else None
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))


def message(seconds: int) -> str:
    return (
        "You have sent many sightings in a short time, so this one was not sent to SPUC. "
        f"Please try again in {seconds} seconds."
    )
