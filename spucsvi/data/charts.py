"""The charts: each declared once (`CHARTS`), drawn as a Plotly figure from what
a set of rows comes to (data/tally.py's `Facts`). The page, its script and the
tests iterate the declarations; the reduction itself lives in tally.py.

Brightness in two units is two scales (SPUC counts in whatever units it was
started with): each unit gets a plot and an axis of its own, one above the
other, never one axis for both.

Plain dicts in Plotly's figure schema cost a fraction of building validated
`plotly.graph_objects` figures, and go to the page as JSON unchanged.

Every chart is an SVG trace over at most a few thousand points: the page
serves plotly.js's basic bundle (scatter and bar, no WebGL, which would need
code built at run time that our Content-Security-Policy forbids), so large
histories are reduced on the server instead, keeping each time bucket's
lowest and highest point so peaks and troughs survive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from spucsvi.data.columns import Columns, from_micros
from spucsvi.data.display import (
    OtherUnits,
    hover_text,
    plotly_text,
    plotly_unit,
    shown_location,
    shown_unit,
    tick_text,
    unit_name,
    units_count,
)
from spucsvi.data.tally import MAX_TIME_POINTS, Facts, Series

PURPLE = "#7b2cbf"
PURPLE_LIGHT = "#c77dff"
UNICORN = "\N{UNICORN FACE}"
# Up to this many points each sighting is drawn as a unicorn; beyond, as dots.
MAX_UNICORN_MARKERS = 300
TOP_LOCATIONS = 15
# A bar chart has room for at least this many bars: one location is one bar, not a wall.
MIN_BAR_SLOTS = 6
# Numbers on axes with thousands separators (d3-format): 12,000, not 12000.
NUMBER_FORMAT = ","
# Each unit's plot, one above the other, this share of the chart's height apart.
PLOT_GAP = 0.12
HISTOGRAM_GAP = 0.3  # room for each plot's own brightness axis and its title
# Units drawn in plots of their own at most; the page says how many more there are.
MAX_UNIT_PLOTS = 3
# Most sightings the brightness chart draws as marks, every unit together: about
# one per pixel column of the wide chart at 1440 px, so more could not be told
# apart, and each mark costs the browser's main thread (0.1-0.4 ms here) while a
# visitor may be typing. More sightings are drawn as bands.
MAX_POINTS = 1000
# A series drawn as a band has at most this many stretches of time (a couple of
# pixels each across the wide chart), each of at least MIN_STRETCH sightings: a
# band stands for many sightings, never for two.
MAX_STRETCHES = 500
MIN_STRETCH = 10
# A time axis spans at least this much: one sighting is a moment, not a microsecond.
MIN_TIME_SPAN = timedelta(minutes=10)


def axis_title(unit: str | None, *, short: bool = False) -> str:
    """A plot's brightness axis, each plot in one unit: 'Brightness' over the unit's
    long name and code, or 'Brightness (iuhc)' where the title runs across a
    phone's screen; without a unit, 'Brightness'."""
    if not unit:
        return "Brightness"
    if short:
        return f"Brightness ({plotly_unit(unit)})"
    return f"Brightness<br>{plotly_text(unit_name(unit))}"


def stacked_title(unit: str) -> dict:
    """The brightness axis of one of several plots sharing a chart's height: the unit
    code alone (the chart's heading says brightness), as a phone's third of a chart
    has room for."""
    return {"text": plotly_unit(unit), "font": {"size": 12}}


def _layout(**extra) -> dict:
    layout = {
        "margin": {"l": 70, "r": 20, "t": 20, "b": 60},
        "hovermode": "closest",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": "system-ui, sans-serif", "color": "#5b4b70"},
        "separators": ".,",
        "showlegend": False,
    }
    layout.update(extra)
    return layout


def _count_axis(title: str, largest: int, ticks: int = 10) -> dict:
    """An axis of whole numbers: no 0.5 sightings on small counts, and at most about
    `ticks` of them (a short plot has room for few)."""
    axis: dict[str, object] = {"title": {"text": title}, "rangemode": "tozero", "tickformat": ",d"}
    if largest <= 10:
        axis["dtick"] = max(1, math.ceil(largest / ticks))
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


def axis_id(kind: str, index: int) -> str:
    """Plotly's name of the index-th axis of a kind in traces: "y", "y2", "y3"..."""
    return kind if index == 0 else f"{kind}{index + 1}"


