"""SPUC's records as the tests write and read them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from spucsvi.data.columns import Columns
from spucsvi.data.store import Snapshot
from spucsvi.spuc.records import HEADER as SPUC_HEADER
from spucsvi.spuc.records import Sighting, parse_line

# SPUC's header line, as its file holds it.
HEADER = SPUC_HEADER + "\n"

# SPUC's file as SPUC writes it: unquoted, a location with a comma and quotes, junk
# brightness, both units, and a location with a newline that broke its record in two.
DATA = (
    HEADER
    + '1,2026-11-27 18:02:00.027188,moon, "big" crater,100,iulu\n'
    + "2,2026-11-27 18:02:02,venus,7,iulu\n"
    + "3,2026-11-27 23:59:59.999999,venus,12.5,iuhc\n"
    + "4,2026-11-28 00:00:00,mars,junk,iuhc\n"
    + "5,2026-11-28 09:15:30.500000,mars,3,iuhc\n"
    + "6,2026-11-28 10:00:00,north\n"
    + "pole,4,iuhc\n"
)


def sighting(
    count: int, time: str, location: str = "venus", brightness: str = "7", units: str = "iuhc"
) -> Sighting:
    """A sighting exactly as the parser reads SPUC's line for it."""
    parsed = parse_line(f"{count},{time},{location},{brightness},{units}")
    assert parsed is not None
    return parsed


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def every_sighting(snapshot) -> list[Sighting]:
    """Every record of a snapshot, as objects."""
    return [snapshot.sighting(row) for row in range(len(snapshot))]


def snapshot_of(sightings, skipped: int = 0):
    """A snapshot of exactly these sightings, as the store would publish it."""
    columns = Columns()
    columns.extend(sightings)
    return Snapshot(columns, len(columns), skipped, 1)


def export_of_locations(distinct: int, *, frequent: int = 300, rare: Sequence[str] = ()) -> str:
    """SPUC's file with `distinct` locations, "Place 00000" on: the first `frequent`
    sighted twice, every other once, then each of `rare` once (the least sighted)."""
    start = datetime(2026, 11, 27)
    names = [f"Place {i:05d}" for i in range(distinct)]
    names = names[:frequent] + names + list(rare)
    return HEADER + "".join(
        f"{count},{start + timedelta(seconds=count)},{name},{count % 100},iuhc\n"
        for count, name in enumerate(names, start=1)
    )
