"""What the dashboard shows for one snapshot and one query, memoised on the snapshot.

The page, the live-refresh JSON and the API all come through here, so each
(snapshot, query) is computed once per process however many views ask.
Without a filter, on the newest snapshot, everything comes from the
columns' running aggregates, so a new sighting does not make the summary
and charts walk the history; filtered views are derived from their rows.
"""

from __future__ import annotations

import heapq
import math
import operator
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from math import ceil

from spucsvi.data import charts
from spucsvi.data.columns import EXTREME_LEVELS, Columns, Extremes, micros
from spucsvi.data.display import is_shortened, shown_location
from spucsvi.data.query import Query, SightingFilter, TableQuery
from spucsvi.data.store import Snapshot
from spucsvi.spuc.records import Sighting

# How far back from the newest record a just-submitted one is looked for.
FIND_ROW_DEPTH = 10_000


@dataclass(frozen=True)
class UnitSummary:
    """The brightness figures of the sightings in one unit."""

    unit: str
    numeric: int  # sightings in this unit with a numeric brightness
    brightest: Sighting | None
    mean_brightness: float | None
    median_brightness: float | None


@dataclass(frozen=True)
class Summary:
    total: int
    latest: Sighting | None
    brightest: Sighting | None
    mean_brightness: float | None
    median_brightness: float | None
    locations: int
    units: tuple[str, ...]
    skipped: int
    # With mixed units: the figures per unit (never averaged together).
    per_unit: tuple[UnitSummary, ...] = ()


@dataclass(frozen=True)
class TablePage:
    rows: list[Sighting]
    row_ids: list[int]  # each row's place in SPUC's file: its identity
    page: int
    pages: int
    per_page: int
    total: int


@dataclass(frozen=True)
class Dashboard:
    summary: Summary
    figures: dict[str, dict]
    table: TablePage
    unfiltered_total: int
    # The units of SPUC's newest record: what it records a sighting in now.
    recording_units: str | None = None
    # Every location with its number of sightings, the most sighted first.
    location_counts: tuple[tuple[str, int], ...] = ()


def dashboard(snapshot: Snapshot, query: Query) -> Dashboard:
    """Summary, figures and table for this snapshot and query."""
    summary, figures = overview(snapshot, query.filter)
    return Dashboard(
        summary,
        figures,
        table(snapshot, query),
        snapshot.length,
        newest_units(snapshot),
        counted_locations(snapshot),
    )


def newest_units(snapshot: Snapshot) -> str | None:
    columns = snapshot.columns
    if not snapshot.length:
        return None
    return columns.units.values[columns.unit_ids[snapshot.length - 1]]


def prepare(snapshot: Snapshot) -> None:
    """Derive the default view of a new snapshot before views see it."""
    dashboard(snapshot, Query())


def counted_locations(snapshot: Snapshot) -> tuple[tuple[str, int], ...]:
    """Every location with its sightings, the most sighted first."""
    return snapshot.memo.get(
        "counted locations", lambda: tuple(location_counts(snapshot).most_common())
    )


def location_counts(snapshot: Snapshot, rows: Sequence[int] | None = None) -> Counter:
    columns = snapshot.columns
    if rows is None:
        with columns.lock:
            if columns.is_latest(snapshot.length):
                return _all_location_counts(columns)
        rows = range(snapshot.length)
    names = columns.locations.values
    ids = Counter(columns.location_ids[row] for row in rows)
    return Counter({names[i]: n for i, n in ids.items()})


def _all_location_counts(columns: Columns) -> Counter:
    """Sightings per location over every row (call under the columns' lock)."""
    names = columns.locations.values
    return Counter({names[i]: len(found) for i, found in enumerate(columns.rows_by_location)})


# --- filters -----------------------------------------------------------------------


def selection(snapshot: Snapshot, sightings_filter: SightingFilter) -> Sequence[int]:
    """The rows a filter keeps, in arrival order."""
    if not sightings_filter.active:
        return range(snapshot.length)
    return snapshot.memo.get(
        ("rows", sightings_filter), lambda: _select(snapshot, sightings_filter)
    )


