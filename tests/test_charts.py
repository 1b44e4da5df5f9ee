"""The Plotly figure dicts: valid for Plotly, and showing exactly what the data says."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go
import pytest

from spucsvi.data import charts
from spucsvi.data.charts import MAX_POINTS, MAX_UNICORN_MARKERS, PURPLE, UNICORN
from spucsvi.data.derived import overview
from spucsvi.data.query import SightingFilter
from spucsvi.data.store import Snapshot
from spucsvi.data.tally import (
    MAX_HISTOGRAM_BINS,
    MAX_TIME_POINTS,
    Extremes,
    histogram_counts,
    tally_of,
)
from spucsvi.spuc.records import Sighting, parse_line
from tests.support.records import snapshot_of

START = datetime(2026, 11, 27, 10, 0, 0)


def sighting(
    count: int,
    location: str = "venus",
    brightness: str = "7",
    units: str = "iuhc",
    time: datetime | None = None,
) -> Sighting:
    """A sighting as the parser reads SPUC's line; by default `count` seconds after START."""
    when = time or START + timedelta(seconds=count)
    parsed = parse_line(f"{count},{when},{location},{brightness},{units}")
    assert parsed is not None
    return parsed


def stamp(count: int) -> str:
    return (START + timedelta(seconds=count)).isoformat(sep=" ")


def all_figures(sightings) -> dict[str, dict]:
    """The figures of the unfiltered dashboard, from the running aggregates of the
    newest snapshot; the same, to the byte, as derived from the rows of an older one."""
    snapshot = snapshot_of(sightings)
    figures = overview(snapshot, SightingFilter())[1]
    snapshot.columns.extend([sighting(10**6, "pluto", "1e9", "iulu")])
    older = Snapshot(snapshot.columns, len(sightings), 0, 1)
    assert overview(older, SightingFilter())[1] == figures
    return figures


def over_time(sightings) -> dict:
    return all_figures(sightings)["brightness-chart"]


def per_location(sightings) -> dict:
    snapshot = snapshot_of(sightings)
    return charts.per_location(snapshot.columns, tally_of(snapshot.columns, range(len(sightings))))


def histogram(sightings) -> dict:
    return all_figures(sightings)["histogram-chart"]


def cumulative(sightings) -> dict:
    snapshot = snapshot_of(sightings)
    facts = tally_of(snapshot.columns, range(len(sightings)))
    return charts.cumulative_over_time(snapshot.columns, facts)


def many(n: int) -> list[Sighting]:
    """n sightings with brightness 1..97 in a scrambled order, the global minimum (0) and
    maximum (1000) hidden inside runs, away from any bucket's edge."""
    low_at, high_at = n // 3 + 5, 2 * n // 3 + 7
    result = []
    for i in range(1, n + 1):
        value = "0" if i == low_at else "1000" if i == high_at else str(1 + i * 7919 % 97)
        result.append(sighting(i, brightness=value))
    return result


MIXED = [
    sighting(1, "venus", "7", "iuhc"),
    sighting(2, "mars", "junk", "iuhc"),
    sighting(3, "moon, crater", "12.5", "iulu"),
    sighting(4, "venus", "3", "iuhc"),
]

# --- valid Plotly -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sightings",
    [MIXED, [], [sighting(1, brightness="junk")], many(2500)],
    ids=["mixed", "empty", "no-numbers", "reduced"],
)
@pytest.mark.parametrize(
    "chart", ["brightness-chart", "cumulative-chart", "locations-chart", "histogram-chart"]
)
def test_every_figure_is_valid_plotly(sightings, chart):
    figure = all_figures(sightings)[chart]
    go.Figure(data=figure["data"], layout=figure["layout"])
    assert {"responsive": True, "displaylogo": False}.items() <= figure["config"].items()


# --- brightness over time -----------------------------------------------------------------


def test_few_points_are_drawn_as_unicorns_with_location_and_units_on_hover():
    one_unit = [s for s in MIXED if s.units == "iuhc"]
    trace = over_time(one_unit)["data"][0]
    assert trace["mode"] == "text"
    assert trace["text"] == [UNICORN] * 2
    assert trace["textfont"] == {"size": 22}
    assert trace["x"] == [stamp(1), stamp(4)]
    assert trace["y"] == [7.0, 3.0]  # "junk" cannot be drawn
    assert trace["customdata"] == [["venus", "iuhc"], ["venus", "iuhc"]]
    assert "marker" not in trace


