"""The sightings store: SPUC's records as this process last saw them.

SPUC's export only grows, so after the first download the store asks for
what is new: `If-None-Match` answers 304 when nothing changed, and
`Range: bytes=N-` fetches only the appended bytes. The range starts a few
bytes early so the overlap can be compared; a mismatch, a 416 or a smaller
file means SPUC's file was replaced, and the store downloads it whole again.
One refresh runs at a time; views within the freshness window share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from spucsvi.data.aggregates import Aggregates
from spucsvi.spuc.client import ExportResponse, SpucClient, SpucError
from spucsvi.spuc.records import Sighting, parse_lines

OVERLAP_BYTES = 64


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the records; `version` changes whenever they do."""

    sightings: tuple[Sighting, ...] = ()
    skipped: int = 0
    version: int = 0
    aggregates: Aggregates = field(default_factory=Aggregates)


@dataclass
class _ExportState:
    """What is known of SPUC's file: how much was consumed, and its last bytes."""

    etag: str | None = None
    total: int | None = None  # the file's size at the last answer
    consumed: int = 0
    tail: bytes = b""
    sightings: list[Sighting] = field(default_factory=list)
    skipped: int = 0
    aggregates: Aggregates = field(default_factory=Aggregates)


class SightingsStore:
    def __init__(
        self,
        client: SpucClient,
        *,
        freshness_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = client
        self._freshness = freshness_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _ExportState()
        self._snapshot = Snapshot()
        self._checked_at: float | None = None
        self._error: SpucError | None = None
        self._refreshed_in_background = False
        self.fetches = 0

    def current(self) -> Snapshot:
        """The records, revalidated with SPUC when older than the freshness window.

        Raises the SpucError of the last revalidation while it is still fresh,
        so that a SPUC that is down costs one timeout per window, not per view.
        """
        if not self._is_fresh():
            with self._lock:
                if not self._is_fresh():
                    self._revalidate()
        if self._error is not None:
            raise self._error
        return self._snapshot

    def invalidate(self) -> None:
        """Make the next view revalidate (after a submission through SPUCSVi)."""
        self._checked_at = None

    def refresh(self, prepare: Callable[[Snapshot], object] | None = None) -> Snapshot:
        """Revalidate now, from a background thread; from then on views leave
        revalidation to it, except right after `invalidate`.

        `prepare` sees a new snapshot before views do, so that what they ask
        for (the rendered page) is ready when they see the new version.
        """
        self._refreshed_in_background = True
        with self._lock:
            self._revalidate(prepare)
        if self._error is not None:
            raise self._error
        return self._snapshot

    def _is_fresh(self) -> bool:
        checked = self._checked_at
        if checked is None:
            return False
        return self._refreshed_in_background or self._clock() - checked < self._freshness

    def _revalidate(self, prepare: Callable[[Snapshot], object] | None = None) -> None:
        """Fetch what is new and publish it; the check counts as done only then,
        so views never see the records while they are half up to date."""
        try:
            changed = self._fetch()
        except SpucError as exc:
            self._error = exc
            self._checked_at = self._clock()
            return
        if changed:
            state = self._state
            snapshot = Snapshot(
                tuple(state.sightings),
                state.skipped,
                self._snapshot.version + 1,
                state.aggregates,
            )
            if prepare is not None:
                prepare(snapshot)
            self._snapshot = snapshot
        self._error = None
        self._checked_at = self._clock()

    def _fetch(self) -> bool:
        """Bring the state up to date; return whether the records changed."""
        state = self._state
        if state.etag is None:
            return self._replace(self._get())
        start = state.consumed - len(state.tail)
        response = self._get(etag=state.etag, offset=start)
        if response.status == 304:
            return False
        if response.status == 206 and self._continues(response, start):
            state.total = response.total
            return self._append(response.body[len(state.tail) :], response.etag)
        if response.status == 200 or response.empty:
            return self._replace(response)
        return self._replace(self._get())

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

    def _replace(self, response: ExportResponse) -> bool:
        old = self._state
        self._state = _ExportState(etag=response.etag, total=response.total)
        self._append(response.body, response.etag)
        return bool(old.sightings or old.skipped or self._state.sightings or self._state.skipped)

    def _append(self, data: bytes, etag: str | None) -> bool:
        """Parse the complete lines of `data`; keep a partial last line for later."""
        state = self._state
        state.etag = etag
        end = data.rfind(b"\n") + 1
        if end == 0:
            return False
        complete = data[:end]
        sightings, skipped = parse_lines(complete.decode("utf-8", "replace").split("\n")[:-1])
        state.sightings.extend(sightings)
        state.aggregates = state.aggregates.extended(sightings)
        state.skipped += skipped
        state.consumed += end
        state.tail = (state.tail + complete)[-OVERLAP_BYTES:]
        return bool(sightings or skipped)
