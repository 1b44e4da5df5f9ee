"""Sending a sighting to SPUC, one at a time across every worker of a server.

SPUC counts without a lock, and while its file does not exist yet concurrent
writers truncate each other's records (docs/spuc.md). A file lock shared by
all worker processes makes SPUCSVi send submissions one after another.

A submission waiting for that lock holds a request thread, so waiting is
bounded: at most SUBMITTING submissions of a process hold a turn at once (one
sending, one waiting for the lock at most LOCK_WAIT seconds). A further one
waits for a turn while SPUC keeps up. Whoever takes or frees the lock notes the
time in a file beside it (`<lock>.since`), so every process sees how long the
current submission has been at SPUC: once that is over OVERDUE seconds, SPUC
is slow, and every waiter is told to try again at once (503, Retry-After). A
slow SPUC then costs a worker at most SUBMITTING threads for long, and the
others stay free for /healthz and the pages.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from filelock import FileLock, Timeout

from spucsvi.data.store import SightingsStore
from spucsvi.metrics import noting_refusal
from spucsvi.per_process import PerProcess
from spucsvi.settings import Settings, UnsafeFolder
from spucsvi.sightings.recorded import Recorded, find_recorded
from spucsvi.sightings.validation import SightingInput
from spucsvi.spuc.client import SpucClient, SpucError

log = logging.getLogger(__name__)

# Submissions of one process under way at once: one sending, one waiting for the lock.
SUBMITTING = 2
# Seconds a submission waits for the lock, at most; and the age of a turn after
# which SPUC is taken to be slow, so that no further submission waits for one.
LOCK_WAIT = 4.0
OVERDUE = 1.5
BUSY = (
    "SPUCSVi is busy sending other sightings to SPUC. "
    "Your sighting was not sent: please try again in a moment."
)

UNAVAILABLE = (
    "SPUCSVi cannot send sightings right now: its submit lock is unusable "
    "(the operator has been told in the logs). Your sighting was not sent."
)


class _Turns:
    """A process's turns to submit, with the time each was taken."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.taken: list[float] = []

    def take(self, since: Path) -> float | None:
        """A turn (its start time), or None when SPUC is slow or none came in time."""
        deadline = time.monotonic() + LOCK_WAIT
        with self.changed:
            while len(self.taken) >= SUBMITTING:
                now = time.monotonic()
                if now >= deadline or spuc_is_slow(since):
                    return None
                self.changed.wait(timeout=min(0.05, deadline - now))
            started = time.monotonic()
            self.taken.append(started)
            return started

    def give_back(self, started: float) -> None:
        with self.changed:
            self.taken.remove(started)
            self.changed.notify()


_process_turns = PerProcess(_Turns)


class SubmissionsBusy(SpucError):
    status = 503
    retry_after = 2


class SubmissionsUnavailable(SpucError):
    status = 503


def spuc_is_slow(since: Path) -> bool:
    """Whether the submission holding the lock has been at SPUC over OVERDUE seconds."""
    try:
        return time.time() - since.stat().st_mtime > OVERDUE
    except OSError:
        return False


def _take_lock(lock: FileLock, since: Path) -> None:
    """The lock, waited for at most LOCK_WAIT seconds, and not at all once SPUC is slow."""
    started = time.monotonic()
    while True:
        try:
            lock.acquire(timeout=0.05)
        except Timeout:
            waited = time.monotonic() - started
            if waited >= LOCK_WAIT or (waited > OVERDUE and spuc_is_slow(since)):
                raise
            continue
        since.touch()
        return


@noting_refusal  # counts a refusal by its reason (busy, SPUC down) in /metrics
def submit_sighting(
    sighting: SightingInput, client: SpucClient, store: SightingsStore, settings: Settings
) -> Recorded | None:
    """Record the sighting at SPUC and return SPUC's record of it, None when its
    export cannot show it (turned off, down); the next view then shows it too."""
    try:
        path = settings.lock_path
    except UnsafeFolder as exc:
        log.error("Cannot take the submit lock: %s", exc)
        raise SubmissionsUnavailable(UNAVAILABLE) from None
    since = path.with_name(f"{path.name}.since")
    turns = _process_turns()
    turn = turns.take(since)
    if turn is None:
        raise SubmissionsBusy(BUSY)
    before = _records_known(store)
    lock = FileLock(path)
    try:
        _take_lock(lock, since)
        try:
            client.record_sighting(sighting.location, sighting.brightness)
        finally:
            since.touch()  # free since now: waiters judge SPUC by the next holder
            lock.release()
    except Timeout:
        raise SubmissionsBusy(BUSY) from None
    except (UnsafeFolder, OSError) as exc:
        log.error("Cannot take the submit lock: %s", exc)
        raise SubmissionsUnavailable(UNAVAILABLE) from None
    finally:
        turns.give_back(turn)
    # Outside the lock, which serialises what SPUC must not get at once (the PUTs),
    # not the reading back of its export.
    try:
        snapshot = store.current(fresh=True)
    except SpucError:
        return None
    return find_recorded(snapshot, sighting, after=before)


def _records_known(store: SightingsStore) -> int:
    """How many of SPUC's records this process holds now: the one sent comes after
    them (none known: it may be any)."""
    try:
        return len(store.current())
    except SpucError:
        return 0
