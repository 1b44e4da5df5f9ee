"""Derived views of the sightings: filters, the summary and table pages.

Pure functions of the records and the query string, so the page, the JSON
API and the CSV export all see the same numbers for the same URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil

from werkzeug.datastructures import MultiDict

from spucsvi.data.aggregates import Aggregates
from spucsvi.spuc.records import Sighting

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 200
SORT_KEYS = ("time", "location", "brightness")
MAX_FILTER_LOCATIONS = 50
_TIME_FILTER = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?)?(?P<zone>Z|[+-]\d\d:?\d\d)?", re.ASCII
)


class InvalidQuery(ValueError):
    """A malformed query parameter; the message says which and why."""


@dataclass(frozen=True)
class SightingFilter:
    """Which sightings to show: some locations, a time window, or all."""

    locations: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None  # exclusive

    @property
    def active(self) -> bool:
        return bool(self.locations or self.start or self.end)

    def matches(self, sighting: Sighting) -> bool:
        return (
            (not self.locations or sighting.location in self.locations)
            and (self.start is None or sighting.time >= self.start)
            and (self.end is None or sighting.time < self.end)
        )

    def apply(self, sightings: Sequence[Sighting]) -> Sequence[Sighting]:
        if not self.active:
            return sightings
        return [s for s in sightings if self.matches(s)]


@dataclass(frozen=True)
class TableQuery:
    sort: str = "time"
    descending: bool = True
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass(frozen=True)
class Query:
    """Everything the URL says about what to show, parsed and checked."""

    filter: SightingFilter = field(default_factory=SightingFilter)
    table: TableQuery = field(default_factory=TableQuery)
    raw: tuple[tuple[str, str], ...] = ()

    def value(self, key: str) -> str:
        """The first value the URL gave for `key`, or ''."""
        return next((value for name, value in self.raw if name == key), "")

    def args(self, **changes: object) -> dict[str, object]:
        """The query string as a dict for url_for, with some values changed."""
        result: dict[str, object] = {}
        for key, value in self.raw:
            result.setdefault(key, [])
            result[key].append(value)  # type: ignore[union-attr]
        for key, value in changes.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = value
        return result


def parse_query(args: MultiDict | Mapping[str, str]) -> Query:
    """The filter and table parameters of a request; InvalidQuery when malformed."""
    if not isinstance(args, MultiDict):
        args = MultiDict(args)
    # Not stripped: SPUC may hold a location with surrounding spaces (sent by curl).
    locations = tuple(dict.fromkeys(v for v in args.getlist("location") if v.strip()))
    if len(locations) > MAX_FILTER_LOCATIONS:
        raise InvalidQuery(f"Choose at most {MAX_FILTER_LOCATIONS} locations.")
    start = _parse_time(args.get("from", ""), "from", end_of_day=False)
    end = _parse_time(args.get("to", ""), "to", end_of_day=True)
    if start and end and start >= end:
        raise InvalidQuery("The 'from' time must be before the 'to' time.")
    sort = args.get("sort", "time")
    if sort not in SORT_KEYS:
        raise InvalidQuery(f"'sort' must be one of {', '.join(SORT_KEYS)}.")
    order = args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidQuery("'order' must be asc or desc.")
    page = _positive_int(args.get("page", "1"), "page", 10**9)
    per_page = _positive_int(args.get("per_page", str(DEFAULT_PER_PAGE)), "per_page", MAX_PER_PAGE)
    kept = tuple(
        (key, value)
        for key, value in args.items(multi=True)
        if key in ("location", "from", "to", "sort", "order", "page", "per_page") and value
    )
    return Query(
        SightingFilter(locations, start, end),
        TableQuery(sort, order == "desc", page, per_page),
        kept,
    )


def _parse_time(value: str, name: str, *, end_of_day: bool) -> datetime | None:
    """A date (YYYY-MM-DD) or a local date and time (YYYY-MM-DDTHH:MM[:SS]).

    'to' is inclusive at the precision given: a date includes that whole day,
    a time to the minute that whole minute.
    """
    value = value.strip()
    if not value:
        return None
    shape = _TIME_FILTER.fullmatch(value)
    if not shape:
        raise InvalidQuery(
            f"'{name}' must be a date like 2026-11-27 or a time like 2026-11-27T18:30."
        )
    if shape["zone"]:
        raise InvalidQuery(f"'{name}' must be given without a time zone, as SPUC records them.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"'{name}' is not a real date or time: {value}.") from None
    if not end_of_day:
        return moment
    step = {10: timedelta(days=1), 16: timedelta(minutes=1)}.get(len(value), timedelta(seconds=1))
    try:
        return moment + step
    except OverflowError:  # the end of the calendar: no upper bound
        return None


def _positive_int(value: str, name: str, maximum: int) -> int:
    if (
        not value.isascii()
        or not value.isdigit()
        or len(value) > len(str(maximum))
        or not 1 <= int(value) <= maximum
    ):
        raise InvalidQuery(f"'{name}' must be a whole number from 1 to {maximum}.")
    return int(value)


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

    def as_json(self) -> dict:
        return {
            "total": self.total,
            "latest": sighting_json(self.latest) if self.latest else None,
            "brightest": sighting_json(self.brightest) if self.brightest else None,
            "mean_brightness": self.mean_brightness,
            "median_brightness": self.median_brightness,
            "locations": self.locations,
            "units": list(self.units),
            "unreadable_lines": self.skipped,
        }


def summarise(sightings: Sequence[Sighting], skipped: int = 0) -> Summary:
    """The numbers of the summary strip, always over every matching record."""
    return summary_of(Aggregates.of(sightings), skipped)


def summary_of(aggregates: Aggregates, skipped: int = 0) -> Summary:
    return Summary(
        total=aggregates.count,
        latest=aggregates.last,
        brightest=aggregates.brightest,
        mean_brightness=aggregates.mean_brightness,
        median_brightness=aggregates.median_brightness,
        locations=len(aggregates.locations),
        units=tuple(sorted(aggregates.units)),
        skipped=skipped,
    )


@dataclass(frozen=True)
class TablePage:
    rows: Sequence[Sighting]
    page: int
    pages: int
    per_page: int
    total: int


def sort_sightings(sightings: Sequence[Sighting], table: TableQuery) -> Sequence[Sighting]:
    """Sorted as asked. Ties keep arrival order, except in time order, where the
    later arrival of two equal times counts as the newer."""
    if table.sort == "time":
        ordered = sorted(sightings, key=lambda s: s.time)
        if table.descending:
            ordered.reverse()
        return ordered
    if table.sort == "location":
        return sorted(sightings, key=lambda s: s.location.casefold(), reverse=table.descending)
    # Unreadable brightness sorts below every number, negative ones included.
    return sorted(
        sightings,
        key=lambda s: (0, 0.0) if s.brightness is None else (1, s.brightness),
        reverse=table.descending,
    )


def table_page(ordered: Sequence[Sighting], table: TableQuery) -> TablePage:
    pages = max(1, ceil(len(ordered) / table.per_page))
    page = min(table.page, pages)
    first = (page - 1) * table.per_page
    return TablePage(
        ordered[first : first + table.per_page], page, pages, table.per_page, len(ordered)
    )


def sighting_json(s: Sighting) -> dict:
    return {
        "count": s.count,
        "time": s.time.isoformat(sep=" "),
        "location": s.location,
        "brightness": s.brightness,
        "raw_brightness": s.raw_brightness,
        "units": s.units,
    }
