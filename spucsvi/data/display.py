"""How much of SPUC's text the page and the charts show, and how it reaches Plotly:
SPUC stores whatever it is sent.

SPUC takes a location of about 256 KB from curl; shown whole, twenty such
records made every page 17 MB. The page, the live refresh and the chart data
show at most SPUCSVi's own input limit of a location and note its full length.
A unit code is whatever ends a line of SPUC's file (a location with a newline
can forge a whole record), so it is shown to MAX_UNIT_SHOWN characters: a code
is a word in a sentence, an axis title or a legend, not a paragraph. The JSON
and CSV downloads keep the full text of both.

SPUC's file may also hold any number of unit codes (each a legend entry, a trace,
a figure of the strip): the MAX_UNITS_LISTED - 1 most used are listed, the rest
folded into one entry, `OtherUnits`, by data/tally.py, whose figures every list
of units is made from. A brightness is any text too: shown to
MAX_BRIGHTNESS_SHOWN characters, whole on hover.

In a chart a location is broken into lines of HOVER_LINE characters on hover and
shortened to TICK_SHOWN on an axis: even 200 characters without a space must not
make a label wider than a phone (the page's CSS wraps or shortens it elsewhere,
the whole text on hover).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from functools import lru_cache
from html import escape

from spucsvi.sightings.validation import MAX_LOCATION_LENGTH as MAX_SHOWN
from spucsvi.sightings.validation import NUMBER, plain_number
from spucsvi.spuc.records import UNIT_NAMES

_MARK = "\N{HORIZONTAL ELLIPSIS} ("
# SPUC's own codes have 4 characters; an unknown one is shown to this many, "…" included.
MAX_UNIT_SHOWN = 8
# At most this many entries in a list of units: beyond, the least used are one entry.
MAX_UNITS_LISTED = 4
# A brightness as SPUC wrote it (any text) is shown to this many characters, "…" included.
MAX_BRIGHTNESS_SHOWN = 16
# A location's hover label in a chart: lines of at most this many characters (beside
# a point in the middle of a phone's chart, a label of wide letters still fits).
HOVER_LINE = 24
# A location as an axis's tick label: at most this many characters, "…" included.
TICK_SHOWN = 20


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


class OtherUnits(str):
    """The entry that stands for the least used units of a list: "4,996 other units".
    Text of SPUCSVi's own, so shown whole wherever a unit code is shortened."""

    units: int  # how many it stands for

    def __new__(cls, units: int) -> OtherUnits:
        folded = super().__new__(cls, f"{units:,} other units")
        folded.units = units
        return folded


def units_count(units: Sequence[str]) -> int:
    """How many units a list of them stands for, `OtherUnits` included."""
    return sum(code.units if isinstance(code, OtherUnits) else 1 for code in units)


def _shortened(text: str, most: int) -> str:
    """`text` whole up to `most` characters, else its start and "…" (`most` in all)."""
    if len(text) <= most:
        return text
    return f"{text[: most - 1]}\N{HORIZONTAL ELLIPSIS}"


def shown_unit(code: str) -> str:
    """A unit code as the page and the charts show it: whole up to MAX_UNIT_SHOWN
    characters, else its start and "…"."""
    return code if isinstance(code, OtherUnits) else _shortened(code, MAX_UNIT_SHOWN)


def unit_name(code: str) -> str:
    """'Imperial Unicorn Hoove Candles (iuhc)' for a code SPUC knows; any other as shown."""
    name = UNIT_NAMES.get(code)
    return f"{name} ({code})" if name else shown_unit(code)


def unit_title(code: str) -> str:
    """What the page says of a unit code on hover: its long name, or the code itself
    in full (a huge one shortened as a long location is)."""
    name = UNIT_NAMES.get(code)
    return f"{name} ({code})" if name else shown_location(code)


def plotly_text(text: str) -> str:
    """Text from SPUC made plain text for Plotly, which renders a few HTML tags
    (<a href>, <b>, <br>...) in titles, legends, hover and tick labels and decodes
    entities after reading the tags: <, > and & are escaped, and % (as &#37;) so
    that "%{...}" is not read as a template where Plotly fills one in (trace names,
    titles, hover templates). Quotes are not: Plotly shows "&quot;" as it stands
    (tojson escapes what the page's <script> needs)."""
    return escape(text, quote=False).replace("%", "&#37;")


@lru_cache(maxsize=4096)
def hover_text(location: str) -> str:
    """A location as a hover label or a bar's category: shortened as on the page, in
    lines of at most HOVER_LINE characters (a long word broken), plain for Plotly."""
    lines = textwrap.wrap(
        shown_location(location), HOVER_LINE, break_on_hyphens=False, drop_whitespace=True
    )
    return "<br>".join(map(plotly_text, lines or [""]))


def tick_text(location: str) -> str:
    """A location as an axis's tick label: at most TICK_SHOWN characters, plain for Plotly."""
    return plotly_text(_shortened(location, TICK_SHOWN))


def plotly_unit(code: str) -> str:
    """A unit code as a chart shows it: shortened as on the page, made plain for Plotly."""
    return plotly_text(shown_unit(code))


def shown_brightness(raw: str) -> str:
    """A brightness as the page shows it: as SPUC holds it, but a number in exponent
    notation (sent to SPUC by curl: the form refuses it) written plainly, '1e3' as
    '1000', so that it reads as the number it is; any other text shortened (the
    whole, as a long location is shown, on hover: `shown_location`)."""
    if "e" in raw.lower() and NUMBER.fullmatch(raw):
        return plain_number(raw)
    return _shortened(raw, MAX_BRIGHTNESS_SHOWN)


# A mean or median shows this many significant digits.
FIGURE_DIGITS = 4


def shown_figure(value: float) -> str:
    """A mean or median as the page shows it: FIGURE_DIGITS significant digits,
    thousands separated and without an exponent ('12,346', '9.75', '0.001234'),
    but for magnitudes no one writes out ('1.235e+25')."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if not -7 < magnitude < 21:
        return f"{value:.{FIGURE_DIGITS}g}"
    decimals = max(0, FIGURE_DIGITS - 1 - magnitude)
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
