"""SPUC's records as append-only columns, shared by every snapshot of them.

A snapshot is only a length: rows below it never change, so a new sighting
costs work in proportion to what is new, never a copy of the history. Each
record costs a few machine words (benchmarks/README.md): times as integer
microseconds, text interned once per distinct value.

Besides the rows, the columns keep what the unfiltered dashboard needs as
running aggregates, extended with each new batch: rows per location, the
rows with a numeric brightness, their brightness in sorted order (for the
median and the histogram) and the extremes of each run of them (for the
reduced chart). Those mutate in place, so they are read only under `lock`
and only for the newest length (`is_latest`); anything older is derived
from its rows instead.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from sortedcontainers import SortedList

from spucsvi.spuc.records import Sighting

EPOCH = datetime(1, 1, 1)
MICROSECOND = timedelta(microseconds=1)
# Extremes of runs of numeric rows, at sizes growing 16-fold, for the reduced chart.
EXTREME_LEVELS = (16, 256, 4096, 65536)


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def as_utc(moment: datetime, zone: tzinfo) -> datetime:
    """A zoneless time of a clock in `zone`, as a zoneless UTC time."""
    if zone is UTC:
        return moment
    try:
        return moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # at the very ends of the calendar
        return moment


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


class Interned:
    """Distinct values, each stored once, numbered in order of first sight."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._ids: dict[str, int] = {}

    def id(self, value: str) -> int:
        found = self._ids.get(value)
        if found is None:
            found = self._ids[value] = len(self.values)
            self.values.append(value)
        return found

    def find(self, value: str) -> int | None:
        return self._ids.get(value)

    def __len__(self) -> int:
        return len(self.values)


class Extremes:
    """(brightness, position) of the lowest and highest of each run of `size`
    numeric rows; the last run may be partial and grows with new rows."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.lows: list[tuple[float, int]] = []
        self.highs: list[tuple[float, int]] = []

    def extend(self, values: Sequence[float], old_length: int) -> None:
        start = old_length
        if old_length % self.size:  # the last run is partial: only its new values are read
            start = min(len(values), old_length - old_length % self.size + self.size)
            new = [(values[i], i) for i in range(old_length, start)]
            if new:
                self.lows[-1] = min(self.lows[-1], min(new))
                self.highs[-1] = max(self.highs[-1], max(new))
        for first in range(start, len(values), self.size):
            run = [(values[i], i) for i in range(first, min(first + self.size, len(values)))]
            self.lows.append(min(run))
            self.highs.append(max(run))


class Columns:
    """Every record SPUC's file held, in arrival order."""

    def __init__(self, zone: tzinfo = UTC) -> None:
        self.lock = threading.Lock()
        # SPUC writes its clock's time without a zone: read in `zone`, kept in UTC.
        self.zone = zone
        self.counts = array("q")
        self.times = array("q")  # microseconds since 0001-01-01 UTC
        self.location_ids = array("I")
        self.brightness_ids = array("I")
        self.unit_ids = array("I")
        self.locations = Interned()
        self.raw_brightness = Interned()
        self.units = Interned()
        self.brightness_of: list[float | None] = []  # per raw brightness id
        # Running aggregates of every row (see the module docstring).
        self.rows_by_location: list[array] = []
        self.numeric_rows = array("I")  # rows with a numeric brightness
        self.numeric_values = array("d")  # their brightness, in the same order
        self.sorted_brightness: SortedList = SortedList()
        self.extremes = [Extremes(size) for size in EXTREME_LEVELS]
        self.time_sorted = True  # arrival order is also time order
        # Rows in time order (ties in arrival order), kept only once arrival
        # order is not time order any more; until then arrival order serves.
        self.time_order: array | None = None
        self.brightest: int | None = None  # first row with the highest brightness
        self.brightness_sum = 0.0

    def __len__(self) -> int:
        return len(self.counts)

    def is_latest(self, length: int) -> bool:
        """Whether nothing was appended after `length` rows (call under `lock`)."""
        return length == len(self.counts)

    def extend(self, sightings: Iterable[Sighting]) -> None:
        """Append parsed records and update the running aggregates."""
        with self.lock:
            rows_before = len(self.counts)
            numeric_before = len(self.numeric_values)
            for s in sightings:
                self._append(s)
            for extremes in self.extremes:
                extremes.extend(self.numeric_values, numeric_before)
            self._extend_time_order(rows_before)

    def _extend_time_order(self, rows_before: int) -> None:
        """Place the new rows in time order: a sort once, when a record first
        arrives out of time order, then a bisection and a move per new row."""
        if self.time_sorted:
            return
        times = self.times
        if self.time_order is None:
            self.time_order = array("I", sorted(range(len(times)), key=times.__getitem__))
            return
        order = self.time_order
        for row in range(rows_before, len(times)):
            order.insert(bisect_right(order, times[row], key=times.__getitem__), row)

    def _append(self, s: Sighting) -> None:
        row = len(self.counts)
        moment = micros(as_utc(s.time, self.zone))
        if row and self.time_sorted and moment < self.times[-1]:
            self.time_sorted = False
        self.counts.append(s.count)
        self.times.append(moment)
        location = self.locations.id(s.location)
        if location == len(self.rows_by_location):
            self.rows_by_location.append(array("I"))
        self.location_ids.append(location)
        self.rows_by_location[location].append(row)
        raw = self.raw_brightness.id(s.raw_brightness)
        if raw == len(self.brightness_of):
            self.brightness_of.append(s.brightness)
        self.brightness_ids.append(raw)
        self.unit_ids.append(self.units.id(s.units))
        value = self.brightness_of[raw]  # one float object per distinct text
        if value is not None:
            self.numeric_rows.append(row)
            self.numeric_values.append(value)
            self.sorted_brightness.add(value)
            self.brightness_sum += value
            if self.brightest is None or value > self.brightness(self.brightest):  # type: ignore[operator]
                self.brightest = row

    def brightness(self, row: int) -> float | None:
        return self.brightness_of[self.brightness_ids[row]]

    def location(self, row: int) -> str:
        return self.locations.values[self.location_ids[row]]

    def sighting(self, row: int) -> Sighting:
        raw = self.brightness_ids[row]
        return Sighting(
            self.counts[row],
            from_micros(self.times[row]),
            self.locations.values[self.location_ids[row]],
            self.brightness_of[raw],
            self.raw_brightness.values[raw],
            self.units.values[self.unit_ids[row]],
        )
