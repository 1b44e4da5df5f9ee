"""What SPUC recorded of a sighting, found by one search over a snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from spucsvi.data.store import Snapshot
from spucsvi.sightings.validation import SightingInput

# How far back from the newest record a sighting is looked for: SPUC may repeat
# a count, and its clock may put a record anywhere in time, so order is arrival.
# Rows read at a time: the record is nearly always among the newest few.
SEARCH_BATCH = 64
SEARCH_DEPTH = 10_000


@dataclass(frozen=True)
class Identity:
    """What tells SPUC's records apart, as far as SPUC lets it: its count and its
    time, both as SPUC wrote them, the time read in SPUC's zone and kept in UTC."""

    count: int
    time_utc: datetime  # zoneless, UTC


@dataclass(frozen=True)
class Recorded(Identity):
    """SPUC's record of a sighting, and where it stands in the snapshot it was found in."""

    location: str
    brightness: str  # as SPUC wrote it
    units: str
    row: int


def find_recorded(
    snapshot: Snapshot, wanted: Identity | SightingInput, *, after: int = 0
) -> Recorded | None:
    """The newest of the last SEARCH_DEPTH records, and of those from row `after`
    on, that is `wanted`: right after sending, the one with what was sent (should
    someone else send the same meanwhile, either reads the same; `after` keeps an
    older record with the same values out when SPUC's export could not be read
    again); later, the one with SPUC's count and time."""
    columns = snapshot.columns
    key: tuple
    if isinstance(wanted, Identity):
        key = (wanted.count, wanted.time_utc)
    else:
        key = (columns.location_id(wanted.location), columns.brightness_id(wanted.brightness))
        if None in key:
            return None
    newest = snapshot.length - 1
    searched = range(newest, max(after - 1, newest - SEARCH_DEPTH), -1)
    for batch in columns.batches(searched, SEARCH_BATCH):  # the newest first, few read
        found: Iterable[tuple]
        if isinstance(wanted, Identity):
            found = zip(batch.counts, batch.times, strict=True)
        else:
            found = zip(batch.location_ids, batch.brightness_ids, strict=True)
        for row, values in zip(batch.rows, found, strict=True):
            if values == key:
                s = snapshot.sighting(row)
                return Recorded(s.count, s.time, s.location, s.raw_brightness, s.units, row)
    return None
