"""The sightings store: SPUC's records as this process last saw them.

SPUC's export only grows, so after the first download the store asks for
what is new: `If-None-Match` answers 304 when nothing changed, and
`Range: bytes=N-` fetches only the appended bytes. The range starts a few
bytes early so the overlap can be compared; a mismatch, a 416 or a smaller
file means SPUC's file was replaced, and the store reads it whole again
(docs/spuc.md, "The export file").

Freshness is the store's own business, in every process, whatever serves
the app: views get the current snapshot at once, and a snapshot older than
the freshness window starts one check of SPUC in a thread of its own
(stale-while-revalidate), so a slow or hung SPUC never holds a view that has
a copy; `stale` tells views when to mark it with its age. Only a copy nobody
asked for in a while is checked first, briefly, while SPUC is well. Locks
and threads are made lazily per process id, so a store created before a fork
(gunicorn --preload) works in each worker.

The store publishes data: a new snapshot, together with the parse state it
came from. Views that waited for it (a submitter reading back their
sighting) get it at once. In a thread of its own, outside any lock, `prepare`
then derives what views need from it and `warm` builds the pages people
asked for (both given by the app); the other views get the snapshot once
they are done, so the first view of a new version costs what a cached one
costs. Memo makes a view that needs a value being derived wait for it
rather than derive it again.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any, TypeVar

from cachetools import LRUCache, cached

from spucsvi.data.columns import Columns
from spucsvi.per_process import PerProcess
from spucsvi.spuc.client import ExportResponse, SpucClient, SpucError, SpucTimeout
from spucsvi.spuc.records import Sighting, parse_lines

log = logging.getLogger(__name__)

T = TypeVar("T")
OVERLAP_BYTES = 64
# Seconds a view waits for SPUC, at most, when it must (no copy yet, or `fresh`);
# then it answers from its copy, or says the first load is under way.
FIRST_LOAD_WAIT = 5.0
# A check of SPUC running longer than this (seconds) is overdue: views mark their copy.
OVERDUE_CHECK = 1.0
# A copy this many freshness windows old was asked for by nobody meanwhile (a quiet
# process): while SPUC is well, the view that finds it waits for a check, QUIET_WAIT
# seconds at most, so that views of one page never go back to older records when
# they land on another worker. While SPUC fails or is slow, views never wait.
STALE_WINDOWS = 2
QUIET_WAIT = 0.5
# Derived values kept per snapshot, and bytes of encoded pages kept per snapshot:
# dozens of pages, and all a client asking for page after page can add to a
# worker's memory (32 MB added 40 % to a worker of 72 MB; tests/test_memory.py).
DERIVED_ENTRIES = 64
PAGE_BYTES = 8 * 1024 * 1024
# Seconds between thread switches while a check or warming runs in the background.
BACKGROUND_SWITCH_INTERVAL = 0.0005
# Lines parsed at a time, so a large export is never all text objects at once.
PARSE_SLICE_BYTES = 1024 * 1024


class StillLoading(SpucError):
    """The first download of SPUC's records is under way (a large export)."""

    status = 503


class Memo:
    """Values derived from one snapshot, each computed once (a thread asking for
    one being computed waits for it) and the least recently used dropped first:
    at most `maxsize` entries, or `maxsize` bytes as `getsizeof` counts them.
    A value larger than the whole budget is computed and not kept."""

    def __init__(
        self, maxsize: int = DERIVED_ENTRIES, getsizeof: Callable[[Any], int] | None = None
    ) -> None:
        self._cache: LRUCache[Hashable, Any] = LRUCache(maxsize, getsizeof)
        self._changed = threading.Condition()
        self._get = cached(self._cache, key=_by_key, condition=self._changed)(_compute)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        return self._get(key, compute)

    def drop_one(self) -> bool:
        """Drop the least recently used value; False when none was left."""
        with self._changed:
            if not self._cache:
                return False
            _, value = self._cache.popitem()
        del value  # freed here, outside the lock
        return True

    @property
    def currsize(self) -> float:
        """Entries kept, or their bytes as `getsizeof` counts them."""
        return self._cache.currsize

    def __contains__(self, key: Hashable) -> bool:
        return key in self._cache

    def __len__(self) -> int:
        return len(self._cache)


def _by_key(key: Hashable, compute: Callable[[], object]) -> Hashable:
    return key


def _compute(key: Hashable, compute: Callable[[], T]) -> T:
    return compute()


