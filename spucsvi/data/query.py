"""The query string: which sightings to show and how, parsed and checked.

The page, the JSON API and the CSV export read the same parameters the same
way, so one URL means the same rows everywhere. Each filter is declared once
(`FILTERS`, as Datasette's filters.py declares its filters): parsing, the
parameters a link keeps, the chips that remove a filter, the form's hidden
fields and the names of downloads all iterate the declarations, and what a
filter narrows is a field of `SightingFilter`, which data/derived.py applies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from spucsvi.sightings.validation import MAX_BRIGHTNESS_LENGTH, NUMBER

DEFAULT_PER_PAGE = 15
MAX_PER_PAGE = 200
SORT_KEYS = ("time", "location", "brightness")
# The table's parameters: which page of it, in which order.
TABLE_KEYS = ("sort", "order", "page", "per_page")
# `since=`: a number of minutes, hours or days counted back from now (90m, 2h, 45d),
# at most MAX_SINCE; the presets offered, each with its words.
SINCE_UNITS = {
    "m": ("minute", timedelta(minutes=1)),
    "h": ("hour", timedelta(hours=1)),
    "d": ("day", timedelta(days=1)),
}
MAX_SINCE = timedelta(days=3660)
RANGE_PRESETS = (
    ("1h", "Last hour"),
    ("1d", "Last day"),
    ("7d", "Last week"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
)
_SINCE = re.compile(r"(?P<amount>[0-9]{1,7})(?P<unit>[mhd])", re.ASCII)
MAX_FILTER_LOCATIONS = 50
MAX_FILTER_UNITS = 20
_TIME_FILTER = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?)?(?P<zone>Z|[+-]\d\d:?\d\d)?", re.ASCII
)


class InvalidQuery(ValueError):
    """A malformed query parameter; the message says which and why."""


@dataclass(frozen=True)
class SightingFilter:
    """Which sightings to show: some locations, a time window, some units, a
    brightness range, or all."""

    locations: tuple[str, ...] = ()
    start: datetime | None = None  # UTC, as every time here
    end: datetime | None = None  # exclusive
    units: tuple[str, ...] = ()
    min_brightness: float | None = None  # both inclusive; a filter on either keeps
    max_brightness: float | None = None  # only sightings with a numeric brightness

    @property
    def active(self) -> bool:
        return self != SightingFilter()

    def narrowed(self, other: SightingFilter) -> SightingFilter:
        """The sightings both filters keep."""
        return SightingFilter(
            self.locations + other.locations,
            max(filter(None, (self.start, other.start)), default=None),
            min(filter(None, (self.end, other.end)), default=None),
            self.units + other.units,
            max(
                (v for v in (self.min_brightness, other.min_brightness) if v is not None),
                default=None,
            ),
            min(
                (v for v in (self.max_brightness, other.max_brightness) if v is not None),
                default=None,
            ),
        )

    def without_locations(self) -> SightingFilter:
        """The filter but its locations: what the location list's counts are within."""
        return replace(self, locations=())


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
    # The filters' parts left out, each by its parameter with the reason (the
    # rest of the filter applies): the page shows each beside its field.
    refused: tuple[tuple[str, str], ...] = ()

    def refusal(self, key: str) -> str:
        """Why the URL's `key` was left out of the filter, or ''."""
        return next((reason for name, reason in self.refused if name == key), "")

    def value(self, key: str) -> str:
        """The first value the URL gave for `key`, or ''."""
        return next((value for name, value in self.raw if name == key), "")

    def values(self, key: str) -> list[str]:
        """Every value the URL gave for `key`, each once."""
        return list(dict.fromkeys(value for name, value in self.raw if name == key))

    def chips(self) -> list[Chip]:
        """One per filter value in use, each with the link that removes it."""
        found = []
        for declared in FILTERS:
            given = [] if self.refusal(declared.key) else self.given(declared)
            for value in given:
                rest = [other for other in given if other != value] if declared.multiple else []
                without = self.args(**{declared.key: rest or None, "page": None})
                found.append(Chip(declared, value, without))
        return found

    def hidden_in_form(self) -> list[tuple[str, str]]:
        """The filters the filter form keeps as hidden fields, with their values
        (a refused one is dropped when the form is applied)."""
        return [
            (declared.key, value)
            for declared in FILTERS
            if declared.hidden_in_form and not self.refusal(declared.key)
            for value in self.given(declared)
        ]

    def applied_args(self, **changes: object) -> dict[str, Any]:
        """`args` with what was refused left out: the filter as applied, for the API
        and downloads, which refuse a malformed filter."""
        return self.args(**{key: None for key, _ in self.refused}, **changes)

    def download_args(self) -> dict[str, Any]:
        """The args of a download of these sightings: in no order and on no page."""
        return self.applied_args(sort=None, order=None, page=None, per_page=None)

    def given(self, declared: Filter) -> list[str]:
        """The values the URL gives a filter: all of them, or the first."""
        if declared.multiple:
            return [value for value in self.values(declared.key) if value.strip()]
        return [self.value(declared.key)] if self.value(declared.key) else []

    def download_name(self, extension: str) -> str:
        """A file name that says what the file holds: unicorn_sightings, then each
        filter in use, in safe ASCII."""
        parts = ["unicorn_sightings"]
        for declared in FILTERS:
            given = [] if self.refusal(declared.key) else self.given(declared)
            if given:
                parts += declared.name_parts(given)
        return "_".join(part for part in parts if part) + "." + extension

    def args(self, **changes: object) -> dict[str, Any]:
        """The query string as a dict for url_for, with some values changed."""
        grouped: dict[str, list[str]] = {}
        for key, value in self.raw:
            grouped.setdefault(key, []).append(value)
        result: dict[str, object] = dict(grouped)
        for key, change in changes.items():
            if change is None:
                result.pop(key, None)
            else:
                result[key] = change
        return result