def _location_ids(columns: Columns, name: str) -> list[int]:
    """The location named, or the long ones the page shows shortened as `name`
    (the filter list offers a long location by its shortened form)."""
    found = columns.locations.find(name)
    if found is not None:
        return [found]
    if not is_shortened(name):
        return []
    names = columns.locations.values
    return [i for i in range(len(names)) if shown_location(names[i]) == name]


def _select(snapshot: Snapshot, sightings_filter: SightingFilter) -> Sequence[int]:
    columns, n = snapshot.columns, snapshot.length
    rows: Sequence[int] = range(n)
    if sightings_filter.locations:
        ids = [i for name in sightings_filter.locations for i in _location_ids(columns, name)]
        found = [columns.rows_by_location[i] for i in dict.fromkeys(ids)]
        rows = list(heapq.merge(*(f[: bisect_left(f, n)] for f in found)))
    start = micros(sightings_filter.start) if sightings_filter.start else None
    end = micros(sightings_filter.end) if sightings_filter.end else None
    if start is None and end is None:
        return rows
    times = columns.times
    if isinstance(rows, range) and columns.time_sorted:
        low = 0 if start is None else bisect_left(times, start, 0, n)
        high = n if end is None else bisect_left(times, end, 0, n)
        return range(low, max(low, high))
    return [
        row
        for row in rows
        if (start is None or times[row] >= start) and (end is None or times[row] < end)
    ]


# --- summary and figures -----------------------------------------------------------


def overview(snapshot: Snapshot, sightings_filter: SightingFilter) -> tuple[Summary, dict]:
    """The summary and the figures for a filter."""

    def compute() -> tuple[Summary, dict]:
        rows = selection(snapshot, sightings_filter)
        if not sightings_filter.active:
            found = _overview_of_all(snapshot, rows)
            if found is not None:
                return found
        facts = _facts_of_rows(snapshot, rows)
        return facts.summary, facts.figures(snapshot, rows)

    return snapshot.memo.get(("overview", sightings_filter), compute)


@dataclass
class _Facts:
    """What the summary and the charts need of a set of rows."""

    summary: Summary
    series: list[charts.Series]  # one per unit
    histogram: tuple[list[tuple[str, list[int]]], float, float]  # counts per unit, bounds
    counts: Counter

    def figures(self, snapshot: Snapshot, rows: Sequence[int]) -> dict[str, dict]:
        units = self.summary.units
        return {
            "brightness-chart": charts.brightness_over_time(snapshot.columns, self.series, units),
            "cumulative-chart": charts.cumulative_over_time(snapshot.columns, rows),
            "locations-chart": charts.per_location(self.counts),
            "histogram-chart": charts.brightness_histogram(*self.histogram, units),
        }


def _overview_of_all(snapshot: Snapshot, rows: Sequence[int]) -> tuple[Summary, dict] | None:
    """From the running aggregates, for all rows of the newest snapshot only; under
    the columns' lock, so that nothing appended meanwhile is read (and nothing copied)."""
    columns = snapshot.columns
    with columns.lock:
        if not columns.is_latest(snapshot.length) or len(columns.units) > 1:
            return None  # mixed units are summed per unit, from the rows
        numeric = len(columns.numeric_values)
        ordered = columns.sorted_brightness
        summary = Summary(
            total=snapshot.length,
            latest=columns.sighting(snapshot.length - 1) if snapshot.length else None,
            brightest=None if columns.brightest is None else columns.sighting(columns.brightest),
            mean_brightness=_mean(columns.brightness_sum, columns.numeric_values),
            median_brightness=_median(ordered),
            locations=len(columns.locations),
            units=tuple(sorted(columns.units.values)),
            skipped=snapshot.skipped,
        )
        size, lows, highs = _coarsest_extremes(columns, numeric)
        bounds = _bounds(ordered)
        histogram = charts.histogram_counts(ordered.bisect_left, numeric, *bounds)
        series = [
            charts.Series(
                unit,
                columns.numeric_rows,
                columns.numeric_values,
                [(size, lows, highs)] if size else [],
            )
            for unit in summary.units
        ]
        facts = _Facts(
            summary,
            series,
            ([(unit, histogram) for unit in summary.units], *bounds),
            _all_location_counts(columns),
        )
        return summary, facts.figures(snapshot, rows)


