"""The charts: each declared once (`CHARTS`), drawn as a Plotly figure from what
a set of rows comes to (data/tally.py's `Facts`). The page, its script and the
tests iterate the declarations; the reduction itself lives in tally.py.

Plain dicts in Plotly's figure schema cost a fraction of building validated
`plotly.graph_objects` figures, and go to the page as JSON unchanged.

Every chart is an SVG trace over at most a few thousand points: the page
serves plotly.js's basic bundle (scatter and bar, no WebGL, which would need
code built at run time that our Content-Security-Policy forbids), so large
histories are reduced on the server instead, keeping each time bucket's
lowest and highest point so peaks and troughs survive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from spucsvi.data.columns import Columns, from_micros
from spucsvi.data.display import (
    hover_text,
    plotly_text,
    plotly_unit,
    shown_location,
    tick_text,
    unit_name,
    units_count,
)
from spucsvi.data.tally import HISTOGRAM_BINS, MAX_TIME_POINTS, Facts, Series, bin_width

PURPLE = "#7b2cbf"
PURPLE_LIGHT = "#c77dff"
UNICORN = "\N{UNICORN FACE}"
# Up to this many points each sighting is drawn as a unicorn; beyond, as dots.
MAX_UNICORN_MARKERS = 300
TOP_LOCATIONS = 15
# An axis title names at most this many unit codes: SPUC's file can hold any number.
MAX_UNITS_NAMED = 2
# A time axis spans at least this much: one sighting is a moment, not a microsecond.
MIN_TIME_SPAN = timedelta(minutes=10)


def axis_title(units: Sequence[str]) -> str:
    """'Brightness' over the units' long name and code; codes only when mixed."""
    if len(units) == 1:
        return f"Brightness<br>{plotly_text(unit_name(units[0]))}"
    return short_axis_title(units)


def short_axis_title(units: Sequence[str]) -> str:
    """'Brightness (iuhc)': short enough for an axis across a phone's screen; beyond
    MAX_UNITS_NAMED units their number (the legend names each)."""
    if len(units) > MAX_UNITS_NAMED:
        return f"Brightness ({units_count(units):,} units)"
    return f"Brightness ({' and '.join(map(plotly_unit, units))})" if units else "Brightness"


def _layout(**extra) -> dict:
    layout = {
        "margin": {"l": 70, "r": 20, "t": 20, "b": 60},
        "hovermode": "closest",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "color": "#5b4b70"},
        "showlegend": False,
    }
    layout.update(extra)
    return layout


def _count_axis(title: str, largest: int) -> dict:
    """An axis of whole numbers: no 0.5 sightings on small counts."""
    axis: dict[str, object] = {"title": {"text": title}, "rangemode": "tozero", "tickformat": "d"}
    if largest <= 10:
        axis["dtick"] = 1
    return axis


def _time_range(micros: Sequence[int]) -> list[str] | None:
    """The time axis's range: the data with a margin, at least MIN_TIME_SPAN wide and
    centred on the data when it is narrower (one sighting, or a few within seconds)."""
    if not micros:
        return None
    low, high = from_micros(min(micros)), from_micros(max(micros))
    span = high - low
    try:
        if span < MIN_TIME_SPAN:
            middle = low + span / 2
            return [str(middle - MIN_TIME_SPAN / 2), str(middle + MIN_TIME_SPAN / 2)]
        margin = span / 40
        return [str(low - margin), str(high + margin)]
    except OverflowError:  # at the very ends of the calendar (SPUC's clock can say anything)
        return None


def _value_range(values: Sequence[float], headroom: float = 0.15) -> list[float] | None:
    """From zero to a little above the highest value, so that a unicorn drawn at the
    top is not cut off; None (autorange) when a value is negative."""
    if not values or min(values) < 0:
        return None
    top = max(values)
    return [0, top * (1 + headroom) if top > 0 else 1]


def _time_axis(title: str, micros: Sequence[int]) -> dict:
    """A date axis with upright tick labels (the page sets how many fit its width)."""
    axis = {
        "title": {"text": title},
        "type": "date",
        "tickangle": 0,
        "automargin": True,
        # A label that would stick out of the chart is left out rather than cut.
        "ticklabeloverflow": "hide past div",
    }
    axis_range = _time_range(micros)
    if axis_range:
        axis["range"] = axis_range
    return axis