def test_mixed_units_are_one_series_each_on_its_own_brightness_axis():
    figure = over_time(MIXED)
    iuhc, iulu = figure["data"]
    layout = figure["layout"]
    assert (iuhc["name"], iulu["name"]) == ("iuhc", "iulu")
    assert (iuhc["y"], iulu["y"]) == ([7.0, 3.0], [12.5])
    assert (iuhc["meta"], iulu["meta"]) == ({"series": 0}, {"series": 1})
    assert iuhc["marker"]["symbol"] != iulu["marker"]["symbol"]
    assert (iuhc["yaxis"], iulu["yaxis"]) == ("y", "y2")
    # One plot above the other, each titled with its unit, on one time axis.
    assert layout["yaxis"]["domain"][0] > layout["yaxis2"]["domain"][1]
    assert layout["yaxis"]["title"]["text"] == "iuhc"  # the chart's heading says brightness
    assert layout["yaxis2"]["title"]["text"] == "iulu"
    assert layout["xaxis"]["anchor"] == "y2"
    assert figure["unit_axes"] == {"iuhc": "y", "iulu": "y2"}
    assert layout["showlegend"] is False  # the axes say the units
    bars = histogram(MIXED)["data"]
    assert [sum(trace["y"]) for trace in bars] == [2, 1]


