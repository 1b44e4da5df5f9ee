"""SPUC's records as append-only columns, shared by every snapshot of them.

A snapshot is only a length: rows below it never change, so a new sighting
costs work in proportion to what is new, never a copy of the history. Each
record costs a few machine words (benchmarks/README.md): times as integer
microseconds, text interned once per distinct value.

Other modules read the columns through this interface only: a row's values
(`sighting`, `time`, `location`...), batches of rows (`batch`), the rows a
filter keeps (`rows_of_locations`, `rows_in_window`) and the table's orders
(`ordered`). Besides the rows they keep the rows of each location and of
each brightness text (for filters and sorts that cost what the distinct
values cost, not a sort of every row) and, once a record arrived out of time
order, the time order; and the running tally of every row (data/tally.py)
that the unfiltered view reads.
"""

from __future__ import annotations

import heapq
import math
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any

from spucsvi.data.tally import Tally
from spucsvi.spuc.records import Sighting

EPOCH = datetime(1, 1, 1)
MICROSECOND = timedelta(microseconds=1)


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


class Batch:
    """Some rows' values, column by column, each a list in the rows' order;
    a column is read when first asked for (a run of rows is a slice)."""

    def __init__(self, columns: Columns, rows: Sequence[int]) -> None:
        self.rows = rows
        self._columns = columns

    def _take(self, column: array) -> list:
        rows = self.rows
        if isinstance(rows, range) and rows.step == 1:
            return column[rows.start : rows.stop].tolist()
        return list(map(column.__getitem__, rows))

    @cached_property
    def counts(self) -> list[int]:
        return self._take(self._columns.counts)

    @cached_property
    def times(self) -> list[datetime]:
        return [from_micros(moment) for moment in self._take(self._columns.times)]

    @cached_property
    def location_ids(self) -> list[int]:
        return self._take(self._columns.location_ids)

    @cached_property
    def brightness_ids(self) -> list[int]:
        return self._take(self._columns.brightness_ids)

    @cached_property
    def unit_ids(self) -> list[int]:
        return self._take(self._columns.unit_ids)

    @cached_property
    def values(self) -> list[float | None]:
        """Each row's brightness, None when not a number."""
        value = self._columns.brightness_of
        return [value[i] for i in self.brightness_ids]

    @property
    def locations(self) -> list[str]:
        return self._names(self._columns.locations, self.location_ids)

    @property
    def raw_brightness(self) -> list[str]:
        return self._names(self._columns.raw_brightness, self.brightness_ids)

    @property
    def units(self) -> list[str]:
        return self._names(self._columns.units, self.unit_ids)

    @staticmethod
    def _names(interned: Interned, ids: list[int]) -> list[str]:
        names = interned.values
        return [names[i] for i in ids]


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
        self.rows_by_location: list[array] = []
        self.rows_by_brightness: list[array] = []  # per raw brightness id
        self.time_sorted = True  # arrival order is also time order
        # Rows in time order (ties in arrival order), kept only once arrival
        # order is not time order any more; until then arrival order serves.
        self.time_order: array | None = None
        # Every row's figures, fed up to the newest snapshot a view asked for.
        self.tally = Tally()

    def __len__(self) -> int:
        return len(self.counts)

    def extend(self, sightings: Iterable[Sighting]) -> None:
        """Append parsed records."""
        with self.lock:
            rows_before = len(self.counts)
            for s in sightings:
                self._append(s)
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
            self.rows_by_brightness.append(array("I"))
        self.brightness_ids.append(raw)
        self.rows_by_brightness[raw].append(row)
        self.unit_ids.append(self.units.id(s.units))

    # --- one row ---------------------------------------------------------------------

    def brightness(self, row: int) -> float | None:
        return self.brightness_of[self.brightness_ids[row]]

    def location(self, row: int) -> str:
        return self.locations.values[self.location_ids[row]]

    def unit(self, row: int) -> str:
        return self.units.values[self.unit_ids[row]]

    def time(self, row: int) -> datetime:
        """When the row's sighting was recorded, in UTC."""
        return from_micros(self.times[row])

    def micros(self, row: int) -> int:
        """The row's time as microseconds (cheap to compare and to keep)."""
        return self.times[row]

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

    # --- rows at a time --------------------------------------------------------------

    def batch(self, rows: Sequence[int]) -> Batch:
        return Batch(self, rows)

    def batches(self, rows: Sequence[int], size: int) -> Iterator[Batch]:
        for start in range(0, len(rows), size):
            yield Batch(self, rows[start : start + size])

    def location_id(self, name: str) -> int | None:
        return self.locations.find(name)

    def brightness_id(self, raw: str) -> int | None:
        """The id of a brightness as SPUC wrote it, None when no row holds it."""
        return self.raw_brightness.find(raw)

    def location_names(self) -> list[str]:
        """Every distinct location, by id (appended to, never changed)."""
        return self.locations.values

    def location_name(self, location_id: int) -> str:
        return self.locations.values[location_id]

    def unit_name(self, unit_id: int) -> str:
        return self.units.values[unit_id]

    def rows_of_locations(self, location_ids: Iterable[int], length: int) -> list[int]:
        """The rows below `length` at any of these locations, in arrival order."""
        found = [self.rows_by_location[i] for i in dict.fromkeys(location_ids)]
        return list(heapq.merge(*(f[: bisect_left(f, length)] for f in found)))

    def rows_in_window(
        self, rows: Sequence[int], start: int | None, end: int | None, length: int
    ) -> Sequence[int]:
        """Of `rows` (below `length`), those from `start` to before `end` (microseconds)."""
        times = self.times
        if isinstance(rows, range) and rows == range(length) and self.time_sorted:
            low = 0 if start is None else bisect_left(times, start, 0, length)
            high = length if end is None else bisect_left(times, end, 0, length)
            return range(low, max(low, high))
        return [
            row
            for row in rows
            if (start is None or times[row] >= start) and (end is None or times[row] < end)
        ]

    def ordered(self, rows: Sequence[int], by: str, descending: bool, length: int) -> Sequence[int]:
        """Rows sorted by "time", "location" or "brightness". Ties keep arrival order,
        except in time order, where the later arrival of two equal times counts as the
        newer; a location sorts without case, unreadable brightness below every number."""
        if by == "time":
            if not self.time_sorted:
                rows = self._time_ordered(rows, length)
            return rows[::-1] if descending else rows
        if by == "location":
            keys: list = [name.casefold() for name in self.locations.values]
            index, ids = self.rows_by_location, self.location_ids
        else:
            keys = [-math.inf if v is None else v for v in self.brightness_of]
            index, ids = self.rows_by_brightness, self.brightness_ids
        if isinstance(rows, range) and rows.step == 1:
            return self._grouped(rows, keys, index, descending)
        return sorted(rows, key=lambda row: keys[ids[row]], reverse=descending)

    @staticmethod
    def _grouped(rows: range, keys: list, index: list[array], descending: bool) -> Sequence[int]:
        """A run of rows in the order of their values' keys, from the rows of each
        value (`index`): the same as a stable sort, in a time that follows the
        number of distinct values rather than of rows."""
        groups: dict[Any, list[array]] = {}
        for key, found in zip(keys, index, strict=True):
            groups.setdefault(key, []).append(found)
        ordered = array("I")
        for key in sorted(groups, reverse=descending):
            runs = [f[bisect_left(f, rows.start) : bisect_left(f, rows.stop)] for f in groups[key]]
            ordered.extend(runs[0] if len(runs) == 1 else heapq.merge(*runs))
        return ordered

    def _time_ordered(self, rows: Sequence[int], length: int) -> Sequence[int]:
        """`rows` sorted by time, ties in arrival order: for every row of the newest
        length a copy of the running order, else a sort."""
        if isinstance(rows, range) and rows == range(length):
            with self.lock:
                if length == len(self.counts) and self.time_order is not None:
                    return array("I", self.time_order)
        return sorted(rows, key=self.times.__getitem__)