def _figure(traces: list[dict], layout: dict, *, drawn: int = 0, total: int = 0) -> dict:
    """The figure for the page; `reduced_from` and `shown` say when points were dropped."""
    figure: dict[str, object] = {
        "data": traces,
        "layout": layout,
        # No "share to Chart Studio" button: it would send the data off this machine.
        "config": {"responsive": True, "displaylogo": False, "showSendToCloud": False},
    }
    if drawn < total:
        figure["reduced_from"] = total
        figure["shown"] = drawn
    return figure


def reduced_buckets(
    values: Sequence[float],
    extremes: Sequence[tuple[int, Sequence[tuple[float, int]], Sequence[tuple[float, int]]]] = (),
    limit: int = MAX_TIME_POINTS,
) -> list[tuple[int, int, int, int]]:
    """(first, stop, lowest, highest) positions of each bucket of consecutive values,
    `limit // 2` buckets. `extremes` may give (run size, lows, highs) of precomputed
    runs: then the cost follows the number of runs, not of values."""
    total = len(values)
    buckets = max(1, limit // 2)
    if extremes:
        size, lows, highs = extremes[0]
    else:
        size, lows = 1, [(value, i) for i, value in enumerate(values)]
        highs = lows
    found = []
    for bucket in range(buckets):
        start, stop = bucket * len(lows) // buckets, (bucket + 1) * len(lows) // buckets
        if start == stop:
            continue
        low, high = min(lows[start:stop])[1], max(highs[start:stop])[1]
        found.append((start * size, min(stop * size, total), low, high))
    return found


def reduced_positions(
    values: Sequence[float],
    extremes: Sequence[tuple[int, Sequence[tuple[float, int]], Sequence[tuple[float, int]]]] = (),
    limit: int = MAX_TIME_POINTS,
) -> list[int]:
    """Positions of the values to draw: all when few, else per bucket of
    consecutive values its lowest and highest, so peaks and troughs survive."""
    if len(values) <= limit:
        return list(range(len(values)))
    keep: list[int] = []
    for _, _, low, high in reduced_buckets(values, extremes, limit):
        keep.extend((low, high) if low < high else (high, low) if high < low else (low,))
    return keep


SYMBOLS = ("circle", "diamond", "square", "triangle-up")


def brightness_over_time(columns: Columns, facts: Facts) -> dict:
    """Brightness against time: a unicorn per sighting, location and time on hover;
    one series per unit, each with its colour and a legend entry when units are
    mixed. A series with more points than fit is drawn as each stretch of time's
    range (lowest to highest, as a band) and mean."""
    series, units = facts.series, facts.units
    total = sum(len(one.rows) for one in series)
    limit = MAX_TIME_POINTS // max(1, len(series))
    traces: list[dict] = []
    drawn_rows: list[int] = []
    drawn = 0
    reduced = False
    for index, one in enumerate(series):
        if len(one.rows) > limit:
            reduced = True
            band, rows = _band(columns, one, index, limit)
            traces += band
            drawn += sum(len(trace["x"]) for trace in band[:2])
        else:
            rows = list(one.rows)
            traces.append(_points(columns, one, index, rows, mixed=len(series) > 1, total=total))
            drawn += len(rows)
        drawn_rows += rows
    xaxis = _time_axis("Time of sighting (UTC)", [columns.micros(row) for row in drawn_rows])
    yaxis = {"title": {"text": axis_title(units)}, "rangemode": "tozero", "automargin": True}
    y_range = _value_range([y for trace in traces for y in trace["y"]])
    if y_range:
        yaxis["range"] = y_range
    extra = {}
    if len(series) > 1 or reduced:
        extra = {"showlegend": True, "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"}}
        extra["margin"] = {"l": 70, "r": 20, "t": 40, "b": 60}
    layout = _layout(xaxis=xaxis, yaxis=yaxis, **extra)
    return _figure(traces, layout, drawn=drawn if reduced else total, total=total)