def _release(snapshot: Snapshot | None) -> None:
    """Free what a snapshot nobody else holds kept, an entry at a time, letting
    views run between: all at once held the interpreter for 2-5 ms at 100,000
    sightings (a sorted list of row numbers), which views waited for."""
    if snapshot is None or sys.getrefcount(snapshot) > 3:  # this call's and its caller's
        return
    for memo in (snapshot.memo, snapshot.pages):
        while memo.drop_one():
            time.sleep(0)


def encoded_size(value: Any) -> int:
    """Bytes a page kept in `Snapshot.pages` holds: its body (web/shared_body.py),
    counted twice for the compressed copies made of it, each smaller than it."""
    return 2 * len(value.body)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The first `length` rows of `columns`: immutable, whatever is appended later.

    `memo` keeps data derived from it (bounded by entries), `pages` the encoded
    pages built from it (bounded by bytes: one page may be megabytes)."""

    columns: Columns = field(default_factory=Columns)
    length: int = 0
    skipped: int = 0  # lines of SPUC's file that are not a record
    version: int = 0  # changes whenever the records do (per process)
    memo: Memo = field(default_factory=Memo)
    pages: Memo = field(default_factory=lambda: Memo(PAGE_BYTES, encoded_size))

    def __len__(self) -> int:
        return self.length

    def sighting(self, row: int) -> Sighting:
        if not 0 <= row < self.length:
            raise IndexError(row)
        return self.columns.sighting(row)


@dataclass(frozen=True)
class Stale:
    """Why views show a copy SPUC has not confirmed lately, and how old it is."""

    age: float  # seconds since SPUC last confirmed the copy
    error: SpucError  # the last check's failure, or SpucTimeout for one overdue


@dataclass(frozen=True)
class _ExportState:
    """What is known of SPUC's file: how much was consumed, and its last bytes."""

    etag: str | None = None
    total: int | None = None  # the file's size at the last answer
    consumed: int = 0
    tail: bytes = b""
    skipped: int = 0
    columns: Columns = field(default_factory=Columns)


