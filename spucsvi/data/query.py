"""The query string: which sightings to show and how, parsed and checked.

The page, the JSON API and the CSV export read the same parameters the same
way, so one URL means the same rows everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 200
SORT_KEYS = ("time", "location", "brightness")
# Range presets, counted back from now: `since=1h`.
RANGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}
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
    start: datetime | None = None  # UTC, as every time here
    end: datetime | None = None  # exclusive

    @property
    def active(self) -> bool:
        return bool(self.locations or self.start or self.end)


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

    def args(self, **changes: object) -> dict[str, Any]:
        """The query string as a dict for url_for, with some values changed."""
        result: dict[str, Any] = {}
        for key, value in self.raw:
            result.setdefault(key, []).append(value)
        for key, change in changes.items():
            if change is None:
                result.pop(key, None)
            else:
                result[key] = change
        return result


def parse_query(args: MultiDict | Mapping[str, str], now: datetime | None = None) -> Query:
    """The filter and table parameters of a request; InvalidQuery when malformed.

    Times are UTC: a time with a zone (Z, +01:00) is converted, one without is
    taken as UTC. `since` (1h, 1d, 7d) counts back from `now` (default: this
    minute, so a view stays the same page for a minute)."""
    if not isinstance(args, MultiDict):
        args = MultiDict(args)
    # Not stripped: SPUC may hold a location with surrounding spaces (sent by curl).
    locations = tuple(dict.fromkeys(v for v in args.getlist("location") if v.strip()))
    if len(locations) > MAX_FILTER_LOCATIONS:
        raise InvalidQuery(f"Choose at most {MAX_FILTER_LOCATIONS} locations.")
    start = _parse_time(args.get("from", ""), "from", end_of_day=False)
    end = _parse_time(args.get("to", ""), "to", end_of_day=True)
    since = args.get("since", "")
    if since:
        if since not in RANGES:
            raise InvalidQuery(f"'since' must be one of {', '.join(RANGES)}.")
        if now is None:
            now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
        back = now - RANGES[since]
        start = back if start is None else max(start, back)
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
        if key in ("location", "from", "to", "since", "sort", "order", "page", "per_page") and value
    )
    return Query(
        SightingFilter(locations, start, end),
        TableQuery(sort, order == "desc", page, per_page),
        kept,
    )


def _parse_time(value: str, name: str, *, end_of_day: bool) -> datetime | None:
    """A date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM[:SS]), in UTC
    unless it names its zone (Z, +01:00), as UTC.

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
    zone = shape["zone"]
    bare = value[: len(value) - len(zone)] if zone else value
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidQuery(f"'{name}' is not a real date or time: {value}.") from None
    if not end_of_day:
        return moment
    step = {10: timedelta(days=1), 16: timedelta(minutes=1)}.get(len(bare), timedelta(seconds=1))
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