def parse_query(
    args: MultiDict | Mapping[str, str], now: datetime | None = None, *, forgiving: bool = False
) -> Query:
    """The filter and table parameters of a request; InvalidQuery when malformed.

    Times are UTC: a time with a zone (Z, +01:00) is converted, one without is
    taken as UTC. `since` (90m, 2h, 30d) counts back from `now` (default: this
    minute, so a view stays the same page for a minute). `forgiving` (the page)
    leaves a malformed filter out, its reason in `Query.refused`, and applies the
    rest, so that what the visitor chose and typed stays; the API and downloads
    refuse the whole query instead."""
    if not isinstance(args, MultiDict):
        args = MultiDict(args)
    if now is None:
        now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    sightings_filter = SightingFilter()
    refused: list[tuple[str, str]] = []
    for declared in FILTERS:
        given = args.getlist(declared.key) if declared.multiple else [args.get(declared.key, "")]
        try:
            part = declared.parse(given, now)
        except InvalidQuery as exc:
            refused.append((declared.key, str(exc)))
            continue
        narrowed = sightings_filter.narrowed(part)
        if narrowed.start and narrowed.end and narrowed.start >= narrowed.end:
            refused.append((declared.key, "The 'from' time must be before the 'to' time."))
            continue
        low, high = narrowed.min_brightness, narrowed.max_brightness
        if low is not None and high is not None and low > high:
            refused.append((declared.key, "'min_brightness' must not be above 'max_brightness'."))
            continue
        sightings_filter = narrowed
    if refused and not forgiving:
        raise InvalidQuery(refused[0][1])
    sort = args.get("sort", "time")
    if sort not in SORT_KEYS:
        raise InvalidQuery(f"'sort' must be one of {', '.join(SORT_KEYS)}.")
    order = args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidQuery("'order' must be asc or desc.")
    page = _positive_int(args.get("page", "1"), "page", 10**9)
    per_page = _positive_int(args.get("per_page", str(DEFAULT_PER_PAGE)), "per_page", MAX_PER_PAGE)
    kept = tuple(
        (key, value) for key, value in args.items(multi=True) if key in KNOWN_KEYS and value
    )
    return Query(
        sightings_filter, TableQuery(sort, order == "desc", page, per_page), kept, tuple(refused)
    )