def _facts_of_rows(snapshot: Snapshot, rows: Sequence[int]) -> _Facts:
    columns = snapshot.columns
    numeric = [(row, value) for row in rows if (value := columns.brightness(row)) is not None]
    numeric_rows = [row for row, _ in numeric]
    values = [value for _, value in numeric]
    ordered = sorted(values)
    brightest = max(numeric, key=lambda pair: pair[1], default=None)  # first of equals
    units = tuple(sorted({columns.units.values[columns.unit_ids[row]] for row in rows}))
    by_unit = _by_unit(columns, numeric_rows, values, units)
    bounds = _bounds(ordered)
    histogram = [
        (unit, _histogram_of(sorted(unit_values), bounds))
        for unit, (_, unit_values) in by_unit.items()
    ]
    summary = Summary(
        total=len(rows),
        latest=columns.sighting(rows[-1]) if rows else None,
        brightest=None if brightest is None else columns.sighting(brightest[0]),
        mean_brightness=_mean(_running_sum(values), values),
        median_brightness=_median(ordered),
        locations=len({columns.location_ids[row] for row in rows}),
        units=units,
        skipped=snapshot.skipped,
        per_unit=_per_unit(columns, by_unit) if len(units) > 1 else (),
    )
    series = [
        charts.Series(unit, unit_rows, unit_values, _extremes_of(unit_values))
        for unit, (unit_rows, unit_values) in by_unit.items()
    ]
    return _Facts(summary, series, (histogram, *bounds), location_counts(snapshot, rows))


def _by_unit(
    columns: Columns, numeric_rows: list[int], values: list, units: tuple[str, ...]
) -> dict[str, tuple[list[int], list[float]]]:
    """The numeric rows and their values of each unit (every unit, even without any)."""
    if len(units) <= 1:
        return {unit: (numeric_rows, values) for unit in units}
    found: dict[str, tuple[list[int], list[float]]] = {unit: ([], []) for unit in units}
    names, unit_ids = columns.units.values, columns.unit_ids
    for row, value in zip(numeric_rows, values, strict=True):
        unit_rows, unit_values = found[names[unit_ids[row]]]
        unit_rows.append(row)
        unit_values.append(value)
    return found


def _per_unit(
    columns: Columns, by_unit: dict[str, tuple[list[int], list[float]]]
) -> tuple[UnitSummary, ...]:
    result = []
    for unit, (unit_rows, unit_values) in by_unit.items():
        best = max(range(len(unit_rows)), key=unit_values.__getitem__, default=None)
        result.append(
            UnitSummary(
                unit,
                len(unit_rows),
                None if best is None else columns.sighting(unit_rows[best]),
                _mean(_running_sum(unit_values), unit_values),
                _median(sorted(unit_values)),
            )
        )
    return tuple(result)


def _histogram_of(ordered: Sequence[float], bounds: tuple[float, float]) -> list[int]:
    return charts.histogram_counts(lambda value: bisect_left(ordered, value), len(ordered), *bounds)


def _bounds(ordered: Sequence[float]) -> tuple[float, float]:
    return (ordered[0], ordered[-1]) if ordered else (0.0, 1.0)


def _coarsest_extremes(columns: Columns, numeric: int):
    """The coarsest runs that still give every chart bucket at least one run."""
    for extremes in reversed(columns.extremes):
        if numeric // extremes.size >= charts.MAX_TIME_POINTS // 2:
            return extremes.size, extremes.lows, extremes.highs
    return 0, [], []


def _extremes_of(values: Sequence[float]):
    """The runs `_coarsest_extremes` would choose, computed from these values, so that
    the reduced chart of rows draws the same points as that of the running aggregates."""
    for size in reversed(EXTREME_LEVELS):
        if len(values) // size >= charts.MAX_TIME_POINTS // 2:
            runs = Extremes(size)
            runs.extend(values, 0)
            return [(size, runs.lows, runs.highs)]
    return []


