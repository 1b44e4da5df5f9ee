"""What the dashboard shows for one snapshot and one query, memoised on the snapshot.

The page, the live-refresh JSON and the API all come through here, so each
(snapshot, query) is computed once per process however many views ask, and
each part once for what it depends on: the summary and the figures on the
filter, the table's order on the filter and the sort, its page on all three.
Every summary and figure comes from one reduction (data/tally.py): without a
filter from the columns' running tally, so a new sighting does not make the
summary and the charts walk the history; with one from the rows it keeps.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from math import ceil

from spucsvi.data import charts
from spucsvi.data.columns import micros
from spucsvi.data.display import MAX_SHOWN as MAX_OFFERED
from spucsvi.data.display import is_shortened, shown_location
from spucsvi.data.query import Query, SightingFilter, TableQuery
from spucsvi.data.store import Snapshot
from spucsvi.data.tally import Facts, tally_of
from spucsvi.spuc.records import Sighting


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
    # The figures of each unit: with mixed units the only ones (never averaged together).
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
    figures: dict[str, dict]  # by chart id (charts.CHARTS)
    table: TablePage
    unfiltered_total: int
    # The units of SPUC's newest record: what it records a sighting in now.
    recording_units: str | None = None
    # The locations the filter list offers (`listed_locations`), with their sightings
    # within the rest of the filter (its time, units and brightness).
    location_counts: tuple[tuple[str, int], ...] = ()
    # How many locations the rest of the filter keeps, as the page shows them.
    all_locations: int = 0
    # The units the filter form offers: the first OFFERED_UNITS of SPUC's file, and
    # those chosen.
    units_offered: tuple[str, ...] = ()

    @property
    def listed_top(self) -> int:
        """How many of the most sighted locations the list offers."""
        return min(LISTED_LOCATIONS, self.all_locations)

    @property
    def charts(self) -> list[tuple[charts.Chart, dict]]:
        """Each declared chart with its figure, in the page's order."""
        return [(chart, self.figures[chart.id]) for chart in charts.CHARTS]


def dashboard(snapshot: Snapshot, query: Query) -> Dashboard:
    """Summary, figures and table for this snapshot and query."""
    summary, figures = overview(snapshot, query.filter)
    return Dashboard(
        summary,
        figures,
        table(snapshot, query),
        snapshot.length,
        newest_units(snapshot),
        listed_locations(snapshot, query.filter),
        len(location_index(snapshot, query.filter.without_locations()).counted),
        offered_units(snapshot, query.filter.units),
    )


# SPUC's file may hold any number of unit codes (a forged line makes one): the form
# offers this many to choose from.
OFFERED_UNITS = 10


def offered_units(snapshot: Snapshot, chosen: tuple[str, ...]) -> tuple[str, ...]:
    """The units to filter by: the first OFFERED_UNITS in code order, then those chosen;
    none longer than a location may be (a checkbox's value is the whole code, and
    SPUC's file may hold a code of any length: the URL still filters by it)."""
    units = tuple(code for code in unit_codes(snapshot) if len(code) <= MAX_OFFERED)
    units = units[:OFFERED_UNITS]
    return units + tuple(c for c in chosen if c not in units and len(c) <= MAX_OFFERED)


def unit_codes(snapshot: Snapshot) -> tuple[str, ...]:
    """Every unit code of the snapshot's rows, in code order: the facts list only
    the most used few and fold the rest into one entry (data/tally.py)."""

    def compute() -> tuple[str, ...]:
        columns = snapshot.columns
        ids = set(columns.batch(range(snapshot.length)).unit_ids)
        return tuple(sorted(columns.unit_name(i) for i in ids))

    return snapshot.memo.get("unit codes", compute)


def newest_units(snapshot: Snapshot) -> str | None:
    return snapshot.columns.unit(snapshot.length - 1) if snapshot.length else None


def prepare(snapshot: Snapshot) -> None:
    """Derive the default view of a new snapshot before views see it."""
    dashboard(snapshot, Query())


EVERYTHING = SightingFilter()


def counted_locations(
    snapshot: Snapshot, sightings_filter: SightingFilter = EVERYTHING
) -> tuple[tuple[str, int], ...]:
    """Every location the filter keeps with its sightings, the most sighted first
    (then first seen)."""
    return snapshot.memo.get(
        ("counted locations", sightings_filter),
        lambda: tuple(facts(snapshot, sightings_filter).locations.most_common()),
    )


