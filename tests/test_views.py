"""The pure functions behind every view: query parsing, filters, summary, sorting, pages."""

from __future__ import annotations

from datetime import datetime

import pytest
from werkzeug.datastructures import MultiDict

from spucsvi.data.query import (
    DEFAULT_PER_PAGE,
    MAX_FILTER_LOCATIONS,
    MAX_PER_PAGE,
    InvalidQuery,
    Query,
    SightingFilter,
    Summary,
    TableQuery,
    parse_query,
    sort_sightings,
    summarise,
    table_page,
)
from spucsvi.spuc.records import Sighting, parse_line


def sighting(
    count: int, time: str, location: str = "venus", brightness: str = "7", units: str = "iuhc"
) -> Sighting:
    """A sighting exactly as the parser reads SPUC's line for it."""
    parsed = parse_line(f"{count},{time},{location},{brightness},{units}")
    assert parsed is not None
    return parsed


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- parse_query: well-formed ------------------------------------------------------------


def test_no_parameters_mean_everything_newest_first():
    assert parse_query({}) == Query(
        SightingFilter((), None, None), TableQuery("time", True, 1, DEFAULT_PER_PAGE), ()
    )


def test_every_parameter_is_parsed():
    args = MultiDict(
        [
            ("location", "venus"),
            ("location", "mars"),
            ("from", "2026-11-27"),
            ("to", "2026-11-28T10:30"),
            ("sort", "brightness"),
            ("order", "asc"),
            ("page", "3"),
            ("per_page", "200"),
        ]
    )
    query = parse_query(args)
    assert query.filter == SightingFilter(
        ("venus", "mars"), at("2026-11-27 00:00:00"), at("2026-11-28 10:31:00")
    )
    assert query.table == TableQuery("brightness", False, 3, 200)


def test_plain_mapping_is_accepted_like_a_multidict():
    assert parse_query({"location": "venus", "sort": "location"}) == parse_query(
        MultiDict([("location", "venus"), ("sort", "location")])
    )


def test_locations_are_deduplicated_and_blank_ones_dropped():
    args = MultiDict(
        [
            ("location", "venus"),
            ("location", ""),
            ("location", "   "),
            ("location", "mars"),
            ("location", "venus"),
        ]
    )
    assert parse_query(args).filter.locations == ("venus", "mars")


def test_the_maximum_number_of_locations_is_accepted():
    args = MultiDict([("location", f"place {i}") for i in range(MAX_FILTER_LOCATIONS)])
    assert len(parse_query(args).filter.locations) == MAX_FILTER_LOCATIONS


def test_repeated_locations_count_once_towards_the_limit():
    args = MultiDict([("location", "venus")] * (MAX_FILTER_LOCATIONS + 10))
    assert parse_query(args).filter.locations == ("venus",)


def test_empty_from_and_to_mean_no_bound():
    assert parse_query({"from": "", "to": "  "}).filter == SightingFilter()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("05", 5),
        ("1000000000", 10**9),
    ],
)
def test_page_numbers(value, expected):
    assert parse_query({"page": value}).table.page == expected


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("200", MAX_PER_PAGE)])
def test_per_page_numbers(value, expected):
    assert parse_query({"per_page": value}).table.per_page == expected


def test_from_equal_to_the_to_date_is_that_whole_day():
    query = parse_query({"from": "2026-11-27", "to": "2026-11-27"})
    assert query.filter == SightingFilter((), at("2026-11-27 00:00"), at("2026-11-28 00:00"))


def test_from_and_to_the_same_minute_is_that_minute():
    query = parse_query({"from": "2026-11-27T10:00", "to": "2026-11-27T10:00"})
    assert query.filter == SightingFilter((), at("2026-11-27 10:00"), at("2026-11-27 10:01"))


# --- parse_query: malformed ---------------------------------------------------------------

