"""The one reduction of a set of rows to what the summary and the charts need.

A `Tally` is extended batch by batch (`Columns.batch`): the unfiltered view's
tally follows the columns as rows are appended, one snapshot after another,
and a filtered view's is made from its selection, by the same code, so both
give the very same figures. `Tally.facts` freezes what it holds into `Facts`,
which the summary (data/derived.py) and the figures (data/charts.py) read.
"""

from __future__ import annotations

import math
import operator
import threading
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import reduce
from typing import TYPE_CHECKING

from sortedcontainers import SortedList

from spucsvi.data.display import MAX_UNITS_LISTED, OtherUnits

if TYPE_CHECKING:
    from spucsvi.data.columns import Batch, Columns

# Most points a time chart draws; more sightings are reduced to this.
MAX_TIME_POINTS = 2000
# Extremes of runs of numeric rows, at sizes growing 16-fold, for the reduced chart.
EXTREME_LEVELS = (16, 256, 4096, 65536)
# A histogram has about sqrt(n) bins of n values (the square-root rule), at most this
# many: five sightings are three bars, not five slivers among thirty bins.
MAX_HISTOGRAM_BINS = 30


class Extremes:
    """(brightness, position) of the lowest and highest of each run of `size`
    values; the last run may be partial and grows with new values."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.length = 0  # values read so far
        self.lows: list[tuple[float, int]] = []
        self.highs: list[tuple[float, int]] = []

    def extend(self, values: Sequence[float]) -> None:
        """Read the values appended since the last call."""
        old_length, start = self.length, self.length
        if old_length % self.size:  # the last run is partial: only its new values are read
            start = min(len(values), old_length - old_length % self.size + self.size)
            if start > old_length:
                low, high = self._run(values, old_length, start)
                self.lows[-1], self.highs[-1] = min(self.lows[-1], low), max(self.highs[-1], high)
        for first in range(start, len(values), self.size):
            low, high = self._run(values, first, min(first + self.size, len(values)))
            self.lows.append(low)
            self.highs.append(high)
        self.length = len(values)

    @staticmethod
    def _run(
        values: Sequence[float], first: int, stop: int
    ) -> tuple[tuple[float, int], tuple[float, int]]:
        """The run's (value, position) pairs' smallest and largest: the first of its
        lowest values and the last of its highest (values are finite, never NaN)."""
        run = values[first:stop]
        low, high = min(run), max(run)
        last_high = len(run) - 1 - run[::-1].index(high)
        return (low, first + run.index(low)), (high, first + last_high)


class Prefix(Sequence):
    """The first `length` items of an append-only array: what a tally held when its
    facts were taken, without a copy (an array's items never change once appended)."""

    def __init__(self, items: array, length: int) -> None:
        self._items, self._length = items, length

    def __len__(self) -> int:
        return self._length

    def __iter__(self):
        return iter(self._items[: self._length])  # copied in C, not item by item

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prefix) and self[:] == other[:]

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._items[slice(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return self._items[index % self._length]


@dataclass(frozen=True)
class Histogram:
    """Bins of one unit's values: `len(counts)` bins of `width` from `start`, their
    edges round numbers (1, 2 or 5 times a power of ten), each [edge, next edge)."""

    start: float = 0.0
    width: float = 1.0
    counts: Sequence[int] = ()
    low: float = 0.0  # the lowest and highest value counted
    high: float = 0.0

    def edges(self, i: int) -> tuple[float, float]:
        return self.start + i * self.width, self.start + (i + 1) * self.width


@dataclass(frozen=True)
class Series:
    """The rows of one unit with a numeric brightness, in arrival order, and their figures."""

    unit: str
    rows: Sequence[int]
    values: Sequence[float]
    # (run size, lows, highs) of `values` when the chart must be reduced, else empty.
    extremes: Sequence = ()
    histogram: Histogram = Histogram()  # of this unit's values, on its own scale
    brightest: int | None = None  # the first row of the highest brightness
    mean: float | None = None
    median: float | None = None


@dataclass(frozen=True)
class Facts:
    """What a set of rows comes to, frozen: the tally goes on growing."""

    rows: Sequence[int]
    latest: int | None
    # The brightness figures over every row only where one unit has numbers: figures
    # in two units are never compared or averaged together (each is in `series`).
    brightest: int | None
    mean: float | None
    median: float | None
    series: tuple[Series, ...]  # one per unit in the rows, in unit order
    locations: Counter  # sightings per location, in order of first sight

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(one.unit for one in self.series)


class _Unit:
    """The running figures of one unit's rows."""

    def __init__(self) -> None:
        self.rows = array("I")
        self.values = array("d")
        self.ordered: SortedList = SortedList()
        self.total = 0.0  # added one by one in arrival order
        self.brightest: int | None = None
        self.highest = -math.inf
        self.extremes = [Extremes(size) for size in EXTREME_LEVELS]

    def extend(self, rows: Sequence[int], values: Sequence[float]) -> None:
        self.rows.extend(rows)
        self.values.extend(values)
        self.ordered.update(values)
        self.total = reduce(operator.add, values, self.total)
        best = max(range(len(values)), key=values.__getitem__)  # the first of equals
        if self.brightest is None or values[best] > self.highest:
            self.brightest, self.highest = rows[best], values[best]

    def series(self, unit: str) -> Series:
        """Views of what may still grow, and the runs the reduced chart needs."""
        n = len(self.values)
        extremes: list = []
        for runs in reversed(self.extremes):
            if n // runs.size >= MAX_TIME_POINTS // 2:
                runs.extend(self.values)
                extremes = [(runs.size, runs.lows[:], runs.highs[:])]
                break
        return Series(
            unit,
            Prefix(self.rows, n),
            Prefix(self.values, n),
            extremes,
            histogram_of(self.ordered),
            self.brightest,
            mean(self.total, self.values),
            median(self.ordered),
        )


class Tally:
    """Running figures of the rows fed to it, in arrival order. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.length = 0  # rows fed so far
        self.latest: int | None = None
        self.location_ids: Counter = Counter()
        self.units: dict[int, _Unit] = {}  # by unit id

    def extend(self, batch: Batch) -> None:
        rows = batch.rows
        if not rows:
            return
        self.length += len(rows)
        self.latest = rows[-1]
        self.location_ids.update(batch.location_ids)
        values, unit_ids = batch.values, batch.unit_ids
        numeric = values if None not in values else [v for v in values if v is not None]
        units = dict.fromkeys(unit_ids)
        # Many codes (SPUC's file may hold thousands): one pass over the rows, not one per code.
        grouped = _by_unit(rows, unit_ids, values) if len(units) > MAX_UNITS_LISTED else None
        unit_rows: Sequence[int]
        unit_values: Sequence[float]
        for unit in units:
            # Lists made in C's loops: no tuple per row (a tuple per row wakes the GC).
            if grouped is not None:
                unit_rows, unit_values = grouped.get(unit, ([], []))
            elif len(units) == 1:
                unit_values = numeric  # type: ignore[assignment]
                unit_rows = rows if numeric is values else self._kept(rows, values)
            else:
                both = zip(unit_ids, values, strict=True)
                unit_values = [v for u, v in both if u == unit and v is not None]
                unit_rows = [
                    row
                    for row, u, v in zip(rows, unit_ids, values, strict=True)
                    if u == unit and v is not None
                ]
            running = self.units.get(unit) or self.units.setdefault(unit, _Unit())
            if unit_values:
                running.extend(unit_rows, unit_values)

    @staticmethod
    def _kept(rows: Sequence[int], values: Sequence[float | None]) -> list[int]:
        return [row for row, value in zip(rows, values, strict=True) if value is not None]

    def facts(self, columns: Columns, rows: Sequence[int]) -> Facts:
        """What the rows fed so far (`rows`) come to."""
        named = sorted((columns.unit_name(unit), running) for unit, running in self.units.items())
        series = listed_series(named)
        numeric = [one for one in series if one.rows]
        only = numeric[0] if len(numeric) == 1 else Series("", (), ())
        return Facts(
            rows,
            self.latest,
            only.brightest,
            only.mean,
            only.median,
            series,
            Counter({columns.location_name(i): n for i, n in self.location_ids.items()}),
        )


def _by_unit(
    rows: Sequence[int], unit_ids: Sequence[int], values: Sequence[float | None]
) -> dict[int, tuple[list[int], list[float]]]:
    """The rows with a numeric brightness and their values, by unit id."""
    grouped: dict[int, tuple[list[int], list[float]]] = {}
    for row, unit, value in zip(rows, unit_ids, values, strict=True):
        if value is not None:
            unit_rows, unit_values = grouped.setdefault(unit, ([], []))
            unit_rows.append(row)
            unit_values.append(value)
    return grouped


def listed_series(named: list[tuple[str, _Unit]]) -> tuple[Series, ...]:
    """A series per unit, in the order given; beyond MAX_UNITS_LISTED units, the least
    used (by numeric sightings) together as one, `OtherUnits`, last: SPUC's file may
    hold thousands of codes, and each would be a legend entry, a trace, a figure.
    Figures over different units mean nothing: that one has none."""
    if len(named) <= MAX_UNITS_LISTED:
        return tuple(running.series(name) for name, running in named)
    by_use = sorted(named, key=lambda pair: -len(pair[1].rows))
    kept = {id(running) for _, running in by_use[: MAX_UNITS_LISTED - 1]}
    listed = [running.series(name) for name, running in named if id(running) in kept]
    rest = sorted(
        pair
        for _, running in named
        if id(running) not in kept
        for pair in zip(running.rows, running.values, strict=True)
    )
    other = _Unit()
    if rest:
        other.extend(array("I", (row for row, _ in rest)), [value for _, value in rest])
    folded = other.series(OtherUnits(len(named) - len(listed)))
    return (*listed, replace(folded, brightest=None, mean=None, median=None))


def tally_of(columns: Columns, rows: Sequence[int]) -> Facts:
    tally = Tally()
    tally.extend(columns.batch(rows))
    return tally.facts(columns, rows)


def histogram_of(ordered: SortedList) -> Histogram:
    """Round-edged bins over sorted values, about sqrt(n) of them (at most
    MAX_HISTOGRAM_BINS), counted by bisection: the cost does not grow with n."""
    n = len(ordered)
    if not n:
        return Histogram()
    low, high = ordered[0], ordered[-1]
    wanted = min(MAX_HISTOGRAM_BINS, math.ceil(math.sqrt(n)))
    width = round_width(low, high, wanted)
    start = math.floor(low / width) * width
    # Every bin half-open, so the highest value opens a bin of its own edge: a closed
    # last bin would hold two values' sightings (18 and 19) and tower over the rest.
    # Divided first, so that extreme brightnesses (SPUC takes anything) cannot overflow.
    bins = max(1, min(wanted + 2, math.floor(high / width - start / width) + 1))
    counts = histogram_counts(ordered.bisect_left, n, start, width, bins)
    return Histogram(start, width, counts, low, high)


def round_width(low: float, high: float, bins: int) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that spreads [low, high] over
    at most `bins` bins; 1 when all values are the same."""
    wanted = high / bins - low / bins
    if not wanted > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(wanted))
    for step in (1, 2, 5, 10):
        if power * step >= wanted and math.isfinite(power * step):
            return power * step
    return wanted


def histogram_counts(count_below, total: int, start: float, width: float, bins: int) -> list[int]:
    """Rows per bin: bins are [edge, next edge), the last one taking the rest; counted
    by bisection of sorted values (`count_below`)."""
    edges = [count_below(start + i * width) for i in range(bins)]
    edges.append(total)
    return [edges[i + 1] - edges[i] for i in range(bins)]


def mean(total: float, values: Sequence[float]) -> float | None:
    """`total` (the running sum) over the values' number."""
    if not values:
        return None
    found = total / len(values)
    if math.isfinite(found):
        return found
    # The running sum overflowed (brightnesses near 1e308): sum the shares instead.
    return math.fsum(v / len(values) for v in values)


def median(ordered: Sequence[float]) -> float | None:
    n = len(ordered)
    if not n:
        return None
    middle = n // 2
    return ordered[middle] if n % 2 else ordered[middle - 1] / 2 + ordered[middle] / 2