def _running_sum(values: Sequence[float]) -> float:
    """The sum as the columns keep it (`Columns.brightness_sum`): added one by one in
    arrival order, so rows and running aggregates give the very same mean (math.fsum
    rounds differently, and raises OverflowError where the running sum gives inf)."""
    return reduce(operator.add, values, 0.0)


def _mean(total: float, values: Sequence[float]) -> float | None:
    if not values:
        return None
    mean = total / len(values)
    if math.isfinite(mean):
        return mean
    # The running sum overflowed (brightnesses near 1e308): sum the shares instead.
    return math.fsum(v / len(values) for v in values)


def _median(ordered: Sequence[float]) -> float | None:
    n = len(ordered)
    if not n:
        return None
    middle = n // 2
    return ordered[middle] if n % 2 else ordered[middle - 1] / 2 + ordered[middle] / 2


# --- the table ---------------------------------------------------------------------


def table(snapshot: Snapshot, query: Query) -> TablePage:
    """The page of the table the query asks for."""
    ordered = ordered_rows(snapshot, query)
    pages = max(1, ceil(len(ordered) / query.table.per_page))
    page = min(query.table.page, pages)
    first = (page - 1) * query.table.per_page
    row_ids = list(ordered[first : first + query.table.per_page])
    return TablePage(
        [snapshot.sighting(row) for row in row_ids],
        row_ids,
        page,
        pages,
        query.table.per_page,
        len(ordered),
    )


def ordered_rows(snapshot: Snapshot, query: Query) -> Sequence[int]:
    """The rows the query keeps, in its table order, sorted once per snapshot."""
    return snapshot.memo.get(
        ("order", query.filter, query.table.sort, query.table.descending),
        lambda: table_order(snapshot, selection(snapshot, query.filter), query.table),
    )


def table_order(snapshot: Snapshot, rows: Sequence[int], order: TableQuery) -> Sequence[int]:
    """Rows sorted as asked. Ties keep arrival order, except in time order, where
    the later arrival of two equal times counts as the newer."""
    columns = snapshot.columns
    if order.sort == "time":
        if not columns.time_sorted:
            rows = _time_order(snapshot, rows)
        return rows[::-1] if order.descending else rows
    if order.sort == "location":
        names = columns.locations.values
        rank = {i: name.casefold() for i, name in enumerate(names)}
        ids = columns.location_ids
        return sorted(rows, key=lambda row: rank[ids[row]], reverse=order.descending)
    # Unreadable brightness sorts below every number, negative ones included.
    value = [-math.inf if v is None else v for v in columns.brightness_of]
    raw = columns.brightness_ids
    return sorted(rows, key=lambda row: value[raw[row]], reverse=order.descending)


def _time_order(snapshot: Snapshot, rows: Sequence[int]) -> Sequence[int]:
    """`rows` sorted by time, ties in arrival order: for every row of the newest
    snapshot a copy of the columns' running order, else a sort."""
    columns = snapshot.columns
    if isinstance(rows, range) and rows == range(snapshot.length):
        with columns.lock:
            if columns.is_latest(snapshot.length) and columns.time_order is not None:
                return array("I", columns.time_order)
    return sorted(rows, key=columns.times.__getitem__)


def find_row(snapshot: Snapshot, count: int, time: datetime, location: str) -> int | None:
    """The row of a record known by its count, time and location, searched from the
    newest: SPUC may repeat a count, and its clock may put a record anywhere in time."""
    columns = snapshot.columns
    moment = micros(time)
    for row in range(snapshot.length - 1, max(-1, snapshot.length - 1 - FIND_ROW_DEPTH), -1):
        if (
            columns.counts[row] == count
            and columns.times[row] == moment
            and columns.location(row) == location
        ):
            return row
    return None


def position(ordered: Sequence[int], row: int) -> int | None:
    """Where `row` stands in a table order (0-based), or None."""
    try:
        return ordered.index(row)
    except ValueError:
        return None
