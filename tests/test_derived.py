"""What every view derives from a snapshot: filters, summary, figures, sorting, pages.

Snapshots are built from sightings as the store would publish them
(conftest.snapshot_of). The unfiltered summary and figures of the newest
snapshot come from the columns' running aggregates, everything else from the
rows: every summary here is computed both ways and must come out the same.
"""

from __future__ import annotations

import pytest

from spucsvi.data.derived import (
    Summary,
    UnitSummary,
    counted_locations,
    dashboard,
    ordered_rows,
    overview,
    position,
    selection,
    table,
    table_order,
)
from spucsvi.data.query import Query, SightingFilter, TableQuery
from spucsvi.data.store import Snapshot
from spucsvi.spuc.records import Sighting
from tests.support.records import at, sighting, snapshot_of

LATER = sighting(999, "2030-01-01 00:00:00", "pluto", "1e6", "iulu")


def older_snapshot_of(records: list[Sighting], skipped: int = 0) -> Snapshot:
    """A snapshot of `records` whose columns have grown since (as after a new fetch),
    so that what it shows must be derived from its rows, not the running aggregates."""
    newest = snapshot_of(records, skipped)
    newest.columns.extend([LATER, LATER])
    return Snapshot(newest.columns, len(records), skipped, 1)


def overview_both_ways(
    records: list[Sighting], skipped: int = 0, sighting_filter: SightingFilter | None = None
) -> tuple[Summary, dict]:
    """The overview from the running aggregates (newest snapshot) and from the rows
    (an older snapshot): they must be identical."""
    sighting_filter = sighting_filter or SightingFilter()
    newest = snapshot_of(records, skipped)
    from_aggregates = overview(newest, sighting_filter)
    from_rows = overview(older_snapshot_of(records, skipped), sighting_filter)
    assert from_rows == from_aggregates
    return from_aggregates


def summarise(records: list[Sighting], skipped: int = 0) -> Summary:
    return overview_both_ways(records, skipped)[0]


def rows_of(snapshot: Snapshot, rows) -> list[int]:
    """The counts of these rows, to compare with the records' counts."""
    return [snapshot.sighting(row).count for row in rows]


# --- filters (selection) ------------------------------------------------------------------

RECORDS = [
    sighting(1, "2026-11-27 09:00:00", "venus"),
    sighting(2, "2026-11-27 12:00:00", "mars"),
    sighting(3, "2026-11-28 09:00:00", "moon, crater"),
    sighting(4, "2026-11-26 23:00:00", "venus"),  # arrived late, with an earlier time
    sighting(5, "2026-11-28 12:00:00", "mars"),
]
IN_TIME_ORDER = [
    sighting(1, "2026-11-26 23:00:00", "venus"),
    sighting(2, "2026-11-27 09:00:00", "venus"),
    sighting(3, "2026-11-27 12:00:00", "mars"),
    sighting(4, "2026-11-28 09:00:00", "moon, crater"),
    sighting(5, "2026-11-28 12:00:00", "mars"),
]


def test_inactive_filter_selects_every_row_in_arrival_order():
    snapshot = snapshot_of(RECORDS)
    assert SightingFilter().active is False
    assert selection(snapshot, SightingFilter()) == range(5)


@pytest.mark.parametrize(
    ("sighting_filter", "expected"),
    [
        (SightingFilter(locations=("venus",)), [1, 4]),
        (SightingFilter(locations=("mars", "moon, crater")), [2, 3, 5]),
        (SightingFilter(locations=("pluto",)), []),
        (SightingFilter(locations=("pluto", "mars")), [2, 5]),
        (SightingFilter(start=at("2026-11-27 12:00")), [2, 3, 5]),
        (SightingFilter(end=at("2026-11-27 12:00")), [1, 4]),
        (SightingFilter(start=at("2026-11-27"), end=at("2026-11-28")), [1, 2]),
        (SightingFilter(("venus", "mars"), at("2026-11-27"), at("2026-11-29")), [1, 2, 5]),
    ],
)
def test_filter_keeps_matching_records_in_arrival_order(sighting_filter, expected):
    snapshot = snapshot_of(RECORDS)
    assert not snapshot.columns.time_sorted
    assert sighting_filter.active is True
    assert rows_of(snapshot, selection(snapshot, sighting_filter)) == expected


