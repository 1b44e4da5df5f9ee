"""SPUC's export file, read exactly as SPUC writes it (docs/spuc.md, "The export file").

This module knows every quirk of that file and nothing else: no HTTP, no Flask,
only pure functions, so the rest of SPUCSVi never has to think about them.

SPUC writes each sighting as ``f"{count},{datetime.now()},{location},{brightness},{units}"``
without quoting and without checking anything, so:

- a location with commas spreads over several fields: count and time are the
  first two fields, brightness and units the last two, the location is what
  lies between;
- a location with a newline breaks a record over two lines; both fragments are
  skipped and counted, because neither has a count and a time at the front
  *and* a brightness and units at the end;
- brightness is whatever was submitted, so junk is kept as text and only
  finite numbers become floats;
- before the first sighting, SPUC answers a JSON message instead of a file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

UNIT_NAMES = {
    "iuhc": "Imperial Unicorn Hoove Candles",
    "iulu": "Intergalactic Unicorn Luminosity Units",
}
HEADER = "count,time,location,brightness,units"
# The columns keep counts as 64-bit integers (data/columns.py); SPUC never gets near.
MAX_COUNT = 2**63 - 1

_EMPTY_ANSWER = {"message": "No unicorn sightings yet!"}

# Exactly what str(datetime) writes: datetime.fromisoformat alone would also take
# "T" separators, time zones, short fractions and non-ASCII digits. A regex on
# this one short field is the cheapest exact shape check (measured against slicing).
_TIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{6})?", re.ASCII).fullmatch


@dataclass(frozen=True, slots=True)
class Sighting:
    """One line of SPUC's file."""

    count: int
    time: datetime  # naive, as SPUC wrote it (container local time, usually UTC)
    location: str
    brightness: float | None  # None when SPUC stored something that is not a finite number
    raw_brightness: str  # exactly what SPUC stored, so nothing is lost for display/CSV
    units: str  # kept as written, even an unknown code


@dataclass(frozen=True, slots=True)
class ParsedExport:
    """A whole export: the sightings in file order and how many lines were unreadable."""

    sightings: tuple[Sighting, ...]
    skipped: int  # lines that are not a record, not counting header and empty lines


def parse_export(data: bytes | str) -> ParsedExport:
    """Read a full ``GET /export`` answer: the file, or SPUC's JSON "none yet" message."""
    text = _decode(data)
    if _is_empty_answer(text):
        return ParsedExport((), 0)
    sightings, skipped = parse_lines(text.split("\n"))
    return ParsedExport(tuple(sightings), skipped)


def parse_lines(lines: Iterable[str]) -> tuple[list[Sighting], int]:
    """Read complete lines, e.g. the text appended since the last fetch.

    Each item is one line, with or without its "\\n" or "\\r\\n". A header line is
    ignored wherever it appears: the file starts over with one after its volume
    is deleted. Returns the sightings in order and the number of skipped lines.
    """
    sightings: list[Sighting] = []
    skipped = 0
    for line in lines:
        line = line.removesuffix("\n").removesuffix("\r")
        if not line or line == HEADER:
            continue
        sighting = _parse(line)
        if sighting is None:
            skipped += 1
        else:
            sightings.append(sighting)
    return sightings, skipped


def parse_line(line: str) -> Sighting | None:
    """Read one line (a trailing "\\r" is ignored); None when it is not a record."""
    return _parse(line.removesuffix("\r"))


def format_line(s: Sighting) -> str:
    """The line exactly as SPUC writes it for this sighting, without its newline."""
    return f"{s.count},{s.time},{s.location},{s.raw_brightness},{s.units}"


def is_empty_message(data: bytes | str) -> bool:
    """True for SPUC's ``{"message": "No unicorn sightings yet!"}`` answer."""
    return _is_empty_answer(_decode(data))


def _decode(data: bytes | str) -> str:
    """Text without a leading BOM; bad bytes become U+FFFD rather than an error."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text.removeprefix("\ufeff")


def _is_empty_answer(text: str) -> bool:
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return False  # a file never looks like this, so most calls stop here
    try:
        return json.loads(text) == _EMPTY_ANSWER
    except (ValueError, RecursionError):
        return False


def _parse(line: str) -> Sighting | None:
    """The record on a line already stripped of its line ending, or None."""
    head = line.split(",", 2)
    if len(head) != 3:
        return None
    count, stamp, rest = head
    tail = rest.rsplit(",", 2)
    if len(tail) != 3:
        return None
    location, raw, units = tail
    if not (count.isascii() and count.isdigit()) or units.split() != [units]:
        return None
    if _TIME_SHAPE(stamp) is None:
        return None
    try:
        number = int(count)  # fails only beyond Python's int digit limit
        time = datetime.fromisoformat(stamp)  # fails on impossible dates like month 13
    except ValueError:
        return None
    if number > MAX_COUNT:
        return None
    return Sighting(number, time, location, _brightness(raw), raw, units)


def _brightness(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
