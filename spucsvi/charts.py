"""Plotly figures as plain dicts, built from sightings.

Plain dicts in Plotly's figure schema cost a fraction of building validated
`plotly.graph_objects` figures, and go to the page as JSON unchanged.

Every chart is an SVG trace over at most a few thousand points: the
plotly.js bundled in the `plotly` package draws WebGL traces with code built
at run time, which our Content-Security-Policy (no 'unsafe-eval') forbids,
so large histories are reduced on the server instead, keeping each time
bucket's lowest and highest point so peaks and troughs survive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape

from .records import UNIT_NAMES, Sighting

PURPLE = "#7b2cbf"
PURPLE_LIGHT = "#c77dff"
UNICORN = "\N{UNICORN FACE}"
# Up to this many points each sighting is drawn as a unicorn; beyond, as dots.
MAX_UNICORN_MARKERS = 300
# Most points a time chart draws; more sightings are reduced to this.
MAX_TIME_POINTS = 2000
TOP_LOCATIONS = 15
HISTOGRAM_BINS = 30


def unit_name(code: str) -> str:
    return f"{UNIT_NAMES.get(code, code)} ({code})"


def axis_title(units: Sequence[str]) -> str:
    """'Brightness' over the units' long name and code; codes only when mixed."""
    if len(units) == 1:
        return f"Brightness<br><sub>{unit_name(units[0])}</sub>"
    if units:
        return f"Brightness<br><sub>mixed units: {' / '.join(units)}</sub>"
    return "Brightness"


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


def _figure(traces: list[dict], layout: dict, *, reduced_from: int | None = None) -> dict:
    figure = {
        "data": traces,
        "layout": layout,
        "config": {"responsive": True, "displaylogo": False},
    }
    if reduced_from is not None:
        figure["reduced_from"] = reduced_from
    return figure


def extremes_per_bucket(indexes: int, values: Sequence[float], limit: int) -> list[int]:
    """Indexes to draw: all when few, else each bucket's lowest and highest point.

    Buckets are runs of consecutive sightings, so the result stays in time order.
    """
    if indexes <= limit:
        return list(range(indexes))
    buckets = limit // 2
    keep: list[int] = []
    for bucket in range(buckets):
        start = bucket * indexes // buckets
        stop = (bucket + 1) * indexes // buckets
        low = min(range(start, stop), key=values.__getitem__)
        high = max(range(start, stop), key=values.__getitem__)
        keep.extend(sorted({low, high}))
    return keep


def brightness_over_time(sightings: Sequence[Sighting], units: Sequence[str]) -> dict:
    """Brightness against time, a unicorn per sighting, location and time on hover."""
    plotted = [s for s in sightings if s.brightness is not None]
    keep = extremes_per_bucket(len(plotted), [s.brightness for s in plotted], MAX_TIME_POINTS)
    shown = [plotted[i] for i in keep]
    trace = {
        "type": "scatter",
        "x": [s.time.isoformat(sep=" ") for s in shown],
        "y": [s.brightness for s in shown],
        # Plotly renders a few HTML tags in hover text: escape what SPUC stored.
        "customdata": [[escape(s.location), s.units] for s in shown],
        "hovertemplate": (
            "<b>%{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M:%S}<br>"
            "Brightness %{y} %{customdata[1]}<extra></extra>"
        ),
    }
    if len(shown) > MAX_UNICORN_MARKERS:
        trace.update(mode="markers", marker={"color": PURPLE, "size": 4, "opacity": 0.6})
    else:
        trace.update(
            mode="text",
            text=[UNICORN] * len(shown),
            textfont={"size": 22 if len(shown) <= 50 else 16},
        )
    layout = _layout(
        xaxis={
            "title": {"text": "Time of sighting"},
            "type": "date",
            "rangeslider": {"visible": True, "thickness": 0.08},
            "rangeselector": {
                "buttons": [
                    {"count": 1, "label": "Last hour", "step": "hour", "stepmode": "backward"},
                    {"count": 1, "label": "Last day", "step": "day", "stepmode": "backward"},
                    {"count": 7, "label": "Last week", "step": "day", "stepmode": "backward"},
                    {"label": "All", "step": "all"},
                ],
            },
        },
        yaxis={"title": {"text": axis_title(units)}, "rangemode": "tozero"},
    )
    reduced = len(plotted) if len(shown) < len(plotted) else None
    return _figure([trace], layout, reduced_from=reduced)


