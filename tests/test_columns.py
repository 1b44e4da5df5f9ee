"""The append-only columns: rows come back exactly as parsed, in rows and in batches;
the tally of their rows follows each batch."""

from __future__ import annotations

import math
from datetime import datetime

from spucsvi.data import tally
from spucsvi.data.columns import Columns
from spucsvi.data.tally import EXTREME_LEVELS, Extremes, Tally, tally_of
from spucsvi.spuc.records import parse_line
from tests.support.records import sighting


def columns_of(sightings) -> Columns:
    columns = Columns()
    columns.extend(sightings)
    return columns


ROUND_TRIP = [
    sighting(1, "2026-11-27 18:02:00.027188", 'moon, "big" crater', "100", "iulu"),
    sighting(2, "2026-11-27 18:02:02", "venus", "7", "iuhc"),  # no microseconds
    sighting(3, "2026-11-27 23:59:59.999999", "venus", "12.5", "iuhc"),
    sighting(4, "2026-11-28 00:00:00", "mars", "junk", "iuhc"),
    sighting(5, "0001-01-01 00:00:00", "the start of time", " 7 ", "iuhc"),
    sighting(6, "9999-12-31 23:59:59.999999", "the end of time", "1e308", "iuhc"),
    sighting(7, "2026-11-28 00:00:00.000001", "ünïcörn café", "-0", "iulu"),
]


def test_rows_come_back_exactly_as_parsed():
    columns = columns_of(ROUND_TRIP)
    assert len(columns) == len(ROUND_TRIP)
    assert [columns.sighting(row) for row in range(len(columns))] == ROUND_TRIP
    assert columns.sighting(0).time.microsecond == 27188
    assert columns.sighting(1).time.microsecond == 0
    assert str(columns.sighting(1).time) == "2026-11-27 18:02:02"


def test_junk_brightness_is_kept_as_raw_text_with_no_number():
    junk = columns_of(ROUND_TRIP).sighting(3)
    assert (junk.brightness, junk.raw_brightness) == (None, "junk")


def test_rows_in_several_batches_are_the_same_as_in_one():
    columns = Columns()
    for start in range(0, len(ROUND_TRIP), 3):
        columns.extend(ROUND_TRIP[start : start + 3])
    assert [columns.sighting(row) for row in range(len(columns))] == ROUND_TRIP


def test_text_is_interned_once_per_distinct_value():
    columns = columns_of(
        [
            sighting(1, "2026-11-27 10:00:00", "venus", "7", "iuhc"),
            sighting(2, "2026-11-27 10:00:01", "mars", "7", "iulu"),
            sighting(3, "2026-11-27 10:00:02", "venus", "7.0", "iuhc"),
            sighting(4, "2026-11-27 10:00:03", "Venus", "junk", "iuhc"),
        ]
    )
    assert columns.locations.values == ["venus", "mars", "Venus"]
    assert list(columns.location_ids) == [0, 1, 0, 2]
    assert columns.raw_brightness.values == ["7", "7.0", "junk"]
    assert columns.brightness_of == [7.0, 7.0, None]
    assert columns.units.values == ["iuhc", "iulu"]
    assert columns.locations.find("mars") == 1 and columns.locations.find("pluto") is None
    # Equal texts share one object: a row costs a few machine words, not a string.
    assert columns.sighting(0).location is columns.sighting(2).location
    assert [list(rows) for rows in columns.rows_by_location] == [[0, 2], [1], [3]]


def test_numeric_rows_mean_median_and_brightest():
    columns = columns_of(
        [
            sighting(1, "2026-11-27 10:00:00", brightness="7"),
            sighting(2, "2026-11-27 10:00:01", brightness="junk"),
            sighting(3, "2026-11-27 10:00:02", brightness="12.5"),
            sighting(4, "2026-11-27 10:00:03", brightness="3"),
            sighting(5, "2026-11-27 10:00:04", brightness="12.5"),
        ]
    )
    facts = tally_of(columns, range(5))
    (series,) = facts.series
    assert list(series.rows) == [0, 2, 3, 4]
    assert list(series.values) == [7.0, 12.5, 3.0, 12.5]
    assert (facts.mean, facts.median) == (35.0 / 4, 9.75)
    assert (series.histogram.low, series.histogram.high) == (3.0, 12.5)
    assert facts.brightest == series.brightest == 2  # the first of the two brightest
    assert facts.latest == 4


def test_batches_of_a_run_of_rows_and_of_chosen_rows():
    columns = columns_of(ROUND_TRIP)
    for rows in (range(1, 4), [6, 0, 3]):
        batch = columns.batch(rows)
        assert batch.counts == [ROUND_TRIP[row].count for row in rows]
        assert batch.times == [ROUND_TRIP[row].time for row in rows]
        assert batch.locations == [ROUND_TRIP[row].location for row in rows]
        assert batch.values == [ROUND_TRIP[row].brightness for row in rows]
        assert batch.raw_brightness == [ROUND_TRIP[row].raw_brightness for row in rows]
        assert batch.units == [ROUND_TRIP[row].units for row in rows]
    assert [b.counts for b in columns.batches(range(7), 3)] == [[1, 2, 3], [4, 5, 6], [7]]