# --- the filters -------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A filter of the URL: its parameter, how its values narrow the sightings, and
    how a chip and a file name say it."""

    key: str
    example: str  # a value it takes, for the tests and the docs
    parse: Callable[[list[str], datetime], SightingFilter]  # its values, and now
    chip: str  # the chip's words for it (aria-label), before its value
    name_parts: Callable[[list[str]], list[str]]  # its words in a download's name
    multiple: bool = False  # several values, each its own chip
    shows_chip_word: bool = True  # the chip shows `chip` before the value
    hidden_in_form: bool = False  # kept through the filter form as a hidden field
    is_time: bool = False  # a time: the page's script shows its chip on the visitor's clock


@dataclass(frozen=True)
class Chip:
    filter: Filter
    value: str
    without: dict[str, object]  # the query's args without this value


def _locations(values: list[str], now: datetime) -> SightingFilter:
    # Not stripped: SPUC may hold a location with surrounding spaces (sent by curl).
    locations = tuple(dict.fromkeys(v for v in values if v.strip()))
    if len(locations) > MAX_FILTER_LOCATIONS:
        raise InvalidQuery(f"Choose at most {MAX_FILTER_LOCATIONS} locations.")
    return SightingFilter(locations=locations)


def _since(values: list[str], now: datetime) -> SightingFilter:
    since = values[0].strip()
    if not since:
        return SightingFilter()
    shape = _SINCE.fullmatch(since)
    if not shape or int(shape["amount"]) == 0:
        raise InvalidQuery(
            "'since' must be a number of minutes, hours or days, like 90m, 2h or 30d."
        )
    span = int(shape["amount"]) * SINCE_UNITS[shape["unit"]][1]
    if span > MAX_SINCE:
        raise InvalidQuery(
            f"'since' goes back at most {MAX_SINCE.days:,} days (about ten years); "
            "for older sightings use From."
        )
    try:
        return SightingFilter(start=now - span)
    except OverflowError:  # before the calendar began: everything
        return SightingFilter()


def _since_words(values: list[str]) -> list[str]:
    """'last_90_days', 'last_hour'."""
    shape = _SINCE.fullmatch(values[0].strip())
    if not shape:
        return []
    amount, word = int(shape["amount"]), SINCE_UNITS[shape["unit"]][0]
    return [f"last_{word}" if amount == 1 else f"last_{amount}_{word}s"]


def _from(values: list[str], now: datetime) -> SightingFilter:
    return SightingFilter(start=_parse_time(values[0], "from", end_of_day=False))


def _to(values: list[str], now: datetime) -> SightingFilter:
    return SightingFilter(end=_parse_time(values[0], "to", end_of_day=True))


def _units(values: list[str], now: datetime) -> SightingFilter:
    units = tuple(dict.fromkeys(v for v in values if v.strip()))
    if len(units) > MAX_FILTER_UNITS:
        raise InvalidQuery(f"Choose at most {MAX_FILTER_UNITS} units.")
    return SightingFilter(units=units)


def _brightness(
    key: str, bound: Callable[[float], SightingFilter]
) -> Callable[[list[str], datetime], SightingFilter]:
    """The parser of a brightness bound (`key`): a finite number, as a sighting's."""

    def parse(values: list[str], now: datetime) -> SightingFilter:
        text = values[0].strip()
        if not text:
            return SightingFilter()
        if len(text) > MAX_BRIGHTNESS_LENGTH or not NUMBER.fullmatch(text):
            raise InvalidQuery(f"'{key}' must be a number, such as 10 or 2.5.")
        value = float(text)
        if not math.isfinite(value):
            raise InvalidQuery(f"'{key}' is too large.")
        return bound(value)

    return parse


def _location_words(values: list[str]) -> list[str]:
    words = [_slug(name) for name in values[:3]]
    return words + ([f"and_{len(values) - 3}_more"] if len(values) > 3 else [])


FILTERS = (
    Filter(
        "location",
        "venus",
        _locations,
        "location",
        _location_words,
        multiple=True,
        shows_chip_word=False,
    ),
    Filter("since", "1d", _since, "range", _since_words, hidden_in_form=True),
    Filter("from", "2026-11-27", _from, "from", lambda v: ["from", _slug(v[0])], is_time=True),
    Filter("to", "2026-11-28T10:30", _to, "to", lambda v: ["to", _slug(v[0])], is_time=True),
    Filter(
        "units",
        "iulu",
        _units,
        "units",
        lambda v: ["in", *map(_slug, v[:3])],
        multiple=True,
    ),
    Filter(
        "min_brightness",
        "2.5",
        _brightness("min_brightness", lambda value: SightingFilter(min_brightness=value)),
        "brightness from",
        lambda v: ["brightness_from", _slug(v[0])],
    ),
    Filter(
        "max_brightness",
        "100",
        _brightness("max_brightness", lambda value: SightingFilter(max_brightness=value)),
        "brightness up to",
        lambda v: ["brightness_to", _slug(v[0])],
    ),
)
# Every parameter a link keeps: forget one and links drop it.
KNOWN_KEYS = frozenset(declared.key for declared in FILTERS) | frozenset(TABLE_KEYS)


def _slug(text: str) -> str:
    kept = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text.strip())
    return "-".join(filter(None, kept.split("-")))[:40]


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