def two_units(n_iuhc: int = 30, n_iulu: int = 30) -> list[Sighting]:
    """iuhc sightings 1-19 among iulu ones 0-800, as in issue 18."""
    iuhc = [sighting(i, brightness=str(1 + i % 19), units="iuhc") for i in range(n_iuhc)]
    iulu = [
        sighting(100 + i, brightness=str(i * 800 // max(1, n_iulu - 1)), units="iulu")
        for i in range(n_iulu)
    ]
    return iuhc + iulu


def test_a_small_unit_is_not_flat_under_a_large_one():
    layout = over_time(two_units())["layout"]
    assert layout["yaxis"]["range"] == [0, 19 * 1.15]
    assert layout["yaxis2"]["range"] == [0, 800 * 1.15]


def test_each_unit_has_a_histogram_of_its_own_bins():
    figure = histogram(two_units(1000, 30))
    iuhc, iulu = figure["data"]
    layout = figure["layout"]
    assert (iuhc["xaxis"], iuhc["yaxis"], iulu["xaxis"], iulu["yaxis"]) == ("x", "y", "x2", "y2")
    assert (layout["xaxis"]["anchor"], layout["xaxis2"]["anchor"]) == ("y", "y2")
    assert layout["xaxis"]["title"] == {"text": "Brightness (iuhc)"}
    assert layout["xaxis2"]["title"] == {"text": "Brightness (iulu)"}
    # 1,000 iuhc sightings of 1-19 spread over bins of width 1, not one bar of 1 to 31.
    assert iuhc["customdata"][0] == [1.0, 2.0] and max(iuhc["y"]) < 120
    assert sum(iuhc["y"]) == 1000 and sum(iulu["y"]) == 30
    assert iulu["customdata"][0][0] == 0 and iulu["customdata"][-1][1] >= 800


@pytest.mark.parametrize(("n", "bins"), [(1, 1), (5, 3), (30, 6), (100, 10), (5000, 30)])
def test_histogram_bins_follow_the_number_of_sightings(n, bins):
    trace = histogram([sighting(i, brightness=str(i * 997 % 1000)) for i in range(n)])["data"][0]
    assert len(trace["y"]) <= bins + 2 <= MAX_HISTOGRAM_BINS + 2
    assert len(trace["y"]) >= min(bins, 2) - 1 or n == 1


def test_histogram_edges_are_round_numbers():
    trace = histogram([sighting(i, brightness=str(3 + i * 0.37)) for i in range(50)])["data"][0]
    for low, high in trace["customdata"]:
        assert round(high - low, 9) in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def test_numbers_on_axes_have_thousands_separators():
    figures = all_figures(two_units(30, 3000))
    for figure in figures.values():
        layout = figure["layout"]
        assert layout["separators"] == ".,"
        for key, axis in layout.items():
            if key.startswith(("xaxis", "yaxis")) and axis.get("type") not in ("date", "category"):
                assert axis["tickformat"] in (",", ",d"), key


@pytest.mark.parametrize(
    ("n", "mode", "size"),
    [
        (50, "text", 22),
        (51, "text", 16),
        (MAX_UNICORN_MARKERS, "text", 16),
        (MAX_UNICORN_MARKERS + 1, "markers", None),
    ],
)
def test_unicorns_shrink_then_become_small_markers(n, mode, size):
    trace = over_time([sighting(i) for i in range(1, n + 1)])["data"][0]
    assert trace["mode"] == mode
    if mode == "text":
        assert trace["textfont"] == {"size": size}
        assert "marker" not in trace
    else:
        assert trace["marker"] == {"color": PURPLE, "size": 4, "opacity": 0.6}
        assert "text" not in trace


def test_up_to_the_limit_nothing_is_reduced():
    figure = over_time(many(MAX_POINTS))
    assert len(figure["data"][0]["x"]) == MAX_POINTS
    assert "reduced_from" not in figure


# 2,500 reduce point by point; 20,000 reduce through the per-chunk extremes.
@pytest.mark.parametrize("n", [MAX_POINTS + 1, 2500, 20_000])
def test_many_points_are_reduced_to_the_limit(n):
    figure = over_time(many(n))
    assert figure["reduced_from"] == n
    assert len(figure["data"][0]["x"]) <= MAX_TIME_POINTS
    assert len(figure["data"][0]["x"]) == len(figure["data"][0]["y"])


@pytest.mark.parametrize("n", [2500, 20_000])
def test_reduction_keeps_the_global_extremes(n):
    sightings = many(n)
    highest, lowest, _ = over_time(sightings)["data"]
    points = set(zip(highest["x"] + lowest["x"], highest["y"] + lowest["y"], strict=True))
    assert (stamp(n // 3 + 5), 0.0) in points
    assert (stamp(2 * n // 3 + 7), 1000.0) in points


@pytest.mark.parametrize("n", [2500, 20_000])
def test_reduction_keeps_arrival_order_and_real_points(n):
    sightings = many(n)
    by_time = {s.time.isoformat(sep=" "): s for s in sightings}
    trace = over_time(sightings)["data"][0]
    kept = [by_time[x] for x in trace["x"]]
    assert [s.count for s in kept] == sorted({s.count for s in kept})
    assert trace["y"] == [s.brightness for s in kept]


def test_reduced_from_counts_only_drawable_points():
    sightings = many(2400) + [sighting(2400 + i, brightness="junk") for i in range(1, 101)]
    assert over_time(sightings)["reduced_from"] == 2400


def test_hover_text_is_html_escaped_once_quotes_kept():
    # Plotly interprets tags and entities, but shows "&quot;" as it stands.
    trace = over_time([sighting(1, '<b>moon</b> & "co"')])["data"][0]
    assert trace["customdata"] == [['&lt;b&gt;moon&lt;/b&gt; &amp; "co"', "iuhc"]]


@pytest.mark.parametrize(
    ("units", "title"),
    [
        (["iulu"], "Brightness<br>Intergalactic Unicorn Luminosity Units (iulu)"),
        (["iuhc"], "Brightness<br>Imperial Unicorn Hoove Candles (iuhc)"),
        (["iuhc", "iulu"], "iuhc | iulu"),
    ],
)
def test_brightness_axes_name_the_units(units, title):
    sightings = [sighting(i, units=u) for i, u in enumerate(units, start=1)]
    layout = over_time(sightings)["layout"]
    titles = [layout[key]["title"]["text"] for key in ("yaxis", "yaxis2") if key in layout]
    assert " | ".join(titles) == title
    layout = histogram(sightings)["layout"]
    titles = [layout[key]["title"]["text"] for key in ("xaxis", "xaxis2") if key in layout]
    assert titles == [f"Brightness ({unit})" for unit in units]


def test_without_sightings_the_axis_says_brightness():
    assert over_time([])["layout"]["yaxis"]["title"] == {"text": "Brightness"}


# --- sightings per location ---------------------------------------------------------------


def located(counts: dict[str, int]) -> list[Sighting]:
    result: list[Sighting] = []
    for name, n in counts.items():
        result.extend(sighting(len(result) + 1 + i, name) for i in range(n))
    return result


def test_per_location_shows_the_top_15_and_the_rest_as_other():
    counts = {f"L{i:02d}": 25 - i for i in range(1, 21)}  # L01: 24 ... L20: 5
    trace = per_location(located(counts))["data"][0]
    # Horizontal bars are drawn bottom-up: the largest comes last, at the top.
    assert trace["y"] == ["other (5 locations)"] + [f"L{i:02d}" for i in range(15, 0, -1)]
    assert trace["x"] == [9 + 8 + 7 + 6 + 5] + list(range(10, 25))
    assert sum(trace["x"]) == sum(counts.values())


def test_exactly_15_locations_have_no_other_bar():
    trace = per_location(located({f"L{i:02d}": 1 for i in range(1, 16)}))["data"][0]
    assert len(trace["y"]) == 15
    assert not any(label.startswith("other") for label in trace["y"])


def test_per_location_ties_keep_first_seen_order():
    trace = per_location(located({"venus": 2, "mars": 1, "moon": 2}))["data"][0]
    assert (trace["y"], trace["x"]) == (["mars", "moon", "venus"], [1, 2, 2])


def test_per_location_labels_are_html_escaped():
    trace = per_location([sighting(1, "<b>x</b> & y")])["data"][0]
    assert trace["y"] == ["&lt;b&gt;x&lt;/b&gt; &amp; y"]


def test_per_location_axis_is_categorical():
    layout = per_location([sighting(1, "2026")])["layout"]
    assert layout["yaxis"]["type"] == "category"


def test_one_location_is_one_bar_not_the_whole_plot():
    layout = per_location([sighting(1, "venus")])["layout"]
    low, high = layout["yaxis"]["range"]
    assert high - low == charts.MIN_BAR_SLOTS and high == 0.5  # the bar at the top
    full = per_location(located({f"L{i:02d}": 1 for i in range(1, 16)}))["layout"]
    assert full["yaxis"]["range"] == [-0.5, 14.5]


def test_the_other_bar_opens_the_rest_of_the_locations():
    counts = {f"L{i:02d}": 25 - i for i in range(1, 21)}
    trace = per_location(located(counts))["data"][0]
    assert trace["customdata"][0] == {"opens": "location-search"}
    assert trace["customdata"][1:] == [f"L{i:02d}" for i in range(15, 0, -1)]


# --- brightness histogram -----------------------------------------------------------------


def test_histogram_counts_every_numeric_brightness_once():
    sightings = [sighting(i, brightness=str(i % 37 * 1.5)) for i in range(1, 501)]
    sightings += [sighting(600 + i, brightness="junk") for i in range(10)]
    trace = histogram(sightings)["data"][0]
    assert len(trace["y"]) <= MAX_HISTOGRAM_BINS + 2
    assert sum(trace["y"]) == 500


def test_histogram_bins_are_half_open_the_highest_value_in_a_bin_of_its_own():
    # 930 values of 0-30: 30 bins wanted, of width 1, and one more for 30.
    trace = histogram([sighting(i, brightness=str(i % 31)) for i in range(0, 930)])["data"][0]
    assert trace["y"] == [30] * 31  # 29 and 30 do not share a bin that towers over the rest
    assert trace["x"] == [i + 0.5 for i in range(31)]
    assert trace["customdata"] == [[i, i + 1] for i in range(31)]
    assert trace["width"] == 0.95


def test_histogram_of_a_single_value():
    trace = histogram([sighting(i, brightness="4") for i in range(1, 4)])["data"][0]
    assert trace["y"] == [3]
    assert trace["x"][0] == 4.5
    assert trace["customdata"][0] == [4.0, 5.0]


def test_histogram_of_nothing_is_empty():
    trace = histogram([])["data"][0]
    assert trace["y"] == []


# --- cumulative ---------------------------------------------------------------------------


def test_cumulative_counts_every_sighting_in_arrival_order():
    trace = cumulative(MIXED)["data"][0]
    assert trace["x"] == [stamp(1), stamp(2), stamp(3), stamp(4)]
    assert trace["y"] == [1, 2, 3, 4]


@pytest.mark.parametrize("n", [1, MAX_TIME_POINTS, MAX_TIME_POINTS + 1, 5001])
def test_cumulative_ends_at_the_total(n):
    sightings = [sighting(i) for i in range(1, n + 1)]
    figure = cumulative(sightings)
    trace = figure["data"][0]
    assert (trace["x"][-1], trace["y"][-1]) == (stamp(n), n)
    assert trace["y"] == sorted(set(trace["y"]))
    assert figure.get("reduced_from") == (n if n > MAX_TIME_POINTS else None)


@pytest.mark.parametrize(
    "n",
    [
        MAX_TIME_POINTS + 1,
        5001,
        2 * MAX_TIME_POINTS,
    ],
)
def test_cumulative_draws_at_most_the_limit(n):
    trace = cumulative([sighting(i) for i in range(1, n + 1)])["data"][0]
    assert len(trace["x"]) <= MAX_TIME_POINTS


def test_cumulative_of_nothing_is_empty():
    figure = cumulative([])
    assert (figure["data"][0]["x"], figure["data"][0]["y"]) == ([], [])
    assert "reduced_from" not in figure


# --- the building blocks ------------------------------------------------------------------


def test_reduced_buckets_keep_each_stretchs_lowest_and_highest():
    values = [5.0, 1.0, 9.0, 2.0, 2.0, 7.0, 3.0, 3.0, 8.0, 0.0]
    # Two stretches of five: (1.0 at 1, 9.0 at 2) and (0.0 at 9, 8.0 at 8).
    assert charts.reduced_buckets(values, stretches=2) == [(0, 5, 1, 2), (5, 10, 9, 8)]
    # Of equal values the lowest is the first and the highest the last of its stretch.
    assert charts.reduced_buckets([4.0] * 6, stretches=2) == [(0, 3, 0, 2), (3, 6, 3, 5)]
    assert charts.reduced_buckets([], stretches=2) == []


@pytest.mark.parametrize("size", [16, 256])
def test_reduced_buckets_from_runs_are_those_of_the_same_runs_built_here(size):
    values = [float(1 + i * 7919 % 97) for i in range(1, 300_001)]
    values[123_457], values[234_567] = -1.0, 1000.0  # the only lowest and highest, mid-run
    runs = Extremes(size)
    runs.extend(values)
    found = charts.reduced_buckets(values, [(size, runs.lows, runs.highs)])
    assert len(found) == charts.MAX_STRETCHES
    kept = {place for _, _, low, high in found for place in (low, high)}
    assert 123_457 in kept and 234_567 in kept
    # The same as reducing value by value, over stretches made of whole runs.
    runs_count, stretches = len(runs.lows), charts.MAX_STRETCHES
    expected = []
    for bucket in range(stretches):
        first = bucket * runs_count // stretches * size
        last = min((bucket + 1) * runs_count // stretches * size, len(values))
        points = [(values[i], i) for i in range(first, last)]
        expected.append((first, last, min(points)[1], max(points)[1]))
    assert found == expected


@pytest.mark.parametrize(
    ("sizes", "limits"),
    [
        ([480, 520], [MAX_POINTS, MAX_POINTS]),  # all fit: every one as points
        ([300, 1500], [500, 700]),  # the smaller first, the larger gets what it leaves
        ([977, 1023], [500, 500]),
        ([5, 20_000, 30], [333, 965, 497]),
    ],
)
def test_point_limits_share_the_chart_and_pass_on_what_is_left(sizes, limits):
    assert charts.point_limits(sizes) == limits


def interleaved_units(n: int, first: int) -> list[Sighting]:
    """many(n), the first `first` of them (every other one) in iulu."""
    return [
        sighting(s.count, brightness=str(s.brightness), units="iulu" if s.count % 2 else "iuhc")
        if s.count <= 2 * first
        else s
        for s in many(n)
    ]


def test_a_thousand_sightings_in_two_units_are_all_drawn_as_points():
    figure = over_time(interleaved_units(MAX_POINTS, 477))
    assert [trace["mode"] for trace in figure["data"]] == ["markers", "markers"]
    assert sum(len(trace["x"]) for trace in figure["data"]) == MAX_POINTS
    assert "reduced_from" not in figure


def test_two_thousand_sightings_in_two_units_are_two_bands_of_many_sightings_each():
    figure = over_time(interleaved_units(2000, 977))
    assert [trace["name"] for trace in figure["data"]] == [
        f"{line}, {unit}" for unit in ("iuhc", "iulu") for line in ("highest", "lowest", "mean")
    ]
    iuhc, iulu = figure["data"][2], figure["data"][5]
    assert sum(row[0] for row in iuhc["customdata"]) == 1023
    assert sum(row[0] for row in iulu["customdata"]) == 977
    assert min(row[0] for row in iuhc["customdata"] + iulu["customdata"]) >= charts.MIN_STRETCH


@pytest.mark.parametrize("n", [MAX_POINTS + 1, 2500, 20_000, 100_000])
def test_a_band_is_drawn_only_of_stretches_of_many_sightings_and_says_how_many(n):
    figure = over_time(many(n))
    highest, lowest, mean = figure["data"]
    stretches = [count for count, _, _ in mean["customdata"]]
    assert sum(stretches) == n
    assert min(stretches) >= charts.MIN_STRETCH
    assert len(stretches) == min(charts.MAX_STRETCHES, n // charts.MIN_STRETCH)
    for trace, label in ((highest, "Highest"), (lowest, "Lowest"), (mean, "Mean")):
        assert trace["customdata"] == mean["customdata"]
        assert trace["hovertemplate"].startswith(f"{label} of %{{customdata[0]:,}} sightings: ")
        assert trace["meta"] == {"series": 0, "times": [1, 2]}
    # Each stretch's first and last sighting's time, in order, end to end.
    began = [datetime.fromisoformat(b) for _, b, _ in mean["customdata"]]
    ended = [datetime.fromisoformat(e) for _, _, e in mean["customdata"]]
    assert began[0] == START + timedelta(seconds=1) and ended[-1] == START + timedelta(seconds=n)
    assert all(e < b for e, b in zip(ended, began[1:], strict=False))


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1, "%{customdata[1]|%b %-d, %H:%M:%S}–%{customdata[2]|%H:%M:%S}"),
        (20, "%{customdata[1]|%b %-d, %H:%M}–%{customdata[2]|%H:%M}"),
        (86_400, "%{customdata[1]|%b %-d, %H:%M}–%{customdata[2]|%b %-d, %H:%M}"),
    ],
)
def test_a_stretchs_hover_names_its_span_as_finely_as_it_needs(seconds, expected):
    n = 2001
    sightings = [sighting(i, time=START + timedelta(seconds=seconds * i)) for i in range(1, n + 1)]
    assert expected in over_time(sightings)["data"][0]["hovertemplate"]


def test_histogram_counts_bisect_sorted_values():
    ordered = [0.0, 1.0, 1.0, 29.0, 30.0]
    counts = histogram_counts(
        lambda value: sum(v < value for v in ordered), len(ordered), 0.0, 1.0, 30
    )
    assert counts == [1, 2] + [0] * 26 + [0, 2]


def test_a_reduced_series_is_a_band_of_each_stretchs_range_and_its_mean():
    values = [float(v) for v in [1, 9, 5, 5, 2, 8]]
    snapshot = snapshot_of([sighting(i + 1, brightness=str(v)) for i, v in enumerate(values)])
    facts = tally_of(snapshot.columns, range(6))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "MAX_POINTS", 4)  # six points are too many
        patch.setattr(charts, "MIN_STRETCH", 3)  # two stretches of three
        figure = charts.brightness_over_time(snapshot.columns, facts)
    highest, lowest, mean = figure["data"]
    assert (highest["y"], lowest["y"], mean["y"]) == ([9.0, 8.0], [1.0, 2.0], [5.0, 5.0])
    assert highest["x"] == [stamp(2), stamp(6)] and lowest["x"] == [stamp(1), stamp(5)]
    assert lowest["fill"] == "tonexty"
    assert (figure["reduced_from"], figure["shown"]) == (6, 4)


def test_filtered_figures_show_only_the_kept_rows():
    _, figures = overview(snapshot_of(MIXED), SightingFilter(locations=("venus",)))
    assert figures["brightness-chart"]["data"][0]["y"] == [7.0, 3.0]
    assert figures["cumulative-chart"]["data"][0]["x"] == [stamp(1), stamp(4)]
    assert figures["locations-chart"]["data"][0]["y"] == ["venus"]
    assert sum(figures["histogram-chart"]["data"][0]["y"]) == 2


# --- the first sightings ------------------------------------------------------------------


def test_one_sighting_gets_a_time_axis_ten_minutes_wide_and_room_above_it():
    layout = over_time([sighting(1, brightness="7")])["layout"]
    low, high = (datetime.fromisoformat(t) for t in layout["xaxis"]["range"])
    assert (low, high) == (
        START + timedelta(seconds=1, minutes=-5),
        START + timedelta(minutes=5, seconds=1),
    )
    assert layout["yaxis"]["range"] == [0, 7 * 1.15]
    assert layout["xaxis"]["tickangle"] == 0
    assert "rangeslider" not in layout["xaxis"]


def test_times_at_the_end_of_the_calendar_leave_the_axis_to_plotly():
    last = sighting(1, time=datetime(9999, 12, 31, 23, 59, 59))
    assert "range" not in over_time([last])["layout"]["xaxis"]


def test_notes_replace_charts_with_nothing_to_say_yet():
    one = all_figures([sighting(1)])
    assert "instead" in one["cumulative-chart"] and "instead" in one["histogram-chart"]
    two = all_figures([sighting(1, brightness="3"), sighting(2, brightness="9")])
    assert "instead" not in two["cumulative-chart"] and "instead" not in two["histogram-chart"]
