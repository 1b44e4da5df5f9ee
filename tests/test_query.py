"""Query parsing: what the URL says about which sightings to show and how.

The filter's bounds are checked through `derived.selection`, which applies
them, on columns in time order (bisection) and out of it (a walk of the rows).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from spucsvi.data.derived import selection
from spucsvi.data.query import (
    DEFAULT_PER_PAGE,
    FILTERS,
    MAX_FILTER_LOCATIONS,
    MAX_PER_PAGE,
    InvalidQuery,
    Query,
    SightingFilter,
    TableQuery,
    parse_query,
)
from tests.support.records import at, sighting, snapshot_of


def keeps(sighting_filter: SightingFilter, time: str) -> bool:
    """Whether the filter keeps a sighting at `time`, the same whether the rows are
    in time order (found by bisection) or not (each row compared)."""
    in_order = snapshot_of([sighting(1, time)])
    # A later arrival with the earliest possible time: the rows are no longer in time order.
    out_of_order = snapshot_of([sighting(1, time), sighting(2, "0001-01-01 00:00:00")])
    assert in_order.columns.time_sorted and not out_of_order.columns.time_sorted
    by_bisection = 0 in selection(in_order, sighting_filter)
    by_walk = 0 in selection(out_of_order, sighting_filter)
    assert by_bisection == by_walk
    return by_bisection


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
SINCE_SHAPE = "'since' must be a number of minutes, hours or days, like 90m, 2h or 30d."
SINCE_BOUND = (
    "'since' goes back at most 3,660 days (about ten years); for older sightings use From."
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"from": "yesterday"}, FROM_SHAPE),
        ({"from": "2026-13-01"}, "'from' is not a real date or time: 2026-13-01."),
        ({"from": "2026-02-30"}, "'from' is not a real date or time: 2026-02-30."),
        ({"to": "27/11/2026"}, TO_SHAPE),
        ({"to": "2026-11-27T25:00"}, "'to' is not a real date or time: 2026-11-27T25:00."),
        ({"since": "1y"}, SINCE_SHAPE),
        ({"since": "0d"}, SINCE_SHAPE),
        ({"since": "h"}, SINCE_SHAPE),
        ({"since": "1.5h"}, SINCE_SHAPE),
        ({"since": "-2h"}, SINCE_SHAPE),
        ({"since": "\u0662h"}, SINCE_SHAPE),  # ARABIC-INDIC DIGIT TWO: not ASCII
        ({"since": "12345678d"}, SINCE_SHAPE),
        ({"since": "3661d"}, SINCE_BOUND),
        ({"since": "87841h"}, SINCE_BOUND),
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
    assert keeps(sighting_filter, "9999-12-31 23:59:59.999999")


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
    assert keeps(sighting_filter, last_in)
    assert not keeps(sighting_filter, first_out)


@pytest.mark.parametrize(
    ("start", "first_in", "last_out"),
    [
        ("2026-11-27", "2026-11-27 00:00:00", "2026-11-26 23:59:59.999999"),
        ("2026-11-27T18:30", "2026-11-27 18:30:00", "2026-11-27 18:29:59.999999"),
    ],
)
def test_from_starts_at_the_moment_it_names(start, first_in, last_out):
    sighting_filter = parse_query({"from": start}).filter
    assert keeps(sighting_filter, first_in)
    assert not keeps(sighting_filter, last_out)


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


def test_times_with_a_zone_are_converted_to_utc_and_without_one_are_utc():
    query = parse_query({"from": "2026-11-27T18:30+01:00", "to": "2026-11-27T18:30Z"})
    assert query.filter.start == datetime(2026, 11, 27, 17, 30)
    assert query.filter.end == datetime(2026, 11, 27, 18, 31)  # the whole minute
    assert parse_query({"from": "2026-11-27"}).filter.start == datetime(2026, 11, 27)


def test_since_counts_back_from_now_and_lives_in_the_url():
    now = datetime(2026, 11, 27, 18, 30)
    query = parse_query({"since": "1h"}, now=now)
    assert query.filter.start == datetime(2026, 11, 27, 17, 30)
    assert query.filter.active and query.args() == {"since": ["1h"]}
    assert parse_query({"since": "7d"}, now=now).filter.start == datetime(2026, 11, 20, 18, 30)
    # With a 'from' too, the later start wins.
    later = parse_query({"since": "7d", "from": "2026-11-26"}, now=now)
    assert later.filter.start == datetime(2026, 11, 26)


@pytest.mark.parametrize(
    ("since", "start", "name"),
    [
        ("90m", datetime(2026, 11, 27, 17, 0), "last_90_minutes"),
        ("1h", datetime(2026, 11, 27, 17, 30), "last_hour"),
        ("2h", datetime(2026, 11, 27, 16, 30), "last_2_hours"),
        ("7d", datetime(2026, 11, 20, 18, 30), "last_7_days"),
        ("30d", datetime(2026, 10, 28, 18, 30), "last_30_days"),
        ("90d", datetime(2026, 8, 29, 18, 30), "last_90_days"),
        ("3660d", datetime(2016, 11, 19, 18, 30), "last_3660_days"),
    ],
)
def test_since_takes_any_number_of_minutes_hours_or_days(since, start, name):
    query = parse_query({"since": since}, now=datetime(2026, 11, 27, 18, 30))
    assert query.filter.start == start
    assert query.download_name("csv") == f"unicorn_sightings_{name}.csv"


# --- a forgiving parse: the page -----------------------------------------------------------


def test_a_forgiving_parse_leaves_out_only_the_refused_part():
    args = MultiDict(
        [("location", "venus"), ("from", "yesterday"), ("to", "2026-11-28"), ("since", "1y")]
    )
    query = parse_query(args, now=NOW, forgiving=True)
    assert query.filter == SightingFilter(("venus",), None, datetime(2026, 11, 29))
    assert query.refused == (("since", SINCE_SHAPE), ("from", FROM_SHAPE))
    assert query.refusal("from") == FROM_SHAPE and query.refusal("to") == ""
    # What was typed stays in the links (the page shows it), not in the chips,
    # the form's hidden fields or what a download asks for.
    assert query.value("from") == "yesterday" and query.args()["since"] == ["1y"]
    assert [(chip.filter.key, chip.value) for chip in query.chips()] == [
        ("location", "venus"),
        ("to", "2026-11-28"),
    ]
    assert query.hidden_in_form() == []
    assert query.download_args() == {"location": ["venus"], "to": ["2026-11-28"]}
    assert query.download_name("csv") == "unicorn_sightings_venus_to_2026-11-28.csv"
    # The strict parse (the API) refuses the whole query with the first reason.
    with pytest.raises(InvalidQuery, match="'since' must be"):
        parse_query(args, now=NOW)


def test_from_after_to_refuses_the_later_field_and_keeps_the_other():
    query = parse_query({"from": "2026-11-28", "to": "2026-11-27"}, forgiving=True)
    assert query.filter == SightingFilter(start=datetime(2026, 11, 28))
    assert query.refused == (("to", "The 'from' time must be before the 'to' time."),)
    # A range that starts after 'to' refuses 'to' as well.
    late = parse_query({"since": "1h", "to": "2026-11-01"}, now=NOW, forgiving=True)
    assert late.filter.start == NOW - timedelta(hours=1) and late.filter.end is None
    assert late.refusal("to")


def test_a_well_formed_query_refuses_nothing():
    assert parse_query({"from": "2026-11-27", "location": "mars"}, forgiving=True).refused == ()


# --- the declared filters -----------------------------------------------------------------

NOW = datetime(2026, 11, 28, 12, 0)


@pytest.mark.parametrize("declared", FILTERS, ids=lambda f: f.key)
def test_each_declared_filter_narrows_is_kept_in_links_and_said_in_chips_and_names(declared):
    query = parse_query({declared.key: declared.example, "page": "2"}, now=NOW)
    assert query.filter.active
    assert query.args()[declared.key] == [declared.example]  # links keep it
    (chip,) = query.chips()
    assert (chip.filter, chip.value) == (declared, declared.example)
    assert chip.without == {}  # the link without it: no filter, the first page
    assert query.download_name("csv") != Query().download_name("csv")
    hidden = [(declared.key, declared.example)] if declared.hidden_in_form else []
    assert query.hidden_in_form() == hidden


def test_every_declared_filter_together():
    args = MultiDict([(declared.key, declared.example) for declared in FILTERS])
    args.add("location", "mars")
    query = parse_query(args, now=NOW)
    assert query.filter == SightingFilter(
        ("venus", "mars"),
        NOW - timedelta(days=1),
        datetime(2026, 11, 28, 10, 31),
        ("iulu",),
        2.5,
        100.0,
    )
    assert [(chip.filter.key, chip.value) for chip in query.chips()] == [
        ("location", "venus"),
        ("location", "mars"),
        ("since", "1d"),
        ("from", "2026-11-27"),
        ("to", "2026-11-28T10:30"),
        ("units", "iulu"),
        ("min_brightness", "2.5"),
        ("max_brightness", "100"),
    ]
    # Removing one location keeps the other and every other filter.
    assert query.chips()[0].without["location"] == ["mars"]
    assert query.download_name("json") == (
        "unicorn_sightings_venus_mars_last_day_from_2026-11-27_to_2026-11-28T10-30"
        "_in_iulu_brightness_from_2-5_brightness_to_100.json"
    )


def test_unknown_parameters_are_not_kept():
    assert parse_query({"colour": "purple", "location": "venus"}).raw == (("location", "venus"),)