def _points(
    columns: Columns, one: Series, index: int, rows: Sequence[int], *, mixed: bool, total: int
) -> dict:
    unit = plotly_unit(one.unit)
    trace = {
        "type": "scatter",
        "name": unit,  # the code: a legend fits a phone's width
        "meta": {"series": index},
        "x": [str(columns.time(row)) for row in rows],
        "y": [columns.brightness(row) for row in rows],
        "customdata": [[hover_text(columns.location(row)), unit] for row in rows],
        "cliponaxis": False,
        "hovertemplate": (
            "<b>%{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M:%S} UTC<br>"
            "Brightness %{y} %{customdata[1]}<extra></extra>"
        ),
    }
    if mixed:
        trace.update(
            mode="markers",
            marker={"color": PURPLE, "size": 9, "symbol": SYMBOLS[index % len(SYMBOLS)]},
        )
    elif total > MAX_UNICORN_MARKERS:
        trace.update(mode="markers", marker={"color": PURPLE, "size": 4, "opacity": 0.6})
    else:
        trace.update(
            mode="text",
            text=[UNICORN] * len(rows),
            textfont={"size": 22 if len(rows) <= 50 else 16},
        )
    return trace


def _band(columns: Columns, one: Series, index: int, limit: int) -> tuple[list[dict], list[int]]:
    """Each stretch's highest and lowest sighting, the band between them filled, and
    the stretch's mean, for a series with more points than fit."""
    buckets = reduced_buckets(one.values, one.extremes, limit)
    rows, values, unit = one.rows, one.values, plotly_unit(one.unit)
    highs = [rows[high] for _, _, _, high in buckets]
    lows = [rows[low] for _, _, low, _ in buckets]
    middles = [rows[(first + stop - 1) // 2] for first, stop, _, _ in buckets]
    means = [sum(values[first:stop]) / (stop - first) for first, stop, _, _ in buckets]

    def line(label: str, picked: list[int], ys: list, **extra) -> dict:
        return {
            "type": "scatter",
            "mode": "lines",
            "name": f"{label.lower()}, {unit}",
            "meta": {"series": index},
            "x": [str(columns.time(row)) for row in picked],
            "y": ys,
            "line": {"color": PURPLE, "width": 1},
            "hovertemplate": (
                f"{label} of this stretch: %{{y:.4g}} {unit}<br>"
                "%{x|%Y-%m-%d %H:%M} UTC<extra></extra>"
            ),
            **extra,
        }

    traces = [
        line("Highest", highs, [values[high] for _, _, _, high in buckets]),
        line(
            "Lowest",
            lows,
            [values[low] for _, _, low, _ in buckets],
            fill="tonexty",
            fillcolor="rgba(123,44,191,0.2)",
        ),
        line("Mean", middles, means, line={"color": PURPLE, "width": 2.5}),
    ]
    return traces, highs + lows


def cumulative_over_time(columns: Columns, facts: Facts) -> dict:
    """How many sightings there were by each moment, in arrival order."""
    rows = facts.rows
    total = len(rows)
    step = max(1, -(-(total - 1) // (MAX_TIME_POINTS - 1)))
    indexes = list(range(0, total, step))
    if total and indexes[-1] != total - 1:
        indexes.append(total - 1)
    trace = {
        "type": "scatter",
        "mode": "lines",
        "line": {"color": PURPLE, "width": 2, "shape": "hv"},
        "fill": "tozeroy",
        "fillcolor": "rgba(123,44,191,0.15)",
        "x": [str(columns.time(rows[i])) for i in indexes],
        "y": [i + 1 for i in indexes],
        "hovertemplate": "%{y} sightings by %{x|%Y-%m-%d %H:%M} UTC<extra></extra>",
    }
    yaxis = _count_axis("Sightings so far", total)
    yaxis["range"] = [0, max(1, total) * 1.1]
    layout = _layout(
        xaxis=_time_axis("Time (UTC)", [columns.micros(rows[i]) for i in indexes]),
        yaxis=yaxis,
    )
    figure = _figure([trace], layout, drawn=len(indexes), total=total)
    if total < 2:
        figure["instead"] = (
            "This chart shows how sightings add up over time, from the second sighting on."
        )
    return figure


def per_location(columns: Columns, facts: Facts) -> dict:
    """Sightings per location: the top 15, the rest together as 'other'."""
    counts = facts.locations.most_common()
    top = counts[:TOP_LOCATIONS]
    rest = sum(n for _, n in counts[TOP_LOCATIONS:])
    labels = [hover_text(name) for name, _ in top]
    ticks = [tick_text(name) for name, _ in top]
    values = [n for _, n in top]
    if rest:
        labels.append(f"other ({len(counts) - TOP_LOCATIONS} locations)")
        ticks.append(labels[-1])
        values.append(rest)
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": values[::-1],
        "y": labels[::-1],
        "marker": {"color": PURPLE_LIGHT, "line": {"color": PURPLE, "width": 1}},
        "hovertext": labels[::-1],
        "hovertemplate": "%{hovertext}: %{x} sightings<extra></extra>",
        # The location each bar stands for, to filter by it on a click ('other': none);
        # a long one as the page shows it, which the filter takes (data/display.py).
        "customdata": ([shown_location(name) for name, _ in top] + ([""] if rest else []))[::-1],
    }
    layout = _layout(
        xaxis=_count_axis("Sightings", max(values, default=0)),
        # Each bar's location whole on hover, shortened beside its bar.
        yaxis={
            "automargin": True,
            "type": "category",
            "tickvals": labels[::-1],
            "ticktext": ticks[::-1],
            "tickfont": {"size": 11},
        },
        margin={"l": 20, "r": 20, "t": 36, "b": 60},  # room for the toolbar above the bars
    )
    return _figure([trace], layout)


def brightness_histogram(columns: Columns, facts: Facts) -> dict:
    """How often each brightness occurs, binned on the server so the page stays light:
    one series per unit side by side."""
    counts: Sequence[tuple[str, Sequence[int]]] = [(s.unit, s.histogram) for s in facts.series]
    (low, high), units = facts.bounds, facts.units
    width = bin_width(low, high)
    mixed = len(counts) > 1
    counts = counts or [("", [0] * HISTOGRAM_BINS)]
    traces = []
    for index, (code, unit_counts) in enumerate(counts):
        unit = plotly_unit(code)
        trace: dict[str, object] = {
            "type": "bar",
            "name": unit,
            "meta": {"series": index},
            "x": [low + (i + 0.5) * width for i in range(HISTOGRAM_BINS)],
            "y": list(unit_counts),
            "marker": {"color": PURPLE_LIGHT, "line": {"color": PURPLE, "width": 1}},
            "customdata": [[low + i * width, low + (i + 1) * width] for i in range(HISTOGRAM_BINS)],
            "hovertemplate": (
                f"%{{customdata[0]:.4g}} to %{{customdata[1]:.4g}} {unit}: %{{y}}<extra></extra>"
            ),
        }
        if not mixed:
            trace["width"] = width * 0.95
        traces.append(trace)
    largest = max((n for _, unit_counts in counts for n in unit_counts), default=0)
    total = sum(n for _, unit_counts in counts for n in unit_counts)
    layout = _layout(
        # Across the chart a title has a phone's width at most: the unit codes only.
        xaxis={"title": {"text": short_axis_title(units)}, "automargin": True},
        yaxis=_count_axis("Sightings", largest),
        bargap=0.05,
        barmode="group",
        **({"showlegend": True, "legend": {"orientation": "h", "y": -0.35}} if mixed else {}),
    )
    figure = _figure(traces, layout)
    if total and high <= low:
        figure["instead"] = (
            "Every sighting so far has the same brightness: this chart shows how "
            "brightness is spread once sightings differ."
        )
    return figure


@dataclass(frozen=True)
class Chart:
    """A chart of the page: declared here once, drawn by `draw`, shown by the
    template (templates/_results.html) and the page's script in this order."""

    id: str
    title: str
    draw: Callable[[Columns, Facts], dict]
    # What the page says when the figure draws fewer points than there are rows.
    reduced_note: str = ""
    wide: bool = False  # across the page's width
    # The visitor's own sighting is ringed in it (its x is a row's time, its y brightness).
    rings_yours: bool = False
    # Clicking a bar filters by the query parameter named, its value the bar's customdata.
    filters_on_click: str = ""


CHARTS = (
    Chart(
        "brightness-chart",
        "Brightness over time",
        brightness_over_time,
        "each stretch of time as a band from its lowest to its highest sighting, with its mean.",
        wide=True,
        rings_yours=True,
    ),
    Chart(
        "cumulative-chart",
        "Sightings over time",
        cumulative_over_time,
        "the running count at evenly spaced sightings, the last one included.",
    ),
    Chart("locations-chart", "Sightings per location", per_location, filters_on_click="location"),
    Chart("histogram-chart", "Brightness distribution", brightness_histogram),
)


def figures(columns: Columns, facts: Facts) -> dict[str, dict]:
    """Every declared chart's figure, by its id."""
    return {chart.id: chart.draw(columns, facts) for chart in CHARTS}
