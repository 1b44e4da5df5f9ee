"""A per-client limit on submissions (the form, its old path and the JSON API).

SPUC has no delete, and one client recorded 2,532 sightings in 21 s. The limit
(SPUCSVI_SUBMIT_RATE, default 30/minute;300/hour, "off" to turn it off) counts
every submission of a client address, whichever of the three paths it used.

Flask-Limiter does the counting. Its in-memory store would count per process,
so N gunicorn workers would let N times the limit through; Redis would be a new
service for the compose stack. So by default the counts live in an SQLite file
beside the submit lock (the same private folder, or SPUCSVI_SUBMIT_LOCK's
folder), which every worker of a server shares: `SqliteStorage`, a fixed-window
storage for the `limits` package that Flask-Limiter builds on. Replicas on
several hosts share Redis instead (SPUCSVI_REDIS_URL): the `limits` package's
own RedisStorage, chosen in spucsvi/shared_state.py. A store that fails refuses
the submission (503, `unavailable`) rather than let it through uncounted.

The client is the user a trusted portal names (REMOTE_USER), else its address
(REMOTE_ADDR; for IPv6 its /64); behind a proxy in FORWARDED_ALLOW_IPS both come
from the proxy's headers (web/proxy.py), and from anyone else those are ignored.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from limits.storage import Storage

from spucsvi import addresses
from spucsvi.per_process import PerProcess

SCHEME = "spucsvi-sqlite"
# Counters kept at most; past this the ones closest to expiring go first, so that a
# flood of client addresses cannot grow the file without bound.
MAX_COUNTERS = 100_000
# Seconds between checks of that bound in a process (a count of rows reads them all).
BOUND_EVERY = 60.0
# The views that record a sighting; they share one count per client.
SUBMIT_ENDPOINTS = ("pages.submit", "api.create_sighting")


class SqliteStorage(Storage):
    """Fixed-window counters in an SQLite file, shared by processes: `spucsvi-sqlite:///path`."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(unquote(urlsplit(uri or "").path))
        # One connection per thread and process (a connection must not cross a fork).
        self._db = PerProcess(self._connect, per_thread=True)
        self._bounded_at = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=2, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS counters"
            " (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
        )
        # Expired counters are found through this index, not by reading every row.
        db.execute("CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires)")
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
            if now - self._bounded_at >= BOUND_EVERY:
                self._bounded_at = now
                self._bound(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return count

    @staticmethod
    def _bound(db: sqlite3.Connection) -> None:
        """Keep at most MAX_COUNTERS, dropping those closest to expiring."""
        (rows,) = db.execute("SELECT count(*) FROM counters").fetchone()
        if rows > MAX_COUNTERS:
            db.execute(
                "DELETE FROM counters WHERE key IN"
                " (SELECT key FROM counters ORDER BY expires LIMIT ?)",
                (rows - MAX_COUNTERS,),
            )

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
    """The client a count belongs to: the user a trusted portal signed in, else its
    IPv4 address, or its IPv6 /64 (one holder of a /64 has every address in it, so
    counting per address would not limit it)."""
    if request.remote_user:
        return f"user:{request.remote_user}"
    remote = request.remote_addr or "unknown"
    parsed = addresses.address(remote)
    return remote if parsed is None else addresses.client(parsed)


def install(app: Flask, rate: str | None, storage: tuple[str, dict[str, Any]] | None) -> None:
    """Limit the submit views of `app` to `rate` per client (nothing when None), counted
    in `storage` (Flask-Limiter's storage URI and options)."""
    if rate is None or storage is None:
        return
    uri, options = storage
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=uri,
        storage_options=options,
        strategy="fixed-window",
        # Its headers would put Retry-After on every answer of the submit views
        # (a 201 too, and over a busy SPUC's own 2 s): errors.py says when to retry.
        headers_enabled=False,
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


UNAVAILABLE = (
    "SPUCSVi cannot send sightings right now: the store that counts them is not "
    "answering (the operator has been told in the logs). Your sighting was not sent: "
    "please try again later."
)
