"""The sightings store: SPUC's records as this process last saw them.

SPUC's export only grows, so after the first download the store asks for
what is new: `If-None-Match` answers 304 when nothing changed, and
`Range: bytes=N-` fetches only the appended bytes. The range starts a few
bytes early so the overlap can be compared; a mismatch, a 416 or a smaller
file means SPUC's file was replaced, and the store reads it whole again
(docs/spuc.md, "The export file").

Freshness is the store's own business, in every process, whatever serves
the app: views get the current snapshot at once, and a snapshot older than
the freshness window starts one revalidation in the background
(stale-while-revalidate). Locks and threads are made lazily per process id,
so a store created before a fork (gunicorn --preload) works in each worker.
A new snapshot is published only after `prepare` has derived what views
need from it, and together with the parse state it came from.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import TypeVar

from spucsvi.data.columns import Columns
from spucsvi.per_process import PerProcess
from spucsvi.spuc.client import ExportResponse, SpucClient, SpucError
from spucsvi.spuc.records import Sighting, parse_lines

log = logging.getLogger(__name__)

T = TypeVar("T")
OVERLAP_BYTES = 64
# Past this many freshness windows a copy is revalidated before it is shown.
STALE_WINDOWS = 2
# How long a view waits for the very first load before saying it is under way.
FIRST_LOAD_WAIT = 5.0
# Seconds between thread switches while a revalidation runs in the background.
BACKGROUND_SWITCH_INTERVAL = 0.0005
# Lines parsed at a time, so a large export is never all text objects at once.
PARSE_SLICE_BYTES = 1024 * 1024


class StillLoading(SpucError):
    """The first download of SPUC's records is under way (a large export)."""

    status = 503


class Memo:
    """Values derived from one snapshot, computed once each; the least recently
    used go first when more than `size` are kept. Thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The first `length` rows of `columns`: immutable, whatever is appended later."""

    columns: Columns = field(default_factory=Columns)
    length: int = 0
    skipped: int = 0  # lines of SPUC's file that are not a record
    version: int = 0  # changes whenever the records do (per process)
    memo: Memo = field(default_factory=Memo)

    def __len__(self) -> int:
        return self.length

    def sighting(self, row: int) -> Sighting:
        if not 0 <= row < self.length:
            raise IndexError(row)
        return self.columns.sighting(row)


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
        zone: tzinfo = UTC,
    ):
        self._client = client
        self._zone = zone
        self._freshness = freshness_seconds
        self._clock = clock
        self._prepare = prepare
        self._state = _ExportState(columns=Columns(zone))
        self._snapshot: Snapshot | None = None
        self._checked_at: float | None = None
        self._error: SpucError | None = None
        self._once_per_process = PerProcess(self._fresh_locks)
        self.fetches = 0

    # --- what views call -----------------------------------------------------------

    def current(self, *, fresh: bool = False) -> Snapshot:
        """The records as last seen, at once; a stale copy starts a revalidation
        in the background. `fresh` revalidates first (after a submission).

        A copy more than STALE_WINDOWS freshness windows old (a quiet process:
        nobody asked for a while) is revalidated first too, so no view is ever
        that far behind SPUC; with a window of 0 every call revalidates first.
        Raises the SpucError of the last revalidation while it stands.
        """
        self._once_per_process()
        if fresh or self._age() >= STALE_WINDOWS * self._freshness:
            with self._revalidation:
                if fresh or not self._is_fresh():
                    self._revalidate()
        elif self._snapshot is None and self._error is None:
            self._wait_for_first_load()
        elif not self._is_fresh():
            self._revalidate_in_background()
        if self._error is not None:
            raise self._error
        assert self._snapshot is not None  # noqa: S101 - set by every successful revalidation
        return self._snapshot

    # --- per process ---------------------------------------------------------------

    def _fresh_locks(self) -> None:
        """Fresh locks and no running revalidation in a new (forked) process."""
        self._revalidation = threading.Lock()
        self._flag = threading.Lock()
        self._running: threading.Thread | None = None

    def _age(self) -> float:
        """Seconds since the last revalidation ended; 0 before the first."""
        checked = self._checked_at
        return 0.0 if checked is None else self._clock() - checked

    def _is_fresh(self) -> bool:
        return self._checked_at is not None and self._age() < self._freshness

    def _revalidate_in_background(self) -> threading.Thread | None:
        """Start one revalidation, unless one is already running in this process."""
        with self._flag:
            if self._running is not None and self._running.is_alive():
                return None
            self._running = threading.Thread(
                target=self._revalidate_once, name="spucsvi-revalidate", daemon=True
            )
            self._running.start()
            return self._running

    def _revalidate_once(self) -> None:
        """Revalidate in the background. Meanwhile threads switch every
        BACKGROUND_SWITCH_INTERVAL rather than every 5 ms, so a view never
        waits long for the interpreter while a new version is prepared."""
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(BACKGROUND_SWITCH_INTERVAL)
        try:
            with self._revalidation:
                if not self._is_fresh():
                    self._revalidate()
        except Exception:
            log.exception("Revalidating SPUC's records failed")
        finally:
            sys.setswitchinterval(switch_interval)

    def _wait_for_first_load(self) -> None:
        thread = self._revalidate_in_background() or self._running
        if thread is not None:
            thread.join(FIRST_LOAD_WAIT)
        if self._snapshot is None and self._error is None:
            raise StillLoading(
                "SPUCSVi is still reading SPUC's sightings for the first time. "
                "Please reload in a few seconds."
            )

    # --- revalidation (one at a time per process) ----------------------------------

    def _revalidate(self) -> None:
        """Fetch what is new and publish it; the check counts as done only then,
        so views never see the records while they are half up to date."""
        try:
            self._fetch()
        except SpucError as exc:
            self._error = exc
        else:
            self._error = None
        self._checked_at = self._clock()

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
        if self._prepare is not None:
            try:
                self._prepare(snapshot)
            except Exception:
                log.exception("Preparing the views of a new version failed; views derive them")
        self._snapshot = snapshot


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
