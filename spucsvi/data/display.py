"""How much of a location the page shows: SPUC stores whatever it is sent.

SPUC takes a location of about 256 KB from curl; shown whole, twenty such
records made every page 17 MB. The page, the live refresh and the chart data
show at most SPUCSVi's own input limit of a location and note its full length;
the JSON and CSV downloads keep the full text.
"""

from __future__ import annotations

from functools import lru_cache

from spucsvi.sightings.validation import MAX_LOCATION_LENGTH as MAX_SHOWN

_MARK = "\N{HORIZONTAL ELLIPSIS} ("


@lru_cache(maxsize=4096)
def shown_location(location: str) -> str:
    """The location as the page shows it: whole up to MAX_SHOWN characters, else its
    start and its full length, as in "xxxx… (256,000 characters)"."""
    if len(location) <= MAX_SHOWN:
        return location
    return f"{location[:MAX_SHOWN]}{_MARK}{len(location):,} characters)"


def is_shortened(text: str) -> bool:
    """Whether `text` may be a long location as `shown_location` shows it."""
    return len(text) > MAX_SHOWN and text.endswith(" characters)") and _MARK in text