@pytest.mark.parametrize(
    ("sighting_filter", "expected"),
    [
        (SightingFilter(start=at("2026-11-27 12:00")), [3, 4, 5]),
        (SightingFilter(start=at("2026-11-27 12:00:00.000001")), [4, 5]),
        (SightingFilter(end=at("2026-11-27 12:00")), [1, 2]),
        (SightingFilter(start=at("2026-11-27"), end=at("2026-11-28")), [2, 3]),
        (SightingFilter(start=at("2026-11-29")), []),
        (SightingFilter(end=at("2026-11-26")), []),
        (SightingFilter(("venus", "mars"), at("2026-11-27"), at("2026-11-29")), [2, 3, 5]),
    ],
)
def test_time_filter_on_rows_in_time_order_matches_a_walk(sighting_filter, expected):
    """In time order the rows are found by bisection: the same rows as a plain walk."""
    snapshot = snapshot_of(IN_TIME_ORDER)
    assert snapshot.columns.time_sorted
    kept = selection(snapshot, sighting_filter)
    walked = [
        s.count
        for s in IN_TIME_ORDER
        if (not sighting_filter.locations or s.location in sighting_filter.locations)
        and (sighting_filter.start is None or s.time >= sighting_filter.start)
        and (sighting_filter.end is None or s.time < sighting_filter.end)
    ]
    assert rows_of(snapshot, kept) == walked == expected


def test_location_filter_is_exact_not_a_substring_or_case_match():
    snapshot = snapshot_of(
        [
            sighting(1, "2026-11-27 09:00:00", "Venus"),
            sighting(2, "2026-11-27 09:00:01", "venus 2"),
        ]
    )
    assert list(selection(snapshot, SightingFilter(locations=("venus",)))) == []


def test_an_older_snapshot_selects_none_of_the_rows_appended_after_it():
    snapshot = older_snapshot_of(RECORDS)
    for sighting_filter in (
        SightingFilter(locations=("pluto", "venus")),
        SightingFilter(start=at("2026-11-27")),
        SightingFilter(("pluto",), at("2000-01-01"), None),
    ):
        assert all(row < 5 for row in selection(snapshot, sighting_filter))
    assert rows_of(snapshot, selection(snapshot, SightingFilter(locations=("pluto",)))) == []


# --- summary ------------------------------------------------------------------------------


def test_summary_of_a_mixed_data_set():
    records = [
        sighting(1, "2026-11-27 09:00:00", "venus", "7", "iuhc"),
        sighting(2, "2026-11-27 10:00:00", "mars", "junk", "iuhc"),
        sighting(3, "2026-11-27 11:00:00", "moon, crater", "12.5", "iulu"),
        sighting(4, "2026-11-27 12:00:00", "venus", "12.5", "iuhc"),
        sighting(5, "2026-11-27 13:00:00", "mars", "3", "iuhc"),
    ]
    assert summarise(records, skipped=2) == Summary(
        total=5,
        latest=records[4],
        # Mixed units: no brightest, mean or median over both (a 12.5 iulu is not
        # brighter than a 7 iuhc), only each unit's own figures.
        brightest=None,
        mean_brightness=None,
        median_brightness=None,
        locations=3,
        units=("iuhc", "iulu"),
        skipped=2,
        # Mixed units: each unit's own figures, never averaged together.
        per_unit=(
            UnitSummary("iuhc", 3, records[3], 7.5, 7.0),
            UnitSummary("iulu", 1, records[2], 12.5, 12.5),
        ),
    )


def test_latest_is_the_last_to_arrive_not_the_latest_time():
    records = [sighting(1, "2026-11-28 09:00:00"), sighting(2, "2026-11-27 09:00:00")]
    assert summarise(records).latest == records[1]


