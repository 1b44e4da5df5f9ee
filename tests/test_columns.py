"""The append-only columns: rows come back exactly as parsed, aggregates follow each batch."""

from __future__ import annotations

from datetime import datetime

from spucsvi.data.columns import EXTREME_LEVELS, Columns
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


def test_numeric_rows_sorted_brightness_sum_and_brightest():
    columns = columns_of(
        [
            sighting(1, "2026-11-27 10:00:00", brightness="7"),
            sighting(2, "2026-11-27 10:00:01", brightness="junk"),
            sighting(3, "2026-11-27 10:00:02", brightness="12.5"),
            sighting(4, "2026-11-27 10:00:03", brightness="3"),
            sighting(5, "2026-11-27 10:00:04", brightness="12.5"),
        ]
    )
    assert list(columns.numeric_rows) == [0, 2, 3, 4]
    assert list(columns.numeric_values) == [7.0, 12.5, 3.0, 12.5]
    assert list(columns.sorted_brightness) == [3.0, 7.0, 12.5, 12.5]
    assert columns.brightness_sum == 35.0
    assert columns.brightest == 2  # the first of the two brightest


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


def test_is_latest_only_for_the_full_length():
    columns = columns_of(ROUND_TRIP[:2])
    assert columns.is_latest(2) and not columns.is_latest(1)
    columns.extend(ROUND_TRIP[2:3])
    assert columns.is_latest(3) and not columns.is_latest(2)


def brute_force_extremes(values, size):
    runs = [
        [(values[i], i) for i in range(start, min(start + size, len(values)))]
        for start in range(0, len(values), size)
    ]
    return [min(run) for run in runs], [max(run) for run in runs]


def test_extremes_per_run_follow_every_batch_including_a_partial_last_run():
    values = [(i * 7919) % 97 + (i % 3) * 0.5 for i in range(1, 700)]
    records = [
        sighting(i, f"2026-11-27 10:{i // 60 % 60:02d}:{i % 60:02d}", brightness=str(v))
        for i, v in enumerate(values, start=1)
    ]
    records.insert(100, sighting(0, "2026-11-27 11:00:00", brightness="junk"))  # not a value
    columns = Columns()
    # Batches that end inside a run of 16, on a run's edge, and one value at a time.
    for start, stop in [(0, 5), (5, 21), (21, 33), (33, 34), (34, 35), (35, 300), (300, 700)]:
        columns.extend(records[start:stop])
        numeric = [s.brightness for s in records[:stop] if s.brightness is not None]
        assert list(columns.numeric_values) == numeric
        for extremes, size in zip(columns.extremes, EXTREME_LEVELS, strict=True):
            assert extremes.size == size
            assert (extremes.lows, extremes.highs) == brute_force_extremes(numeric, size)


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
