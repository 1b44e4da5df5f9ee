"""Sending a sighting to SPUC, one at a time across every worker of a server.

SPUC counts without a lock, and while its file does not exist yet concurrent
writers truncate each other's records (see SPUC.md). A file lock shared by all
worker processes makes SPUCSVi send submissions one after another.
"""

from __future__ import annotations

from filelock import FileLock, Timeout

from spucsvi.data.store import SightingsStore
from spucsvi.settings import Settings
from spucsvi.spuc.client import SpucClient, SpucError
from spucsvi.web.validation import SightingInput


class SubmissionsBusy(SpucError):
    status = 503


def submit_sighting(
    sighting: SightingInput, client: SpucClient, store: SightingsStore, settings: Settings
) -> None:
    """Record the sighting at SPUC; the next view then shows it."""
    wait = settings.connect_timeout + settings.read_timeout
    try:
        with FileLock(settings.lock_path, timeout=wait):
            try:
                client.record_sighting(sighting.location, sighting.brightness)
            finally:
                # Also after a failure: a 5xx may still have recorded it.
                store.invalidate()
    except Timeout:
        raise SubmissionsBusy(
            "SPUCSVi is busy sending other sightings to SPUC. "
            "Your sighting was not sent: please try again in a moment."
        ) from None