def layout_key(kind: str, index: int) -> str:
    """Its key in the layout: "yaxis", "yaxis2"..."""
    return f"{kind}axis" if index == 0 else f"{kind}axis{index + 1}"


def stacked(count: int, gap: float) -> list[list[float]]:
    """The vertical domains of `count` plots one above the other, the first on top:
    each unit on its own scale, so that 1-19 is not a flat line under 0-800."""
    gap = gap if count > 1 else 0.0
    height = (1 - gap * (count - 1)) / max(1, count)
    tops = [1 - i * (height + gap) for i in range(count)]
    return [[max(0.0, round(top - height, 6)), min(1.0, round(top, 6))] for top in tops]


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
    stretches: int = MAX_STRETCHES,
) -> list[tuple[int, int, int, int]]:
    """(first, stop, lowest, highest) positions of each of `stretches` stretches of
    consecutive values. `extremes` may give (run size, lows, highs) of precomputed
    runs: then the cost follows the number of runs, not of values."""
    total = len(values)
    if extremes:
        size, lows, highs = extremes[0]
    else:
        size, lows = 1, [(value, i) for i, value in enumerate(values)]
        highs = lows
    found = []
    for bucket in range(max(1, stretches)):
        start, stop = bucket * len(lows) // stretches, (bucket + 1) * len(lows) // stretches
        if start == stop:
            continue
        low, high = min(lows[start:stop])[1], max(highs[start:stop])[1]
        found.append((start * size, min(stop * size, total), low, high))
    return found


def point_limits(sizes: Sequence[int]) -> list[int]:
    """Most points each series (of `sizes` points) may be drawn with as points: all of
    them while MAX_POINTS hold every series; else the smaller series first, each its
    share of what those before it left. A series beyond its limit is drawn as a band
    (`_band`), whose stretches each hold at least MIN_STRETCH sightings."""
    if sum(sizes) <= MAX_POINTS:
        return [MAX_POINTS] * len(sizes)
    limits = [0] * len(sizes)
    left = MAX_POINTS
    by_size = sorted(range(len(sizes)), key=sizes.__getitem__)
    for place, index in enumerate(by_size):
        limits[index] = left // (len(sizes) - place)
        left -= min(sizes[index], limits[index])
    return limits