class SightingsStore:
    def __init__(
        self,
        client: SpucClient,
        *,
        freshness_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        prepare: Callable[[Snapshot], object] | None = None,
        warm: Callable[[Snapshot], object] | None = None,
        zone: tzinfo = UTC,
    ):
        self._client = client
        self._zone = zone
        self._freshness = freshness_seconds
        self._clock = clock
        self._prepare = prepare
        self._warm = warm
        self._state = _ExportState(columns=Columns(zone))
        self._snapshot: Snapshot | None = None  # the newest version
        self._shown: Snapshot | None = None  # the newest version prepared and warmed
        self._retired: Snapshot | None = None  # the one shown before it
        self._checked_at: float | None = None  # when the last check ended
        self._confirmed_at: float | None = None  # when the last check that succeeded did
        self._error: SpucError | None = None
        self._once_per_process = PerProcess(self._fresh_state)
        self.fetches = 0
        # Told each check's seconds and failure (None: SPUC answered): spucsvi/metrics.py.
        self.on_check: Callable[[float, SpucError | None], object] | None = None

    # --- what views call -----------------------------------------------------------

    def current(self, *, fresh: bool = False) -> Snapshot:
        """The records as last seen, at once; a copy older than the freshness
        window starts one check of SPUC in the background, and is shown
        meanwhile however old it is (`stale` says so when SPUC fails or is slow).

        A view waits for SPUC, at most FIRST_LOAD_WAIT seconds, only when there
        is no copy yet, or when it must see what SPUC has now: `fresh` (after a
        submission) or a freshness window of 0; and QUIET_WAIT seconds at most
        in a quiet process (`_is_quiet`). Having waited, it gets the newest version,
        as soon as it is parsed; the others get the newest one that `prepare`
        and `warm` are done with, so their views never derive nor build it.
        Raises a SpucError only when there is no copy: the last check's, or
        StillLoading.
        """
        self._once_per_process()
        waited = fresh or self._freshness == 0
        if waited:
            self._wait_for(self._check_from_now(), FIRST_LOAD_WAIT)
        elif self._snapshot is None and self._error is None:
            self._wait_for(self._check_soon(), FIRST_LOAD_WAIT)
        elif self._is_quiet():
            waited = self._wait_for(self._check_soon(), QUIET_WAIT)
        elif not self._is_fresh():
            self._check_soon()
        snapshot = self._snapshot if waited else (self._shown or self._snapshot)
        if snapshot is None:
            raise self._error or StillLoading(
                "SPUCSVi is still reading SPUC's sightings for the first time. "
                "Please reload in a few seconds."
            )
        return snapshot

    def stale(self) -> Stale | None:
        """Why the copy views get is not known to be current (the last check
        failed, or one has run past OVERDUE_CHECK seconds), with its age; None
        while it is, or when there is no copy (views then have the error)."""
        self._once_per_process()
        confirmed, since, error = self._confirmed_at, self._checking_since, self._error
        if confirmed is None:
            return None
        now = self._clock()
        if error is None and since is not None and now - since > OVERDUE_CHECK:
            error = SpucTimeout(
                f"SPUC has not answered for {now - since:.0f} seconds; still waiting."
            )
        return None if error is None else Stale(now - confirmed, error)

    def last_check(self) -> tuple[float | None, SpucError | None] | None:
        """None before the first check ended; else the copy's age (seconds since SPUC
        last confirmed it; None: never) and the last check's failure (None: SPUC answered)."""
        if self._checked_at is None:
            return None
        confirmed = self._confirmed_at
        return (None if confirmed is None else self._clock() - confirmed), self._error

    # --- per process ---------------------------------------------------------------

    def _fresh_state(self) -> None:
        """Fresh locks and no running check or warming in a new (forked) process."""
        self._changed = threading.Condition()
        self._running: threading.Thread | None = None  # the last checker started
        self._checker = self._preparer = False  # whether each thread is at work
        self._preparing: threading.Thread | None = None  # the last preparer started
        self._begun = self._ended = self._wanted = 0  # checks, counted
        self._checking_since: float | None = None
        self._busy = 0  # background threads at work

    def _is_quiet(self) -> bool:
        """Whether nobody asked for STALE_WINDOWS freshness windows while SPUC was
        well: no check failed or is under way."""
        checked = self._checked_at
        return (
            checked is not None
            and self._clock() - checked >= STALE_WINDOWS * self._freshness
            and self._error is None
            and self._checking_since is None
        )

    def _is_fresh(self) -> bool:
        checked = self._checked_at
        return checked is not None and self._clock() - checked < self._freshness

    # --- checks: one at a time per process, in a thread of their own ----------------

    def _check_from_now(self) -> int:
        """Ask for a check that starts from now; returns its number."""
        with self._changed:
            self._wanted = max(self._wanted, self._begun + 1)
            self._start_checker()
            return self._wanted

    def _check_soon(self) -> int:
        """Ask for a check unless one is under way; returns the number of either."""
        with self._changed:
            if self._begun == self._ended:
                self._wanted = max(self._wanted, self._begun + 1)
            self._start_checker()
            return max(self._wanted, self._begun)

    def _start_checker(self) -> None:
        """(Holding `_changed`.) Start the checker thread unless it is at work."""
        if not self._checker:
            self._checker = True
            self._running = threading.Thread(
                target=self._run_checks, name="spucsvi-revalidate", daemon=True
            )
            self._running.start()

    def _wait_for(self, check: int, seconds: float) -> bool:
        """Wait for a check to end, `seconds` at most; returns whether it did."""
        with self._changed:
            return self._changed.wait_for(lambda: self._ended >= check, seconds)

    def _run_checks(self) -> None:
        """Check SPUC as long as checks are asked for. A check ends once its new
        version (if any) is published to those who waited for it."""
        with self._in_background():
            while True:
                with self._changed:
                    if self._begun >= self._wanted:
                        self._checker = False
                        return
                    self._begun += 1
                    self._checking_since = self._clock()
                try:
                    self._check()
                except Exception:
                    log.exception("Revalidating SPUC's records failed")
                with self._changed:
                    self._ended = self._begun
                    self._checking_since = None
                    self._changed.notify_all()

    @contextlib.contextmanager
    def _in_background(self) -> Iterator[None]:
        """While a check or warming runs, threads switch every
        BACKGROUND_SWITCH_INTERVAL rather than every 5 ms, so a view never waits
        long for the interpreter while a new version is prepared."""
        with self._changed:
            if not self._busy:
                self._switch_interval = sys.getswitchinterval()
                sys.setswitchinterval(BACKGROUND_SWITCH_INTERVAL)
            self._busy += 1
        try:
            yield
        finally:
            with self._changed:
                self._busy -= 1
                if not self._busy:
                    sys.setswitchinterval(self._switch_interval)

    def _check(self) -> None:
        """Fetch what is new and publish it; the check counts as done only then,
        so views never see the records while they are half up to date."""
        begun = time.perf_counter()
        try:
            self._fetch()
        except SpucError as exc:
            self._error = exc
        else:
            self._error = None
            self._confirmed_at = self._clock()
        self._checked_at = self._clock()
        if self.on_check is not None:
            self.on_check(time.perf_counter() - begun, self._error)

    # --- preparing: other views see a version once it is prepared and warmed --------

    def _start_preparing(self) -> None:
        with self._changed:
            if not self._preparer:
                self._preparer = True
                self._preparing = threading.Thread(
                    target=self._run_prepare, name="spucsvi-prepare", daemon=True
                )
                self._preparing.start()

    def _run_prepare(self) -> None:
        """Prepare and warm the newest version, and again while a newer one came."""
        with self._in_background():
            while True:
                with self._changed:
                    snapshot = self._snapshot
                    if snapshot is None or snapshot is self._shown:
                        self._preparer = False
                        return
                retired, self._retired = self._retired, None
                _release(retired)
                for step, failed in (
                    (self._prepare, "Preparing the data of a new version failed"),
                    (self._warm, "Warming the pages of a new version failed"),
                ):
                    try:
                        if step is not None:
                            step(snapshot)
                    except Exception:
                        log.exception("%s; views build what they need", failed)
                # The version views saw until now is freed when the next one comes,
                # not while the first views of this one are answered.
                self._retired, self._shown = self._shown, snapshot

    # --- fetching (in the checker thread) -------------------------------------------

    def _fetch(self) -> None:
        state = self._state
        if state.etag is None or self._snapshot is None:
            self._replace(self._get())
            return
        start = state.consumed - len(state.tail)
        response = self._get(etag=state.etag, offset=start)
        if response.status == 304:
            return
        if response.status == 206 and self._continues(response, start):
            self._commit(
                replace(state, total=response.total), response.body[len(state.tail) :], response
            )
        elif response.status == 200 or response.empty:
            self._replace(response)
        else:
            self._replace(self._get())

    def _get(self, **kwargs) -> ExportResponse:
        self.fetches += 1
        return self._client.fetch_export(**kwargs)

    def _continues(self, response: ExportResponse, start: int) -> bool:
        """Whether a partial answer extends the bytes already consumed.

        A file of the same size under a new ETag was rewritten in place, even
        when its last bytes still match.
        """
        state = self._state
        grew = response.total is None or response.total >= state.consumed
        rewritten = (
            response.total is not None
            and response.total == state.total
            and response.etag not in (None, state.etag)
        )
        return (
            response.offset == start
            and grew
            and not rewritten
            and response.body.startswith(state.tail)
        )

    def _replace(self, response: ExportResponse) -> None:
        """SPUC's file is new (first load, replaced, or emptied): start over."""
        fresh = _ExportState(etag=response.etag, total=response.total, columns=Columns(self._zone))
        added = self._commit(fresh, response.body, response)
        shown = self._snapshot
        # Empty (SPUC's "none yet" answer): publish it unless views see nothing already.
        if not added and (shown is None or shown.length or shown.skipped):
            self._publish(self._state)

    def _commit(self, state: _ExportState, data: bytes, response: ExportResponse) -> bool:
        """Parse the complete lines of `data` onto `state`, then publish the state
        and its snapshot together. A partial last line waits for the next fetch.
        Returns whether any record or unreadable line was added."""
        end = data.rfind(b"\n") + 1
        added = skipped = 0
        for sightings, bad in parse_slices(data, end):
            state.columns.extend(sightings)
            added += len(sightings)
            skipped += bad
        state = replace(
            state,
            etag=response.etag,
            consumed=state.consumed + end,
            tail=(state.tail + data[max(0, end - OVERLAP_BYTES) : end])[-OVERLAP_BYTES:],
            skipped=state.skipped + skipped,
        )
        if not (added or skipped):
            self._state = state
            return False
        self._publish(state)
        return True

    def _publish(self, state: _ExportState) -> None:
        previous = self._snapshot
        snapshot = Snapshot(
            state.columns,
            len(state.columns),
            state.skipped,
            (previous.version + 1) if previous is not None else 1,
        )
        self._state = state
        self._snapshot = snapshot
        if self._prepare is None and self._warm is None:
            self._shown = snapshot
        else:
            self._start_preparing()


def parse_slices(data: bytes, end: int) -> Iterator[tuple[list[Sighting], int]]:
    """The records in `data[:end]` and the unreadable lines, a few MB at a time,
    so that a large export is never all text and objects at once."""
    pos = 0
    while pos < end:
        cut = data.rfind(b"\n", pos, min(pos + PARSE_SLICE_BYTES, end)) + 1
        if cut <= pos:  # one line longer than a slice
            cut = data.index(b"\n", pos, end) + 1
        yield parse_lines(data[pos:cut].decode("utf-8", "replace").split("\n")[:-1])
        pos = cut
