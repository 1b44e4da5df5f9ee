"""Running aggregates of the sightings, extended as new lines arrive.

A view of 100,000 sightings must not cost 100,000 steps each time one more
arrives, so everything the summary and the charts need is kept here and
extended with only the new records. Each extension returns a new object:
a view that started on an older snapshot keeps consistent numbers.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from spucsvi.spuc.records import Sighting

CHUNK = 16


@dataclass(frozen=True)
class Aggregates:
    count: int = 0
    brightness_sum: float = 0.0
    brightest: Sighting | None = None
    # Sightings with a numeric brightness, in arrival order (what the charts plot).
    numeric: tuple[Sighting, ...] = ()
    sorted_brightness: tuple[float, ...] = ()
    locations: Counter = field(default_factory=Counter)
    units: frozenset[str] = frozenset()
    # Whether arrival order is also time order (then sorting by time is free).
    time_sorted: bool = True
    last: Sighting | None = None
    # Per run of CHUNK numeric sightings: (brightness, index) of its lowest and
    # highest, as tuples so that min() and max() over runs of chunks compare in C.
    chunk_lows: tuple[tuple[float, int], ...] = ()
    chunk_highs: tuple[tuple[float, int], ...] = ()

    @classmethod
    def of(cls, sightings: Sequence[Sighting]) -> Aggregates:
        return cls().extended(sightings)

    def extended(self, new: Sequence[Sighting]) -> Aggregates:
        """These aggregates with `new` sightings appended, in time proportional to `new`
        (plus C-speed copies of the sorted brightness and numeric lists)."""
        if not new:
            return self
        numbers = [s for s in new if s.brightness is not None]
        brightest = self.brightest
        for s in numbers:
            if brightest is None or s.brightness > brightest.brightness:  # type: ignore[operator]
                brightest = s
        sorted_brightness = list(self.sorted_brightness)
        if len(numbers) < 64:
            for s in numbers:
                bisect.insort(sorted_brightness, s.brightness)
        else:
            sorted_brightness.extend(s.brightness for s in numbers)  # type: ignore[misc]
            sorted_brightness.sort()
        locations = self.locations.copy()
        locations.update(s.location for s in new)
        time_sorted = self.time_sorted
        previous = self.last
        for s in new:
            if previous is not None and s.time < previous.time:
                time_sorted = False
                break
            previous = s
        numeric = self.numeric + tuple(numbers)
        lows, highs = _extend_extremes(self, numeric)
        return Aggregates(
            count=self.count + len(new),
            brightness_sum=self.brightness_sum + sum(s.brightness for s in numbers),  # type: ignore[misc]
            brightest=brightest,
            numeric=numeric,
            sorted_brightness=tuple(sorted_brightness),
            locations=locations,
            units=self.units | {s.units for s in new},
            time_sorted=time_sorted,
            last=new[-1],
            chunk_lows=lows,
            chunk_highs=highs,
        )

    @property
    def mean_brightness(self) -> float | None:
        if not self.numeric:
            return None
        mean = self.brightness_sum / len(self.numeric)
        if math.isfinite(mean):
            return mean
        # The running sum overflowed (brightnesses near 1e308): sum the shares instead.
        return math.fsum(s.brightness / len(self.numeric) for s in self.numeric)  # type: ignore[operator]

    @property
    def median_brightness(self) -> float | None:
        values, n = self.sorted_brightness, len(self.sorted_brightness)
        if not n:
            return None
        middle = n // 2
        return values[middle] if n % 2 else values[middle - 1] / 2 + values[middle] / 2


def _extend_extremes(
    old: Aggregates, numeric: Sequence[Sighting]
) -> tuple[tuple[tuple[float, int], ...], tuple[tuple[float, int], ...]]:
    """Recompute the last, possibly partial, chunk and add the new ones."""
    first_chunk = len(old.numeric) // CHUNK
    lows, highs = list(old.chunk_lows[:first_chunk]), list(old.chunk_highs[:first_chunk])
    for start in range(first_chunk * CHUNK, len(numeric), CHUNK):
        points = [
            (numeric[i].brightness, i) for i in range(start, min(start + CHUNK, len(numeric)))
        ]
        lows.append(min(points))  # type: ignore[arg-type]
        highs.append(max(points))  # type: ignore[arg-type]
    return tuple(lows), tuple(highs)
