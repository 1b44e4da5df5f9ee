"""Everything the dashboard shows for one data version and one query, cached.

The page, the live-refresh JSON and the API all come through here, so each
(version, query) is computed once per process however many views ask.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson
from markupsafe import Markup

from spucsvi.data import charts
from spucsvi.data.aggregates import Aggregates
from spucsvi.data.query import (
    Query,
    SightingFilter,
    Summary,
    TablePage,
    sort_sightings,
    summary_of,
    table_page,
)
from spucsvi.data.store import Snapshot
from spucsvi.spuc.records import Sighting

T = TypeVar("T")


class ViewCache:
    """A small thread-safe LRU of derived views for the two newest data versions.

    Older versions are dropped as soon as a newer one is stored: no view asks
    for them again, and each can hold full figures. The previous version is
    kept so that views still on it while the next one is prepared hit the cache.
    """

    def __init__(self, size: int = 64):
        self._size = size
        self._version = -1
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: int, key: Hashable, compute: Callable[[], T]) -> T:
        entry = (version, key)
        with self._lock:
            if entry in self._entries:
                self._entries.move_to_end(entry)
                return self._entries[entry]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if version > self._version:
                self._version = version
                for old in [e for e in self._entries if e[0] < version - 1]:  # type: ignore[index]
                    del self._entries[old]
            if version >= self._version - 1:
                self._entries[entry] = value
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Dashboard:
    summary: Summary
    figures: dict[str, dict]
    # The same figures as HTML-safe JSON, serialised once per data version and filter.
    figures_json: dict[str, Markup]
    table: TablePage
    all_locations: tuple[str, ...]
    unfiltered_total: int


def build_figures(
    sightings: Sequence[Sighting], aggregates: Aggregates, units: Sequence[str]
) -> dict[str, dict]:
    return {
        "brightness-chart": charts.brightness_over_time(aggregates, units),
        "cumulative-chart": charts.cumulative_over_time(sightings),
        "locations-chart": charts.per_location(aggregates.locations),
        "histogram-chart": charts.brightness_histogram(aggregates.sorted_brightness, units),
    }


def html_safe_json(value: object) -> Markup:
    """JSON for a <script type="application/json"> element, as Jinja's |tojson
    escapes it, but serialised by orjson (several times faster on large figures)."""
    text = orjson.dumps(value).decode()
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return Markup(text)  # noqa: S704 - escaped above, as |tojson does


class ArrivalOrder(Sequence[Sighting]):
    """Sightings in arrival order, or its reverse, without copying them."""

    def __init__(self, sightings: Sequence[Sighting], descending: bool):
        self._sightings = sightings
        self._descending = descending

    def __len__(self) -> int:
        return len(self._sightings)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self._sightings[len(self) - 1 - index if self._descending else index]


def dashboard(snapshot: Snapshot, query: Query, cache: ViewCache) -> Dashboard:
    """Summary, figures and table for this snapshot and query."""
    summary, figures, figures_json = overview(snapshot, query.filter, cache)
    choices = cache.get(
        snapshot.version,
        "locations",
        lambda: tuple(name for name, _ in snapshot.aggregates.locations.most_common()),
    )
    return Dashboard(
        summary,
        figures,
        figures_json,
        table(snapshot, query, cache),
        choices,
        len(snapshot.sightings),
    )


def overview(
    snapshot: Snapshot, sightings_filter: SightingFilter, cache: ViewCache
) -> tuple[Summary, dict[str, dict], dict[str, Markup]]:
    """The summary and the figures (with their JSON) for a filter.

    Without a filter, everything comes from the store's running aggregates, so
    a new sighting does not make the summary and charts walk the whole history.
    """

    def compute() -> tuple[Summary, dict[str, dict], dict[str, Markup]]:
        chosen, aggregates = matching(snapshot, sightings_filter, cache)
        summary = summary_of(aggregates, snapshot.skipped)
        figures = build_figures(chosen, aggregates, summary.units)
        return summary, figures, {key: html_safe_json(f) for key, f in figures.items()}

    return cache.get(snapshot.version, ("overview", sightings_filter), compute)


def table(snapshot: Snapshot, query: Query, cache: ViewCache) -> TablePage:
    """The page of the table the query asks for, sorted once per version and order."""

    def ordered() -> Sequence[Sighting]:
        chosen, aggregates = matching(snapshot, query.filter, cache)
        if query.table.sort == "time" and aggregates.time_sorted:
            return ArrivalOrder(chosen, query.table.descending)
        return sort_sightings(chosen, query.table)

    key = ("sorted", query.filter, query.table.sort, query.table.descending)
    return table_page(cache.get(snapshot.version, key, ordered), query.table)


def matching(
    snapshot: Snapshot, sightings_filter: SightingFilter, cache: ViewCache
) -> tuple[Sequence[Sighting], Aggregates]:
    """The sightings a filter keeps, in arrival order, with their aggregates."""
    if not sightings_filter.active:
        return snapshot.sightings, snapshot.aggregates

    def compute() -> tuple[Sequence[Sighting], Aggregates]:
        chosen = sightings_filter.apply(snapshot.sightings)
        return chosen, Aggregates.of(chosen)

    return cache.get(snapshot.version, ("matching", sightings_filter), compute)