# The locations the page's filter list offers: the most sighted (the rest are found
# by searching them, `LocationIndex.search`), so the page stays small however many
# distinct locations SPUC holds.
LISTED_LOCATIONS = 200
# A search's separator between locations: never in a location SPUC's file holds.
_BETWEEN = "\x00"


@dataclass(frozen=True)
class LocationIndex:
    """Every location as the page shows it (`shown_location`) with its sightings,
    the most sighted first; for a search, all of them case-folded in one text,
    so a search is a few `str.find` calls (C speed), not a loop over locations."""

    counted: tuple[tuple[str, int], ...]
    counts: dict[str, int]

    @cached_property
    def _text(self) -> tuple[str, list[int]]:
        """Each location case-folded, then _BETWEEN, as one text, and where each
        starts in it: made on the first search of a snapshot, not for its pages
        (two threads may both make it: harmless)."""
        folded = [name.casefold() + _BETWEEN for name, _ in self.counted]
        return "".join(folded), [0, *accumulate(map(len, folded))]

    def search(self, words: str, limit: int) -> tuple[list[tuple[str, int]], bool]:
        """Up to `limit` locations holding `words` (case-insensitive), the most
        sighted first, and whether there are more."""
        needle = words.casefold()
        found: list[tuple[str, int]] = []
        if _BETWEEN in needle:
            return found, False
        text, starts = self._text
        at = text.find(needle)
        while 0 <= at < len(text):  # "" is found at the end too
            if len(found) == limit:
                return found, True
            place = bisect_right(starts, at) - 1
            found.append(self.counted[place])
            at = text.find(needle, starts[place + 1])
        return found, False


def location_index(
    snapshot: Snapshot, sightings_filter: SightingFilter = EVERYTHING
) -> LocationIndex:
    """The locations a filter keeps as the page shows them, once per snapshot and
    filter (as Datasette's facets count within the filter): long ones that show
    alike are one entry, their sightings added up."""

    def compute() -> LocationIndex:
        counted = counted_locations(snapshot, sightings_filter)
        totals: dict[str, int] = {}
        for name, n in counted:
            shown = shown_location(name)
            totals[shown] = totals.get(shown, 0) + n
        shown_counted = tuple(totals.items())  # in the order of `counted`
        if len(totals) < len(counted):  # some added up: sorted again, equal ones kept in order
            shown_counted = tuple(sorted(shown_counted, key=lambda item: -item[1]))
        return LocationIndex(shown_counted, totals)

    return snapshot.memo.get(("location index", sightings_filter), compute)


def listed_locations(
    snapshot: Snapshot, sightings_filter: SightingFilter
) -> tuple[tuple[str, int], ...]:
    """The LISTED_LOCATIONS most sighted locations within the rest of the filter (not
    its locations: the list is where more are chosen), then those chosen that are not
    among them, so that the form always keeps its filter."""
    chosen = sightings_filter.locations
    index = location_index(snapshot, sightings_filter.without_locations())
    top = index.counted[:LISTED_LOCATIONS]
    listed = {name for name, _ in top}
    return top + tuple((name, index.counts.get(name, 0)) for name in chosen if name not in listed)


# --- filters -----------------------------------------------------------------------


def selection(snapshot: Snapshot, sightings_filter: SightingFilter) -> Sequence[int]:
    """The rows a filter keeps, in arrival order."""
    if not sightings_filter.active:
        return range(snapshot.length)
    return snapshot.memo.get(
        ("rows", sightings_filter), lambda: _select(snapshot, sightings_filter)
    )