FROM_SHAPE = "'from' must be a date like 2026-11-27 or a time like 2026-11-27T18:30."
TO_SHAPE = "'to' must be a date like 2026-11-27 or a time like 2026-11-27T18:30."
PAGE_RANGE = "'page' must be a whole number from 1 to 1000000000."
PER_PAGE_RANGE = "'per_page' must be a whole number from 1 to 200."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"from": "yesterday"}, FROM_SHAPE),
        ({"from": "2026-13-01"}, "'from' is not a real date or time: 2026-13-01."),
        ({"from": "2026-02-30"}, "'from' is not a real date or time: 2026-02-30."),
        ({"to": "27/11/2026"}, TO_SHAPE),
        ({"to": "2026-11-27T25:00"}, "'to' is not a real date or time: 2026-11-27T25:00."),
        (
            {"from": "2026-11-27T18:30+01:00"},
            "'from' must be given without a time zone, as SPUC records them.",
        ),
        (
            {"to": "2026-11-27T18:30Z"},
            "'to' must be given without a time zone, as SPUC records them.",
        ),
        (
            {"from": "2026-11-28", "to": "2026-11-27"},
            "The 'from' time must be before the 'to' time.",
        ),
        (
            {"from": "2026-11-27T10:01", "to": "2026-11-27T10:00"},
            "The 'from' time must be before the 'to' time.",
        ),
        ({"sort": "count"}, "'sort' must be one of time, location, brightness."),
        ({"sort": ""}, "'sort' must be one of time, location, brightness."),
        ({"sort": "Time"}, "'sort' must be one of time, location, brightness."),
        ({"order": "up"}, "'order' must be asc or desc."),
        ({"order": "DESC"}, "'order' must be asc or desc."),
        ({"page": "0"}, PAGE_RANGE),
        ({"page": "-1"}, PAGE_RANGE),
        ({"page": "two"}, PAGE_RANGE),
        ({"page": "1.5"}, PAGE_RANGE),
        ({"page": ""}, PAGE_RANGE),
        ({"page": " 2"}, PAGE_RANGE),
        ({"page": "+2"}, PAGE_RANGE),
        ({"page": "\u0663"}, PAGE_RANGE),  # ARABIC-INDIC DIGIT THREE: a digit, not ASCII
        ({"page": "1000000001"}, PAGE_RANGE),
        ({"per_page": "0"}, PER_PAGE_RANGE),
        ({"per_page": "-5"}, PER_PAGE_RANGE),
        ({"per_page": "x"}, PER_PAGE_RANGE),
        ({"per_page": "201"}, PER_PAGE_RANGE),
        (
            MultiDict([("location", f"place {i}") for i in range(MAX_FILTER_LOCATIONS + 1)]),
            "Choose at most 50 locations.",
        ),
    ],
)
def test_malformed_query_is_refused_with_the_reason(args, message):
    with pytest.raises(InvalidQuery) as caught:
        parse_query(args)
    assert str(caught.value) == message


def test_page_with_thousands_of_digits_is_refused_as_invalid_query():
    with pytest.raises(InvalidQuery) as caught:
        parse_query({"page": "1" * 5000})
    assert str(caught.value) == PAGE_RANGE


def test_to_the_last_representable_day_includes_it():
    sighting_filter = parse_query({"to": "9999-12-31"}).filter
    assert sighting_filter.matches(sighting(1, "9999-12-31 23:59:59.999999"))


@pytest.mark.parametrize("value", ["20261127", "2026-11-27T18"])
def test_undocumented_time_formats_are_refused(value):
    with pytest.raises(InvalidQuery) as caught:
        parse_query({"to": value})
    assert str(caught.value) == TO_SHAPE


# --- 'to' is inclusive at the precision given ---------------------------------------------


