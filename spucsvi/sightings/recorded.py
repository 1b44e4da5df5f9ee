"""What SPUC recorded of a sighting, found by one search over a snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spucsvi.data.columns import micros
from spucsvi.data.store import Snapshot
from spucsvi.sightings.validation import SightingInput

# How far back from the newest record a sighting is looked for: SPUC may repeat
# a count, and its clock may put a record anywhere in time, so order is arrival.
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
    if isinstance(wanted, Identity):
        first, second = columns.counts, columns.times
        key = (wanted.count, micros(wanted.time_utc))
    else:
        location = columns.locations.find(wanted.location)
        brightness = columns.raw_brightness.find(wanted.brightness)
        if location is None or brightness is None:
            return None
        first, second = columns.location_ids, columns.brightness_ids
        key = (location, brightness)
    newest = snapshot.length - 1
    for row in range(newest, max(after - 1, newest - SEARCH_DEPTH), -1):
        if first[row] == key[0] and second[row] == key[1]:
            s = snapshot.sighting(row)
            return Recorded(s.count, s.time, s.location, s.raw_brightness, s.units, row)
    return None
