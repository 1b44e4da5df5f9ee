"""Sending a sighting to SPUC, one at a time across every worker of a server.

SPUC counts without a lock, and while its file does not exist yet concurrent
writers truncate each other's records (docs/spuc.md). A file lock shared by
all worker processes makes SPUCSVi send submissions one after another.
"""

from __future__ import annotations

from filelock import FileLock, Timeout

from spucsvi.data.store import SightingsStore
from spucsvi.settings import Settings
from spucsvi.spuc.client import SpucClient, SpucError
from spucsvi.web.confirmation import Recorded
from spucsvi.web.validation import SightingInput

# How many of the newest records are searched for the one just sent.
RECENT = 50


class SubmissionsBusy(SpucError):
    status = 503


def submit_sighting(
    sighting: SightingInput, client: SpucClient, store: SightingsStore, settings: Settings
) -> Recorded:
    """Record the sighting at SPUC and return SPUC's record of it, as far as
    its export shows it; the next view then shows it too."""
    wait = settings.connect_timeout + settings.read_timeout
    try:
        with FileLock(settings.lock_path, timeout=wait):
            client.record_sighting(sighting.location, sighting.brightness)
            return find_recorded(sighting, store)
    except Timeout:
        raise SubmissionsBusy(
            "SPUCSVi is busy sending other sightings to SPUC. "
            "Your sighting was not sent: please try again in a moment."
        ) from None


def find_recorded(sighting: SightingInput, store: SightingsStore) -> Recorded:
    """The newest record matching what was sent, read while no other submission
    from this server can come in between."""
    recorded = Recorded(sighting.location, sighting.brightness)
    try:
        snapshot = store.current(fresh=True)
    except SpucError:
        return recorded  # recorded, but the export cannot show it (turned off, down)
    for row in range(len(snapshot) - 1, max(-1, len(snapshot) - 1 - RECENT), -1):
        s = snapshot.sighting(row)
        if s.location == sighting.location and s.raw_brightness == sighting.brightness:
            return Recorded(s.location, s.raw_brightness, s.count, str(s.time), s.units)
    return recorded