@pytest.mark.parametrize(
    ("to", "last_in", "first_out"),
    [
        ("2026-11-27", "2026-11-27 23:59:59.999999", "2026-11-28 00:00:00"),
        ("2026-11-27T18:30", "2026-11-27 18:30:59.999999", "2026-11-27 18:31:00"),
        ("2026-11-27 18:30", "2026-11-27 18:30:59.999999", "2026-11-27 18:31:00"),
        ("2026-11-27T18:30:15", "2026-11-27 18:30:15.999999", "2026-11-27 18:30:16"),
    ],
)
def test_to_includes_the_whole_unit_it_names(to, last_in, first_out):
    sighting_filter = parse_query({"to": to}).filter
    assert sighting_filter.matches(sighting(1, last_in))
    assert not sighting_filter.matches(sighting(2, first_out))


@pytest.mark.parametrize(
    ("start", "first_in", "last_out"),
    [
        ("2026-11-27", "2026-11-27 00:00:00", "2026-11-26 23:59:59.999999"),
        ("2026-11-27T18:30", "2026-11-27 18:30:00", "2026-11-27 18:29:59.999999"),
    ],
)
def test_from_starts_at_the_moment_it_names(start, first_in, last_out):
    sighting_filter = parse_query({"from": start}).filter
    assert sighting_filter.matches(sighting(1, first_in))
    assert not sighting_filter.matches(sighting(2, last_out))


# --- SightingFilter -----------------------------------------------------------------------

RECORDS = [
    sighting(1, "2026-11-27 09:00:00", "venus"),
    sighting(2, "2026-11-27 12:00:00", "mars"),
    sighting(3, "2026-11-28 09:00:00", "moon, crater"),
    sighting(4, "2026-11-26 23:00:00", "venus"),  # arrived late, with an earlier time
    sighting(5, "2026-11-28 12:00:00", "mars"),
]


def counts(sightings) -> list[int]:
    return [s.count for s in sightings]


def test_inactive_filter_returns_the_records_themselves():
    assert SightingFilter().active is False
    assert SightingFilter().apply(RECORDS) is RECORDS


@pytest.mark.parametrize(
    ("sighting_filter", "expected"),
    [
        (SightingFilter(locations=("venus",)), [1, 4]),
        (SightingFilter(locations=("mars", "moon, crater")), [2, 3, 5]),
        (SightingFilter(locations=("pluto",)), []),
        (SightingFilter(start=at("2026-11-27 12:00")), [2, 3, 5]),
        (SightingFilter(end=at("2026-11-27 12:00")), [1, 4]),
        (SightingFilter(start=at("2026-11-27"), end=at("2026-11-28")), [1, 2]),
        (SightingFilter(("venus", "mars"), at("2026-11-27"), at("2026-11-29")), [1, 2, 5]),
    ],
)
def test_filter_keeps_matching_records_in_arrival_order(sighting_filter, expected):
    assert sighting_filter.active is True
    assert counts(sighting_filter.apply(RECORDS)) == expected


def test_location_filter_is_exact_not_a_substring_or_case_match():
    records = [
        sighting(1, "2026-11-27 09:00:00", "Venus"),
        sighting(2, "2026-11-27 09:00:01", "venus 2"),
    ]
    assert SightingFilter(locations=("venus",)).apply(records) == []


# --- summarise ----------------------------------------------------------------------------


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
        brightest=records[2],  # the first of the two 12.5s
        mean_brightness=8.75,  # (7 + 12.5 + 12.5 + 3) / 4: "junk" is left out
        median_brightness=9.75,  # of 3, 7, 12.5, 12.5
        locations=3,
        units=("iuhc", "iulu"),
        skipped=2,
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
    assert summarise([]) == Summary(0, None, None, None, None, 0, (), 0)