def cumulative_over_time(sightings: Sequence[Sighting]) -> dict:
    """How many sightings there were by each moment, in arrival order."""
    total = len(sightings)
    step = max(1, -(-total // MAX_TIME_POINTS))
    indexes = list(range(0, total, step))
    if total and indexes[-1] != total - 1:
        indexes.append(total - 1)
    trace = {
        "type": "scatter",
        "mode": "lines",
        "line": {"color": PURPLE, "width": 2, "shape": "hv"},
        "fill": "tozeroy",
        "fillcolor": "rgba(123,44,191,0.15)",
        "x": [sightings[i].time.isoformat(sep=" ") for i in indexes],
        "y": [i + 1 for i in indexes],
        "hovertemplate": "%{y} sightings by %{x|%Y-%m-%d %H:%M}<extra></extra>",
    }
    layout = _layout(
        xaxis={"title": {"text": "Time"}, "type": "date"},
        yaxis={"title": {"text": "Sightings so far"}, "rangemode": "tozero"},
    )
    return _figure([trace], layout, reduced_from=total if step > 1 else None)


def per_location(sightings: Sequence[Sighting]) -> dict:
    """Sightings per location: the top 15, the rest together as 'other'."""
    counts = Counter(s.location for s in sightings).most_common()
    top = counts[:TOP_LOCATIONS]
    rest = sum(n for _, n in counts[TOP_LOCATIONS:])
    labels = [escape(name) for name, _ in top]
    values = [n for _, n in top]
    if rest:
        labels.append(f"other ({len(counts) - TOP_LOCATIONS} locations)")
        values.append(rest)
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": values[::-1],
        "y": labels[::-1],
        "marker": {"color": PURPLE_LIGHT, "line": {"color": PURPLE, "width": 1}},
        "hovertemplate": "%{y}: %{x} sightings<extra></extra>",
    }
    layout = _layout(
        xaxis={"title": {"text": "Sightings"}, "rangemode": "tozero"},
        yaxis={"automargin": True, "type": "category"},
        margin={"l": 20, "r": 20, "t": 20, "b": 60},
    )
    return _figure([trace], layout)


def brightness_histogram(sightings: Sequence[Sighting], units: Sequence[str]) -> dict:
    """How often each brightness occurs, binned on the server so the page stays light."""
    values = [s.brightness for s in sightings if s.brightness is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    width = (high - low) / HISTOGRAM_BINS if high > low else 1.0
    counts = [0] * HISTOGRAM_BINS
    for value in values:
        counts[min(int((value - low) / width), HISTOGRAM_BINS - 1)] += 1
    trace = {
        "type": "bar",
        "x": [low + (i + 0.5) * width for i in range(HISTOGRAM_BINS)],
        "y": counts,
        "width": width * 0.95,
        "marker": {"color": PURPLE_LIGHT, "line": {"color": PURPLE, "width": 1}},
        "customdata": [[low + i * width, low + (i + 1) * width] for i in range(HISTOGRAM_BINS)],
        "hovertemplate": "%{customdata[0]:.4g} to %{customdata[1]:.4g}: %{y}<extra></extra>",
    }
    layout = _layout(
        xaxis={"title": {"text": axis_title(units)}},
        yaxis={"title": {"text": "Sightings"}, "rangemode": "tozero"},
        bargap=0.05,
    )
    return _figure([trace], layout)
