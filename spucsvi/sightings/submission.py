"""Sending a sighting to SPUC, one at a time across every worker of a server.

SPUC counts without a lock, and while its file does not exist yet concurrent
writers truncate each other's records (docs/spuc.md). A lock shared by all
worker processes makes SPUCSVi send submissions one after another: a lock file
on one host, or a Redis lock shared by replicas on several (spucsvi/shared_state.py).

A submission waiting for that lock holds a request thread, so waiting is
bounded: at most SUBMITTING submissions of a process hold a turn at once (one
sending, one waiting for the lock at most LOCK_WAIT seconds). A further one
waits for a turn while SPUC keeps up. Whoever takes or frees the lock marks the
time (`SubmitLock.mark`), so every process sees how long the current
submission has been at SPUC: once that is over OVERDUE seconds, SPUC is slow,
and every waiter is told to try again at once (503, Retry-After). A slow SPUC
then costs a worker at most SUBMITTING threads for long, and the others stay
free for /healthz and the pages.
"""

from __future__ import annotations

import logging
import threading
import time

from spucsvi import shared_state
from spucsvi.data.store import SightingsStore
from spucsvi.metrics import noting_refusal
from spucsvi.per_process import PerProcess
from spucsvi.settings import Settings
from spucsvi.shared_state import LockUnusable, SubmitLock
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
    "SPUCSVi cannot send sightings right now: the lock that keeps submissions in order "
    "is unusable (the operator has been told in the logs). Your sighting was not sent: "
    "please try again later."
)


class _Turns:
    """A process's turns to submit, with the time each was taken."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.taken: list[float] = []

    def take(self, lock: SubmitLock) -> float | None:
        """A turn (its start time), or None when SPUC is slow or none came in time."""
        deadline = time.monotonic() + LOCK_WAIT
        with self.changed:
            while len(self.taken) >= SUBMITTING:
                now = time.monotonic()
                if now >= deadline or spuc_is_slow(lock):
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


def spuc_is_slow(lock: SubmitLock) -> bool:
    """Whether the submission holding the lock has been at SPUC over OVERDUE seconds."""
    since = lock.since_mark()
    return since is not None and since > OVERDUE


def _take_lock(lock: SubmitLock) -> bool:
    """The lock, waited for at most LOCK_WAIT seconds, and not at all once SPUC is slow."""
    started = time.monotonic()
    while not lock.acquire(timeout=0.05):
        waited = time.monotonic() - started
        if waited >= LOCK_WAIT or (waited > OVERDUE and spuc_is_slow(lock)):
            return False
    lock.mark()
    return True


def _free(lock: SubmitLock) -> None:
    """Mark the lock free since now (waiters judge SPUC by the next holder) and free
    it. The sighting has gone to SPUC by now, so a lock that fails here is only
    logged: a Redis lock expires on its own."""
    try:
        lock.mark()
    except LockUnusable as exc:
        log.error("Cannot mark the submit lock free: %s", exc)
    finally:
        lock.release()


@noting_refusal  # counts a refusal by its reason (busy, SPUC down) in /metrics
def submit_sighting(
    sighting: SightingInput, client: SpucClient, store: SightingsStore, settings: Settings
) -> Recorded | None:
    """Record the sighting at SPUC and return SPUC's record of it, None when its
    export cannot show it (turned off, down); the next view then shows it too."""
    try:
        lock = shared_state.backend(settings).submit_lock()
        turns = _process_turns()
        turn = turns.take(lock)
    except LockUnusable as exc:
        log.error("Cannot take the submit lock: %s", exc)
        raise SubmissionsUnavailable(UNAVAILABLE) from None
    if turn is None:
        raise SubmissionsBusy(BUSY)
    before = _records_known(store)
    try:
        if not _take_lock(lock):
            raise SubmissionsBusy(BUSY)
        try:
            client.record_sighting(sighting.location, sighting.brightness)
        finally:
            _free(lock)
    except LockUnusable as exc:
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