def test_median_of_an_odd_number_is_the_middle_value():
    records = [
        sighting(i, f"2026-11-27 09:00:0{i}", brightness=b)
        for i, b in enumerate(["9", "1", "4"], start=1)
    ]
    summary = summarise(records)
    assert (summary.mean_brightness, summary.median_brightness) == (14 / 3, 4.0)


def test_summary_with_no_readable_brightness():
    records = [
        sighting(1, "2026-11-27 09:00:00", brightness="bright"),
        sighting(2, "2026-11-27 09:00:01", brightness="nan"),
    ]
    summary = summarise(records)
    assert (
        summary.total,
        summary.brightest,
        summary.mean_brightness,
        summary.median_brightness,
    ) == (2, None, None, None)


def test_summary_of_nothing():
    assert overview(snapshot_of([]), SightingFilter())[0] == Summary(
        0, None, None, None, None, 0, (), 0
    )
    nothing_kept = SightingFilter(locations=("pluto",))
    assert overview(snapshot_of(RECORDS, 3), nothing_kept)[0] == Summary(
        0, None, None, None, None, 0, (), 3
    )


def test_mean_and_median_of_huge_brightnesses_stay_finite():
    records = [
        sighting(1, "2026-11-27 09:00:00", brightness="1e308"),
        sighting(2, "2026-11-27 09:00:01", brightness="1e308"),
    ]
    summary = summarise(records)
    assert (summary.mean_brightness, summary.median_brightness) == (1e308, 1e308)
    # Filtered, the summary comes from the rows: the same, and no OverflowError.
    filtered, _ = overview(snapshot_of(records), SightingFilter(locations=("venus",)))
    assert (filtered.mean_brightness, filtered.median_brightness) == (1e308, 1e308)


def test_mean_is_the_same_from_the_running_sum_and_from_the_rows():
    """0.1 + 0.2 + 0.3 rounds differently added one by one than exactly (math.fsum)."""
    records = [
        sighting(i, f"2026-11-27 09:00:0{i}", brightness=b)
        for i, b in enumerate(["0.1", "0.2", "0.3"], start=1)
    ]
    summary = summarise(records)
    assert summary.mean_brightness == pytest.approx(0.2)
    everything = SightingFilter(start=at("2000-01-01"))  # active, so derived from the rows
    assert overview(snapshot_of(records), everything)[0] == summary


def test_filtered_summary_counts_only_the_kept_rows():
    records = [
        sighting(1, "2026-11-27 09:00:00", "venus", "7", "iulu"),
        sighting(2, "2026-11-27 10:00:00", "mars", "junk", "iuhc"),
        sighting(3, "2026-11-27 11:00:00", "venus", "12.5", "iuhc"),
        sighting(4, "2026-11-27 12:00:00", "mars", "3", "iuhc"),
    ]
    summary, _ = overview(snapshot_of(records, 1), SightingFilter(locations=("venus",)))
    assert summary == Summary(
        total=2,
        latest=records[2],
        brightest=None,
        mean_brightness=None,
        median_brightness=None,
        locations=1,
        units=("iuhc", "iulu"),
        skipped=1,
        per_unit=(
            UnitSummary("iuhc", 1, records[2], 12.5, 12.5),
            UnitSummary("iulu", 1, records[0], 7.0, 7.0),
        ),
    )


# --- the same figures from the running aggregates and from the rows ---------------------


def many(n: int) -> list[Sighting]:
    """n sightings with scrambled brightness, some unreadable, many locations and both units."""
    return [
        sighting(
            i,
            f"2026-11-{1 + i // 86400 % 28:02d} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:"
            f"{i % 60:02d}",
            f"place {i % 23}",
            "junk" if i % 11 == 0 else str(1 + i * 7919 % 97),
            "iulu" if i % 5 == 0 else "iuhc",
        )
        for i in range(1, n + 1)
    ]