def stretch_count(points: int) -> int:
    """How many stretches a band of `points` sightings has: at most MAX_STRETCHES (a
    couple of pixels each across a wide chart), each of at least MIN_STRETCH sightings."""
    return max(1, min(MAX_STRETCHES, points // MIN_STRETCH))


SYMBOLS = ("circle", "diamond", "square", "triangle-up")


def plotted(facts: Facts) -> list[Series]:
    """The units drawn, each in a plot of its own, in code order: those with numbers,
    at most MAX_UNIT_PLOTS, the most sighted first (SPUC's file may hold any number
    of codes; the filter shows any other unit). The units folded together
    (`OtherUnits`) are never one plot: their figures share no scale."""
    series = [one for one in facts.series if one.rows and not isinstance(one.unit, OtherUnits)]
    if len(series) > MAX_UNIT_PLOTS:
        kept = set(sorted(range(len(series)), key=lambda i: -len(series[i].rows))[:MAX_UNIT_PLOTS])
        series = [one for i, one in enumerate(series) if i in kept]
    return series or [Series("", (), ())]


def _units_left_out(figure: dict, facts: Facts, drawn: list[Series]) -> dict:
    left_out = units_count([one.unit for one in facts.series if one.rows]) - len(drawn)
    if left_out > 0:
        figure["units_left_out"], figure["units_drawn"] = left_out, len(drawn)
    return figure


def brightness_over_time(columns: Columns, facts: Facts) -> dict:
    """Brightness against time: a unicorn per sighting, location and time on hover;
    each unit its own plot with its own brightness axis, one above the other on one
    time axis. A series with more points than fit is drawn as each stretch of
    time's range (lowest to highest, as a band) and mean."""
    series = plotted(facts)
    total = sum(len(one.rows) for one in series)
    limits = point_limits([len(one.rows) for one in series])
    mixed = len(series) > 1
    traces: list[dict] = []
    drawn_rows: list[int] = []
    drawn = 0
    reduced = False
    axes: dict[str, object] = {}
    domains = stacked(len(series), PLOT_GAP)
    for index, (one, domain, limit) in enumerate(zip(series, domains, limits, strict=True)):
        if len(one.rows) > limit:
            reduced = True
            unit_traces, rows = _band(columns, one, index)
            drawn += sum(len(trace["x"]) for trace in unit_traces[:2])
        else:
            rows = list(one.rows)
            unit_traces = [_points(columns, one, index, rows, mixed=mixed, total=total)]
            drawn += len(rows)
        for trace in unit_traces:
            trace["yaxis"] = axis_id("y", index)
        traces += unit_traces
        drawn_rows += rows
        title = stacked_title(one.unit) if mixed else {"text": axis_title(one.unit or None)}
        yaxis = {
            "title": title,
            "rangemode": "tozero",
            "automargin": True,
            "tickformat": NUMBER_FORMAT,
            "domain": domain,
            "anchor": "x",
        }
        y_range = _value_range([y for trace in unit_traces for y in trace["y"]])
        if y_range:
            yaxis["range"] = y_range
        axes[layout_key("y", index)] = yaxis
    xaxis = _time_axis("Time of sighting (UTC)", [columns.micros(row) for row in drawn_rows])
    xaxis["anchor"] = axis_id("y", len(series) - 1)  # under the lowest plot
    extra = {}
    if reduced:
        extra = {"showlegend": True, "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom"}}
        extra["margin"] = {"l": 70, "r": 20, "t": 40, "b": 60}
    layout = _layout(xaxis=xaxis, **axes, **extra)
    figure = _figure(traces, layout, drawn=drawn if reduced else total, total=total)
    # Which plot ringing the visitor's sighting goes on, by its unit as shown (its code
    # may be of any length: static/js/charts.js, web/pages.py `your_row`).
    figure["unit_axes"] = {shown_unit(one.unit): axis_id("y", i) for i, one in enumerate(series)}
    return _units_left_out(figure, facts, series)


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


def _band(columns: Columns, one: Series, index: int) -> tuple[list[dict], list[int]]:
    """Each stretch's highest and lowest sighting, the band between them filled, and
    the stretch's mean, for a series with more points than fit; each point's hover
    says how many sightings its stretch holds and when it began and ended."""
    buckets = reduced_buckets(one.values, one.extremes, stretch_count(len(one.rows)))
    rows, values, unit = one.rows, one.values, plotly_unit(one.unit)
    highs = [rows[high] for _, _, _, high in buckets]
    lows = [rows[low] for _, _, low, _ in buckets]
    middles = [rows[(first + stop - 1) // 2] for first, stop, _, _ in buckets]
    means = [sum(values[first:stop]) / (stop - first) for first, stop, _, _ in buckets]
    spans = [
        (columns.time(rows[first]), columns.time(rows[stop - 1])) for first, stop, _, _ in buckets
    ]
    stretch = [
        [stop - first, str(began), str(ended)]
        for (first, stop, _, _), (began, ended) in zip(buckets, spans, strict=True)
    ]
    when = _span_template(spans)

    def line(label: str, picked: list[int], ys: list, **extra) -> dict:
        return {
            "type": "scatter",
            "mode": "lines",
            "name": f"{label.lower()}, {unit}",
            # Columns 1 and 2 of customdata are UTC times (the page may show them local).
            "meta": {"series": index, "times": [1, 2]},
            "x": [str(columns.time(row)) for row in picked],
            "y": ys,
            "customdata": stretch,
            "line": {"color": PURPLE, "width": 1},
            "hovertemplate": (
                f"{label} of %{{customdata[0]:,}} sightings: %{{y:.4g}} {unit}<br>"
                f"{when} UTC<extra></extra>"
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


def _span_template(spans: Sequence[tuple[datetime, datetime]]) -> str:
    """How a stretch's hover names its time: 'Jan 3, 12:00–12:10', with seconds
    when a stretch is shorter than two minutes, and the end's date when one
    crosses midnight."""
    clock = (
        "%H:%M:%S" if any(end - begin < timedelta(minutes=2) for begin, end in spans) else "%H:%M"
    )
    crosses = any(begin.date() != end.date() for begin, end in spans)
    end = f"%b %-d, {clock}" if crosses else clock
    return f"%{{customdata[1]|%b %-d, {clock}}}\N{EN DASH}%{{customdata[2]|{end}}}"


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


# A click on the 'other' bar: what it opens on the page (static/js/charts.js).
OPENS_THE_REST = {"opens": "location-search"}


def per_location(columns: Columns, facts: Facts) -> dict:
    """Sightings per location: the top 15, the rest together as 'other', which opens
    the list of every location on a click."""
    counts = facts.locations.most_common()
    top = counts[:TOP_LOCATIONS]
    rest = sum(n for _, n in counts[TOP_LOCATIONS:])
    labels = [hover_text(name) for name, _ in top]
    ticks = [tick_text(name) for name, _ in top]
    values = [n for _, n in top]
    if rest:
        labels.append(f"other ({len(counts) - TOP_LOCATIONS:,} locations)")
        ticks.append(labels[-1])
        values.append(rest)
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": values[::-1],
        "y": labels[::-1],
        "marker": {"color": PURPLE_LIGHT, "line": {"color": PURPLE, "width": 1}},
        "hovertext": labels[::-1],
        "hovertemplate": "%{hovertext}: %{x:,} sightings<extra></extra>",
        # The location each bar stands for, to filter by it on a click; a long one as
        # the page shows it, which the filter takes (data/display.py). 'other' opens
        # the filter's location search, where the rest are.
        "customdata": (
            [shown_location(name) for name, _ in top] + ([OPENS_THE_REST] if rest else [])
        )[::-1],
    }
    # At least MIN_BAR_SLOTS bars' room, the bars at the top: one location is one bar.
    slots = max(len(values), MIN_BAR_SLOTS)
    layout = _layout(
        xaxis=_count_axis("Sightings", max(values, default=0)),
        # Each bar's location whole on hover, shortened beside its bar.
        yaxis={
            "automargin": True,
            "type": "category",
            "tickvals": labels[::-1],
            "ticktext": ticks[::-1],
            "tickfont": {"size": 11},
            "range": [len(values) - slots - 0.5, len(values) - 0.5],
        },
        margin={"l": 20, "r": 20, "t": 36, "b": 60},  # room for the toolbar above the bars
    )
    return _figure([trace], layout)


def brightness_histogram(columns: Columns, facts: Facts) -> dict:
    """How often each brightness occurs, binned on the server so the page stays light:
    a histogram per unit, each on its own scale with its own round-edged bins, one
    above the other."""
    series = plotted(facts)
    traces = []
    axes: dict[str, object] = {}
    for index, (one, domain) in enumerate(
        zip(series, stacked(len(series), HISTOGRAM_GAP), strict=True)
    ):
        unit, histogram = plotly_unit(one.unit), one.histogram
        edges = [histogram.edges(i) for i in range(len(histogram.counts))]
        x, y = axis_id("x", index), axis_id("y", index)
        traces.append(
            {
                "type": "bar",
                "name": unit,
                "meta": {"series": index},
                "xaxis": x,
                "yaxis": y,
                "x": [low / 2 + high / 2 for low, high in edges],
                "y": list(histogram.counts),
                "width": histogram.width * 0.95,
                "marker": {"color": PURPLE_LIGHT, "line": {"color": PURPLE, "width": 1}},
                "customdata": [list(pair) for pair in edges],
                "hovertemplate": (
                    "%{customdata[0]:,.6~g} to %{customdata[1]:,.6~g}"
                    f" {unit}: %{{y:,}}<extra></extra>"
                ),
            }
        )
        # Across the chart a title has a phone's width at most: the unit code only.
        axes[layout_key("x", index)] = {
            "title": {"text": axis_title(one.unit if one.rows else None, short=True)},
            "automargin": True,
            "tickformat": NUMBER_FORMAT,
            "anchor": y,
        }
        axes[layout_key("y", index)] = {
            **_count_axis("Sightings", max(histogram.counts, default=0), 10 // len(series)),
            "domain": domain,
            "anchor": x,
        }
    layout = _layout(bargap=0.05, **axes)
    figure = _figure(traces, layout)
    if all(one.histogram.low == one.histogram.high for one in series if one.rows) and any(
        one.rows for one in series
    ):
        figure["instead"] = (
            "Every sighting so far has the same brightness: this chart shows how "
            "brightness is spread once sightings differ."
        )
    return _units_left_out(figure, facts, series)


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
    # Zooming asks the server for the window's own figure (web/api.py, chart_window).
    detail_on_zoom: bool = False


CHARTS = (
    Chart(
        "brightness-chart",
        "Brightness over time",
        brightness_over_time,
        f"each stretch of time (at least {MIN_STRETCH} sightings) as a band from its lowest "
        "to its highest sighting, with its mean.",
        wide=True,
        rings_yours=True,
        detail_on_zoom=True,
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
