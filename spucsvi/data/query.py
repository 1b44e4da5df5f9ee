"""The query string: which sightings to show and how, parsed and checked.

The page, the JSON API and the CSV export read the same parameters the same
way, so one URL means the same rows everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from werkzeug.datastructures import MultiDict

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