def test_a_tally_fed_batch_by_batch_equals_one_fed_at_once():
    columns = columns_of(ROUND_TRIP * 3)
    running = Tally()
    for start, stop in [(0, 1), (1, 5), (5, 5), (5, 21)]:
        running.extend(columns.batch(range(start, stop)))
        assert running.facts(columns, range(stop)) == tally_of(columns, range(stop))


def test_time_sorted_until_a_time_goes_back():
    columns = columns_of(
        [sighting(1, "2026-11-27 10:00:00"), sighting(2, "2026-11-27 10:00:00")]  # equal: sorted
    )
    assert columns.time_sorted
    columns.extend([sighting(3, "2026-11-27 10:00:00.000001")])
    assert columns.time_sorted
    columns.extend([sighting(4, "2026-11-27 09:59:59.999999")])
    assert not columns.time_sorted
    columns.extend([sighting(5, "2030-01-01 00:00:00")])
    assert not columns.time_sorted  # once out of order, always


def test_facts_taken_stay_as_they_were_while_the_tally_grows(monkeypatch):
    monkeypatch.setattr(tally, "MAX_TIME_POINTS", 4)  # reduced from 32 values on, runs of 16
    columns = columns_of(ROUND_TRIP * 40)  # 240 rows; at 100, the last run of 16 is partial
    running = Tally()
    running.extend(columns.batch(range(100)))
    before = running.facts(columns, range(100))
    kept = [(list(s.rows), list(s.values), list(map(list, s.extremes))) for s in before.series]
    running.extend(columns.batch(range(100, 240)))
    running.facts(columns, range(240))  # the runs grow, the partial last one too
    assert [
        (list(s.rows), list(s.values), list(map(list, s.extremes))) for s in before.series
    ] == kept
    assert before == tally_of(columns, range(100))
    assert any(s.extremes for s in before.series)


def brute_force_extremes(values, size):
    runs = [
        [(values[i], i) for i in range(start, min(start + size, len(values)))]
        for start in range(0, len(values), size)
    ]
    return [min(run) for run in runs], [max(run) for run in runs]


def test_extremes_per_run_follow_every_batch_including_a_partial_last_run():
    values = [(i * 7919) % 97 + (i % 3) * 0.5 for i in range(1, 700)]
    levels = [Extremes(size) for size in EXTREME_LEVELS]
    # Batches that end inside a run of 16, on a run's edge, and one value at a time.
    for stop in [5, 21, 33, 34, 35, 300, 700]:
        for extremes, size in zip(levels, EXTREME_LEVELS, strict=True):
            extremes.extend(values[:stop])
            assert (extremes.lows, extremes.highs) == brute_force_extremes(values[:stop], size)


def test_time_order_is_kept_once_arrival_order_is_not_time_order():
    """Sorted once when a record first arrives out of time order, then each new
    row is placed by bisection: the same as sorting every row by time, ties in
    arrival order, after every batch."""
    batches = [
        [sighting(1, "2026-11-27 10:00:00"), sighting(2, "2026-11-27 11:00:00")],
        [sighting(3, "2026-11-27 10:30:00")],  # SPUC's clock went back
        [sighting(4, "2026-11-27 09:00:00"), sighting(5, "2026-11-27 11:00:00")],
        [sighting(6, "2026-11-27 10:30:00"), sighting(7, "2026-11-28 00:00:00")],
    ]
    columns = Columns()
    columns.extend(batches[0])
    assert columns.time_order is None  # arrival order serves while it is time order
    for batch in batches[1:]:
        columns.extend(batch)
        expected = sorted(range(len(columns)), key=lambda row: columns.times[row])
        assert list(columns.time_order) == expected


def test_times_of_a_spuc_clock_in_another_zone_are_kept_in_utc():
    from zoneinfo import ZoneInfo

    columns = Columns(ZoneInfo("Europe/Berlin"))
    columns.extend([parse_line("1,2026-11-27 10:00:00,venus,7,iuhc")])  # CET, UTC+1
    assert columns.sighting(0).time == datetime(2026, 11, 27, 9, 0)


def test_orders_of_a_run_of_rows_are_those_of_a_stable_sort():
    """From the rows of each value: the same as sorting, ties in arrival order, with
    case-folded equal locations and equal brightness written differently."""
    places = ["Venus", "venus", "mars", "Mars", "ünïcörn", "moon"]
    lights = ["7", "7.0", "junk", "-0", "0", "12.5", "3", "", "1e308"]
    records = [
        sighting(i, "2026-11-27 10:00:00", places[i * 7 % 6], lights[i * 5 % 9]) for i in range(300)
    ]
    columns = columns_of(records)
    ranks = {
        "location": lambda row: records[row].location.casefold(),
        "brightness": lambda row: (
            -math.inf if records[row].brightness is None else records[row].brightness
        ),
    }
    for rows in (range(300), range(17, 230), range(5, 5)):
        for by, rank in ranks.items():
            for descending in (True, False):
                expected = sorted(rows, key=rank, reverse=descending)
                assert list(columns.ordered(rows, by, descending, 300)) == expected
                chosen = list(rows)[::3]  # not a run: sorted as it stands
                expected = sorted(chosen, key=rank, reverse=descending)
                assert list(columns.ordered(chosen, by, descending, 300)) == expected
