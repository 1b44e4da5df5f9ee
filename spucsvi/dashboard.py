"""Everything the dashboard shows for one data version and one query, cached.

The page, the live-refresh JSON and the API all come through here, so each
(version, query) is computed once per process however many views ask.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from . import charts
from .records import Sighting
from .store import Snapshot
from .views import Query, SightingFilter, Summary, TablePage, sort_sightings, summarise, table_page

T = TypeVar("T")


class ViewCache:
    """A small thread-safe LRU; keys include the data version, so stale entries age out."""

    def __init__(self, size: int = 64):
        self._size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class Dashboard:
    summary: Summary
    figures: dict[str, dict]
    table: TablePage
    all_locations: tuple[str, ...]
    unfiltered_total: int


def location_choices(sightings: Sequence[Sighting]) -> tuple[str, ...]:
    """Every location present, most sighted first, for the filter."""
    return tuple(name for name, _ in Counter(s.location for s in sightings).most_common())


def build_figures(sightings: Sequence[Sighting], units: Sequence[str]) -> dict[str, dict]:
    return {
        "brightness-chart": charts.brightness_over_time(sightings, units),
        "cumulative-chart": charts.cumulative_over_time(sightings),
        "locations-chart": charts.per_location(sightings),
        "histogram-chart": charts.brightness_histogram(sightings, units),
    }


def dashboard(snapshot: Snapshot, query: Query, cache: ViewCache) -> Dashboard:
    version = snapshot.version
    sightings = snapshot.sightings

    def matching() -> Sequence[Sighting]:
        return cache.get((version, "filter", query.filter), lambda: query.filter.apply(sightings))

    def overview() -> tuple[Summary, dict[str, dict]]:
        chosen = matching()
        summary = summarise(chosen, snapshot.skipped)
        return summary, build_figures(chosen, summary.units)

    summary, figures = cache.get((version, "overview", query.filter), overview)
    ordered = cache.get(
        (version, "sorted", query.filter, query.table.sort, query.table.descending),
        lambda: sort_sightings(matching(), query.table),
    )
    choices = cache.get((version, "locations"), lambda: location_choices(sightings))
    return Dashboard(summary, figures, table_page(ordered, query.table), choices, len(sightings))


def filtered(snapshot: Snapshot, sighting_filter: SightingFilter, cache: ViewCache):
    """The matching sightings in arrival order (for the CSV export)."""
    return cache.get(
        (snapshot.version, "filter", sighting_filter),
        lambda: sighting_filter.apply(snapshot.sightings),
    )