def test_summary_as_json():
    records = [
        sighting(1, "2026-11-27 09:00:00.500000", "venus", "7", "iulu"),
        sighting(2, "2026-11-27 10:00:00", "mars", "junk", "iuhc"),
    ]
    assert summarise(records, skipped=1).as_json() == {
        "total": 2,
        "latest": {
            "count": 2,
            "time": "2026-11-27 10:00:00",
            "location": "mars",
            "brightness": None,
            "raw_brightness": "junk",
            "units": "iuhc",
        },
        "brightest": {
            "count": 1,
            "time": "2026-11-27 09:00:00.500000",
            "location": "venus",
            "brightness": 7.0,
            "raw_brightness": "7",
            "units": "iulu",
        },
        "mean_brightness": 7.0,
        "median_brightness": 7.0,
        "locations": 2,
        "units": ["iuhc", "iulu"],
        "unreadable_lines": 1,
    }


def test_mean_and_median_of_huge_brightnesses_stay_finite():
    records = [
        sighting(1, "2026-11-27 09:00:00", brightness="1e308"),
        sighting(2, "2026-11-27 09:00:01", brightness="1e308"),
    ]
    summary = summarise(records)
    assert (summary.mean_brightness, summary.median_brightness) == (1e308, 1e308)


# --- sort_sightings -----------------------------------------------------------------------

# Ties on purpose: 1 and 4 share a time; "Mars"/"mars" and "venus"/"Venus" share a
# location once case is folded; 1 and 3 share a brightness.
SORTABLE = [
    sighting(1, "2026-11-27 10:00:00", "venus", "7"),
    sighting(2, "2026-11-27 09:00:00", "Mars", "junk"),
    sighting(3, "2026-11-27 11:00:00", "mars", "7"),
    sighting(4, "2026-11-27 10:00:00", "Venus", "3"),
]


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
    assert counts(sort_sightings(SORTABLE, TableQuery(sort, descending))) == expected


def test_sorting_does_not_change_its_input():
    before = list(SORTABLE)
    sort_sightings(SORTABLE, TableQuery("brightness", True))
    assert before == SORTABLE


def test_unreadable_brightness_sorts_below_negative_numbers():
    records = [
        sighting(1, "2026-11-27 10:00:00", brightness="-5"),
        sighting(2, "2026-11-27 10:00:01", brightness="junk"),
    ]
    assert counts(sort_sightings(records, TableQuery("brightness", False))) == [2, 1]


# --- table_page ---------------------------------------------------------------------------

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
    result = table_page(THIRTY_ONE, TableQuery(page=page, per_page=per_page))
    assert (counts(result.rows), result.page, result.pages, result.per_page, result.total) == (
        rows,
        shown_page,
        pages,
        per_page,
        31,
    )


def test_table_page_of_nothing_is_one_empty_page():
    result = table_page([], TableQuery(page=5))
    assert (list(result.rows), result.page, result.pages, result.total) == ([], 1, 1, 0)


# --- Query.args ---------------------------------------------------------------------------

ARGS = MultiDict(
    [
        ("location", "venus"),
        ("location", "mars"),
        ("from", "2026-11-27"),
        ("sort", "brightness"),
        ("per_page", "5"),
    ]
)


def test_args_keep_repeated_locations_in_order():
    assert parse_query(ARGS).args() == {
        "location": ["venus", "mars"],
        "from": ["2026-11-27"],
        "sort": ["brightness"],
        "per_page": ["5"],
    }


def test_args_change_add_and_remove_keys():
    assert parse_query(ARGS).args(sort="time", order="asc", per_page=None, page=2) == {
        "location": ["venus", "mars"],
        "from": ["2026-11-27"],
        "sort": "time",
        "order": "asc",
        "page": 2,
    }


def test_args_leave_out_empty_and_unknown_parameters():
    args = MultiDict([("location", "venus"), ("from", ""), ("to", ""), ("utm_source", "x")])
    assert parse_query(args).args() == {"location": ["venus"]}


def test_args_removing_an_absent_key_is_harmless():
    assert parse_query({}).args(order=None) == {}


def test_args_do_not_share_state_between_calls():
    query = parse_query(ARGS)
    query.args()["location"].append("pluto")
    assert query.args()["location"] == ["venus", "mars"]