def _select(snapshot: Snapshot, sightings_filter: SightingFilter) -> Sequence[int]:
    columns, n = snapshot.columns, snapshot.length
    rows: Sequence[int] = range(n)
    if sightings_filter.locations:
        ids = [i for name in sightings_filter.locations for i in _location_ids(snapshot, name)]
        rows = columns.rows_of_locations(ids, n)
    start = micros(sightings_filter.start) if sightings_filter.start else None
    end = micros(sightings_filter.end) if sightings_filter.end else None
    if start is not None or end is not None:
        rows = columns.rows_in_window(rows, start, end, n)
    if sightings_filter.units:
        wanted = {columns.units.find(code) for code in sightings_filter.units}
        unit_ids = columns.unit_ids
        rows = [row for row in rows if unit_ids[row] in wanted]
    low, high = sightings_filter.min_brightness, sightings_filter.max_brightness
    if low is not None or high is not None:
        # Each distinct brightness judged once: the rows then cost a lookup each.
        kept = bytes(
            value is not None and (low is None or value >= low) and (high is None or value <= high)
            for value in columns.brightness_of
        )
        brightness_ids = columns.brightness_ids
        rows = [row for row in rows if kept[brightness_ids[row]]]
    return rows


def _location_ids(snapshot: Snapshot, name: str) -> list[int]:
    """The location named, or the long ones the page shows shortened as `name`
    (the filter list offers a long location by its shortened form)."""
    found = snapshot.columns.location_id(name)
    if found is not None:
        return [found]
    if not is_shortened(name):
        return []
    return _shortened(snapshot).get(name, [])


def _shortened(snapshot: Snapshot) -> dict[str, list[int]]:
    """Each long location's ids by the shortened form the page shows, made once per
    snapshot (not once per filter value: thousands of locations cost seconds)."""

    def compute() -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for i, name in enumerate(snapshot.columns.location_names()):
            shown = shown_location(name)
            if shown != name:
                found.setdefault(shown, []).append(i)
        return found

    return snapshot.memo.get("shortened locations", compute)


# --- summary and figures -----------------------------------------------------------


def facts(snapshot: Snapshot, sightings_filter: SightingFilter) -> Facts:
    """What the rows a filter keeps come to: without a filter, on the newest
    snapshot asked for so far, from the columns' running tally."""

    def compute() -> Facts:
        rows = selection(snapshot, sightings_filter)
        columns = snapshot.columns
        if not sightings_filter.active:
            running = columns.tally
            with running.lock:
                if running.length <= snapshot.length:
                    running.extend(columns.batch(range(running.length, snapshot.length)))
                    return running.facts(columns, rows)
        return tally_of(columns, rows)

    return snapshot.memo.get(("facts", sightings_filter), compute)


def overview(snapshot: Snapshot, sightings_filter: SightingFilter) -> tuple[Summary, dict]:
    """The summary and the figures for a filter."""

    def compute() -> tuple[Summary, dict]:
        found = facts(snapshot, sightings_filter)
        return summary_of(snapshot, found), charts.figures(snapshot.columns, found)

    return snapshot.memo.get(("overview", sightings_filter), compute)


def summary_of(snapshot: Snapshot, found: Facts) -> Summary:
    def sighting(row: int | None) -> Sighting | None:
        return None if row is None else snapshot.sighting(row)

    units = found.units
    return Summary(
        total=len(found.rows),
        latest=sighting(found.latest),
        brightest=sighting(found.brightest),
        mean_brightness=found.mean,
        median_brightness=found.median,
        locations=len(found.locations),
        units=units,
        skipped=snapshot.skipped,
        per_unit=tuple(
            UnitSummary(one.unit, len(one.rows), sighting(one.brightest), one.mean, one.median)
            for one in found.series
            if one.rows
        ),
    )


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
    """Rows sorted as asked (Columns.ordered); by brightness within each unit, the
    units in the order of their codes: a brightness in one unit is not above or
    below one in another."""
    columns = snapshot.columns
    ordered = columns.ordered(rows, order.sort, order.descending, snapshot.length)
    if order.sort != "brightness" or len(columns.units) < 2:
        return ordered
    unit_ids = columns.unit_ids
    units = sorted(range(len(columns.units)), key=columns.unit_name)
    grouped: dict[int, array] = {unit: array("I") for unit in units}
    for row in ordered:  # 100,000 rows: about 40 ms, once per snapshot and filter
        grouped[unit_ids[row]].append(row)
    within = array("I")
    for unit in units:
        within.extend(grouped[unit])
    return within


def position(ordered: Sequence[int], row: int) -> int | None:
    """Where `row` stands in a table order (0-based), or None."""
    try:
        return ordered.index(row)
    except ValueError:
        return None