# 20,000 sightings have 18,182 numeric ones: the reduced chart then uses the runs of 16.
@pytest.mark.parametrize("n", [0, 1, 40, 2500, 20_000])
def test_overview_of_an_older_snapshot_equals_the_one_computed_before_appending(n):
    records = many(n)
    snapshot = snapshot_of(records, skipped=3)
    before = overview(snapshot, SightingFilter())  # from the running aggregates
    snapshot.columns.extend(many(50))  # a new fetch appends to the same columns
    again = Snapshot(snapshot.columns, n, 3, 1)  # the same rows, a fresh memo: from the rows
    assert overview(again, SightingFilter()) == before


def test_overview_is_memoised_per_snapshot_and_filter():
    snapshot = snapshot_of(many(30))
    venus = SightingFilter(locations=("place 1",))
    assert overview(snapshot, venus) is overview(snapshot, venus)
    assert overview(snapshot, SightingFilter()) is overview(snapshot, SightingFilter())
    assert overview(snapshot, venus) is not overview(snapshot, SightingFilter())


def test_dashboard_brings_summary_figures_table_and_locations_together():
    snapshot = snapshot_of(RECORDS)
    query = Query(SightingFilter(locations=("mars",)), TableQuery(per_page=1))
    board = dashboard(snapshot, query)
    assert (board.summary, board.figures) == overview(snapshot, query.filter)
    assert board.table == table(snapshot, query)
    assert board.location_counts == (("venus", 2), ("mars", 2), ("moon, crater", 1))
    assert board.unfiltered_total == 5


def test_counted_locations_are_the_most_sighted_first_then_first_seen():
    snapshot = snapshot_of(
        [
            sighting(1, "2026-11-27 09:00:00", "moon"),
            sighting(2, "2026-11-27 09:00:01", "venus"),
            sighting(3, "2026-11-27 09:00:02", "mars"),
            sighting(4, "2026-11-27 09:00:03", "venus"),
        ]
    )
    assert counted_locations(snapshot) == (("venus", 2), ("moon", 1), ("mars", 1))


# --- table order ---------------------------------------------------------------------------

# Ties on purpose: 1 and 4 share a time; "Mars"/"mars" and "venus"/"Venus" share a
# location once case is folded; 1 and 3 share a brightness.
SORTABLE = [
    sighting(1, "2026-11-27 10:00:00", "venus", "7"),
    sighting(2, "2026-11-27 09:00:00", "Mars", "junk"),
    sighting(3, "2026-11-27 11:00:00", "mars", "7"),
    sighting(4, "2026-11-27 10:00:00", "Venus", "3"),
]


def sorted_counts(records: list[Sighting], order: TableQuery) -> list[int]:
    snapshot = snapshot_of(records)
    return rows_of(snapshot, table_order(snapshot, range(len(records)), order))


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        ("time", False, [2, 1, 4, 3]),
        ("location", False, [2, 3, 1, 4]),
        ("brightness", False, [2, 4, 1, 3]),  # unreadable brightness sorts lowest
        # Newest first: among equal times the later arrival is the newer one.
        ("time", True, [3, 4, 1, 2]),
        ("location", True, [1, 4, 2, 3]),
        ("brightness", True, [1, 3, 4, 2]),
    ],
)
def test_sorting_breaks_ties_by_arrival_order(sort, descending, expected):
    """Ties keep arrival order, except time descending, where arrival is the finer clock."""
    assert sorted_counts(SORTABLE, TableQuery(sort, descending)) == expected


@pytest.mark.parametrize("descending", [False, True])
def test_time_order_of_rows_already_in_time_order(descending):
    records = [sighting(i, f"2026-11-27 10:00:0{i}") for i in range(1, 5)]
    expected = [4, 3, 2, 1] if descending else [1, 2, 3, 4]
    assert sorted_counts(records, TableQuery("time", descending)) == expected


def test_sorting_does_not_change_its_input():
    snapshot = snapshot_of(SORTABLE)
    rows = [0, 1, 2, 3]
    table_order(snapshot, rows, TableQuery("brightness", True))
    table_order(snapshot, rows, TableQuery("time", True))
    assert rows == [0, 1, 2, 3]


def test_unreadable_brightness_sorts_below_negative_numbers():
    records = [
        sighting(1, "2026-11-27 10:00:00", brightness="-5"),
        sighting(2, "2026-11-27 10:00:01", brightness="junk"),
    ]
    assert sorted_counts(records, TableQuery("brightness", False)) == [2, 1]


def test_ordered_rows_follow_the_filter_and_are_memoised():
    snapshot = snapshot_of(RECORDS)
    query = Query(SightingFilter(locations=("mars", "venus")), TableQuery("time", True))
    ordered = ordered_rows(snapshot, query)
    assert rows_of(snapshot, ordered) == [5, 2, 1, 4]
    assert ordered_rows(snapshot, query) is ordered


# --- table pages --------------------------------------------------------------------------

THIRTY_ONE = [sighting(i, f"2026-11-27 10:00:{i:02d}") for i in range(1, 32)]


@pytest.mark.parametrize(
    ("page", "per_page", "rows", "shown_page", "pages"),
    [
        (1, 15, list(range(1, 16)), 1, 3),
        (2, 15, list(range(16, 31)), 2, 3),
        (3, 15, [31], 3, 3),
        (4, 15, [31], 3, 3),  # past the end: the last page
        (10**9, 15, [31], 3, 3),
        (1, 31, list(range(1, 32)), 1, 1),
        (2, 30, [31], 2, 2),
        (1, 200, list(range(1, 32)), 1, 1),
    ],
)
def test_table_page(page, per_page, rows, shown_page, pages):
    query = Query(table=TableQuery("time", False, page, per_page))
    result = table(snapshot_of(THIRTY_ONE), query)
    assert (
        [s.count for s in result.rows],
        result.page,
        result.pages,
        result.per_page,
        result.total,
    ) == (rows, shown_page, pages, per_page, 31)
    # Each row's id is its place in SPUC's file.
    assert result.row_ids == [count - 1 for count in rows]


def test_table_page_of_nothing_is_one_empty_page():
    result = table(snapshot_of([]), Query(table=TableQuery(page=5)))
    assert (result.rows, result.row_ids, result.page, result.pages, result.total) == (
        [],
        [],
        1,
        1,
        0,
    )


def test_table_of_a_filter_counts_only_its_rows():
    query = Query(SightingFilter(locations=("mars",)), TableQuery(per_page=1, page=2))
    result = table(snapshot_of(RECORDS), query)
    assert ([s.count for s in result.rows], result.row_ids, result.total, result.pages) == (
        [2],
        [1],
        2,
        2,
    )


def test_position_in_a_table_order():
    assert position([4, 2, 0], 2) == 1
    assert position(range(10, 0, -1), 3) == 7
    assert position([4, 2, 0], 1) is None


def test_long_locations_are_found_by_their_shortened_form_through_one_map(monkeypatch):
    """Two long locations shown alike are both kept; every location is shortened once
    per snapshot, not once per filter value (20,000 locations cost 550 ms a request)."""
    from spucsvi.data import derived
    from spucsvi.data.display import shown_location

    first, second = "m" * 250, "m" * 200 + "n" * 50  # both "m" * 200 + "… (250 characters)"
    snapshot = snapshot_of(
        [sighting(1, "2026-11-27 09:00:00", first), sighting(2, "2026-11-27 09:00:01", "venus")]
        + [sighting(3, "2026-11-27 09:00:02", second)]
    )
    calls = []
    monkeypatch.setattr(
        derived, "shown_location", lambda name: calls.append(name) or shown_location(name)
    )
    shown = shown_location(first)
    assert rows_of(snapshot, selection(snapshot, SightingFilter(locations=(shown,)))) == [1, 3]
    assert rows_of(snapshot, selection(snapshot, SightingFilter(locations=(shown, "venus")))) == [
        1,
        2,
        3,
    ]
    assert len(calls) == 3  # each location once
