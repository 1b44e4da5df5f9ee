"""The JSON and CSV twins of the page, over the Flask test client against the SPUC emulator."""

from __future__ import annotations

import csv
import io
import json

import pytest

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import export_text, make_app, post_sighting
from tests.support.fakes import closed_port_url
from tests.support.records import DATA, HEADER

S1 = {
    "count": 1,
    "time": "2026-11-27T18:02:00.027188Z",
    "location": 'moon, "big" crater',
    "brightness": 100.0,
    "raw_brightness": "100",
    "units": "iulu",
}
S2 = {
    "count": 2,
    "time": "2026-11-27T18:02:02Z",
    "location": "venus",
    "brightness": 7.0,
    "raw_brightness": "7",
    "units": "iulu",
}
S3 = {
    "count": 3,
    "time": "2026-11-27T23:59:59.999999Z",
    "location": "venus",
    "brightness": 12.5,
    "raw_brightness": "12.5",
    "units": "iuhc",
}
S4 = {
    "count": 4,
    "time": "2026-11-28T00:00:00Z",
    "location": "mars",
    "brightness": None,
    "raw_brightness": "junk",
    "units": "iuhc",
}
S5 = {
    "count": 5,
    "time": "2026-11-28T09:15:30.500000Z",
    "location": "mars",
    "brightness": 3.0,
    "raw_brightness": "3",
    "units": "iuhc",
}

EXPECTED_CSV = (
    b"count,time_utc,location,brightness,units\r\n"
    b'1,2026-11-27 18:02:00.027188,"moon, ""big"" crater",100,iulu\r\n'
    b"2,2026-11-27 18:02:02,venus,7,iulu\r\n"
    b"3,2026-11-27 23:59:59.999999,venus,12.5,iuhc\r\n"
    b"4,2026-11-28 00:00:00,mars,junk,iuhc\r\n"
    b"5,2026-11-28 09:15:30.500000,mars,3,iuhc\r\n"
)

NOTHING_YET = '{"message":"No unicorn sightings yet!"}\n'


@pytest.fixture(scope="module")
def api(seeded_for_module):
    """The test client on SPUC holding DATA (read only: shared by the module)."""
    client, _ = seeded_for_module(DATA)
    return client


def assert_json_error(response, status: int, message: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": message, "status": status}


# --- GET /api/sightings -------------------------------------------------------------------


def test_list_is_newest_first_with_every_field(api):
    response = api.get("/api/sightings")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body.pop("links") == {"next": None, "prev": None, "all": "/sightings.json"}
    assert body == {
        "total": 5,
        "page": 1,
        "per_page": 15,
        "pages": 1,
        "sightings": [S5, S4, S3, S2, S1],
    }


def test_list_sorts_by_time_not_arrival(seeded):
    client, _ = seeded(
        HEADER + "1,2026-11-27 10:00:00,a,1,iuhc\n2,2026-11-27 09:00:00,b,2,iuhc\n"
        "3,2026-11-27 11:00:00,c,3,iuhc\n"
    )
    assert [s["count"] for s in client.get("/api/sightings").get_json()["sightings"]] == [3, 1, 2]
    assert [s["count"] for s in client.get("/api/sightings?order=asc").get_json()["sightings"]] == [
        2,
        1,
        3,
    ]


def test_list_keys_come_in_a_stable_order(api):
    body = api.get("/api/sightings?per_page=1").get_data(as_text=True)
    assert body.startswith(
        '{"total":5,"page":1,"per_page":1,"pages":5,"sightings":[{"count":5,'
        '"time":"2026-11-28T09:15:30.500000Z","location":"mars",'
        '"brightness":3.0,"raw_brightness":"3","units":"iuhc"}]'
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("location=venus", [S3, S2]),
        ("location=venus&location=mars", [S5, S4, S3, S2]),
        ("location=moon,+%22big%22+crater", [S1]),
        ("location=pluto", []),
        ("from=2026-11-28", [S5, S4]),
        ("to=2026-11-27", [S3, S2, S1]),  # the whole day, to 23:59:59.999999
        ("to=2026-11-27T18:02", [S2, S1]),  # the whole minute
        ("from=2026-11-27T18:02:01&to=2026-11-27", [S3, S2]),
        ("location=mars&from=2026-11-28T09:00", [S5]),
        ("units=iulu", [S2, S1]),
        ("units=iuhc&units=iulu", [S5, S4, S3, S2, S1]),
        ("units=pluto", []),
        ("min_brightness=7", [S3, S2, S1]),  # "junk" has no brightness to compare
        ("max_brightness=7", [S5, S2]),
        ("min_brightness=5&max_brightness=50&units=iuhc", [S3]),
        ("min_brightness=+7.0&max_brightness=7", [S2]),
    ],
)
def test_list_filters(api, query, expected):
    body = api.get(f"/api/sightings?{query}").get_json()
    assert (body["total"], body["sightings"]) == (len(expected), expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("order=asc", [S1, S2, S3, S4, S5]),
        ("sort=time&order=desc", [S5, S4, S3, S2, S1]),
        # Within each unit (a brightness in iulu is not above or below one in iuhc).
        ("sort=brightness", [S3, S5, S4, S1, S2]),
        ("sort=brightness&order=asc", [S4, S5, S3, S2, S1]),  # unreadable lowest
        ("sort=location&order=asc", [S4, S5, S1, S2, S3]),
    ],
)
def test_list_sorts(api, query, expected):
    assert api.get(f"/api/sightings?{query}").get_json()["sightings"] == expected


@pytest.mark.parametrize(
    ("query", "page", "pages", "per_page", "expected"),
    [
        ("per_page=2", 1, 3, 2, [S5, S4]),
        ("per_page=2&page=2", 2, 3, 2, [S3, S2]),
        ("per_page=2&page=3", 3, 3, 2, [S1]),
        ("per_page=2&page=9", 3, 3, 2, [S1]),  # past the end: the last page
        ("per_page=200", 1, 1, 200, [S5, S4, S3, S2, S1]),
    ],
)
def test_list_pages(api, query, page, pages, per_page, expected):
    body = api.get(f"/api/sightings?{query}").get_json()
    links = body.pop("links")
    assert (links["next"] is not None) == (page < pages)
    assert (links["prev"] is not None) == (page > 1)
    assert body == {
        "total": 5,
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "sightings": expected,
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("per_page=201", "'per_page' must be a whole number from 1 to 200."),
        ("per_page=0", "'per_page' must be a whole number from 1 to 200."),
        ("page=0", "'page' must be a whole number from 1 to 1000000000."),
        ("page=-2", "'page' must be a whole number from 1 to 1000000000."),
        ("page=last", "'page' must be a whole number from 1 to 1000000000."),
        ("from=tomorrow", "'from' must be a date like 2026-11-27 or a time like 2026-11-27T18:30."),
        (
            "since=forever",
            "'since' must be a number of minutes, hours or days, like 90m, 2h or 30d.",
        ),
        ("from=2026-11-28&to=2026-11-27", "The 'from' time must be before the 'to' time."),
        ("sort=count", "'sort' must be one of time, location, brightness."),
        ("order=random", "'order' must be asc or desc."),
    ],
)
def test_list_malformed_query_is_a_json_400(api, query, message):
    assert_json_error(api.get(f"/api/sightings?{query}"), 400, message)


def test_list_page_with_thousands_of_digits_is_a_400(api):
    assert_json_error(
        api.get("/api/sightings?page=" + "9" * 5000),
        400,
        "'page' must be a whole number from 1 to 1000000000.",
    )


def test_list_to_the_last_representable_day_is_everything(api):
    response = api.get("/api/sightings?to=9999-12-31")
    assert response.status_code == 200
    assert response.get_json()["total"] == 5


def test_list_with_no_sightings_yet(client):
    body = client.get("/api/sightings").get_json()
    assert body.pop("links")["next"] is None
    assert body == {
        "total": 0,
        "page": 1,
        "per_page": 15,
        "pages": 1,
        "sightings": [],
    }


def test_list_when_spuc_is_down_is_a_json_503(tmp_path):
    url = closed_port_url()
    response = make_app(url, tmp_path).test_client().get("/api/sightings")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": f"SPUC could not be reached at {url}. Is it running?",
        "status": 503,
        "failure": "SpucUnreachable",
    }


# --- GET /api/summary ---------------------------------------------------------------------


def test_summary_of_everything(api):
    response = api.get("/api/summary")
    assert response.status_code == 200
    assert response.get_json() == {
        "total": 5,
        "latest": S5,
        # Mixed units: the figures of each, never compared or averaged together.
        "brightest": None,
        "mean_brightness": None,
        "median_brightness": None,
        "locations": 3,
        "units": ["iuhc", "iulu"],
        "unreadable_lines": 2,
        "per_unit": [
            {
                "units": "iuhc",
                "numeric": 2,
                "brightest": S3,
                "mean_brightness": 7.75,
                "median_brightness": 7.75,
            },
            {
                "units": "iulu",
                "numeric": 2,
                "brightest": S1,
                "mean_brightness": 53.5,
                "median_brightness": 53.5,
            },
        ],
    }


def test_summary_is_compact_json_in_a_stable_key_order(api):
    body = api.get("/api/summary?location=mars").get_data()
    assert body == (
        b'{"total":2,"latest":{"count":5,"time":"2026-11-28T09:15:30.500000Z","location":"mars",'
        b'"brightness":3.0,"raw_brightness":"3","units":"iuhc"},'
        b'"brightest":{"count":5,"time":"2026-11-28T09:15:30.500000Z","location":"mars",'
        b'"brightness":3.0,"raw_brightness":"3","units":"iuhc"},'
        b'"mean_brightness":3.0,"median_brightness":3.0,"locations":1,"units":["iuhc"],'
        b'"unreadable_lines":2,"per_unit":[{"units":"iuhc","numeric":1,'
        b'"brightest":{"count":5,"time":"2026-11-28T09:15:30.500000Z","location":"mars",'
        b'"brightness":3.0,"raw_brightness":"3","units":"iuhc"},'
        b'"mean_brightness":3.0,"median_brightness":3.0}]}\n'
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "location=venus",
            {
                "total": 2,
                "latest": S3,
                "brightest": None,
                "mean_brightness": None,
                "median_brightness": None,
                "locations": 1,
                "units": ["iuhc", "iulu"],
                "unreadable_lines": 2,
                "per_unit": [
                    {
                        "units": "iuhc",
                        "numeric": 1,
                        "brightest": S3,
                        "mean_brightness": 12.5,
                        "median_brightness": 12.5,
                    },
                    {
                        "units": "iulu",
                        "numeric": 1,
                        "brightest": S2,
                        "mean_brightness": 7.0,
                        "median_brightness": 7.0,
                    },
                ],
            },
        ),
        (
            "from=2026-11-28",
            {
                "total": 2,
                "latest": S5,
                "brightest": S5,
                "mean_brightness": 3.0,
                "median_brightness": 3.0,
                "locations": 1,
                "units": ["iuhc"],
                "unreadable_lines": 2,
                "per_unit": [
                    {
                        "units": "iuhc",
                        "numeric": 1,
                        "brightest": S5,
                        "mean_brightness": 3.0,
                        "median_brightness": 3.0,
                    }
                ],
            },
        ),
        (
            "units=iulu",
            {
                "total": 2,
                "latest": S2,
                "brightest": S1,
                "mean_brightness": 53.5,
                "median_brightness": 53.5,
                "locations": 2,
                "units": ["iulu"],
                "unreadable_lines": 2,
                "per_unit": [
                    {
                        "units": "iulu",
                        "numeric": 2,
                        "brightest": S1,
                        "mean_brightness": 53.5,
                        "median_brightness": 53.5,
                    }
                ],
            },
        ),
        (
            "location=pluto",
            {
                "total": 0,
                "latest": None,
                "brightest": None,
                "mean_brightness": None,
                "median_brightness": None,
                "locations": 0,
                "units": [],
                "unreadable_lines": 2,
                "per_unit": [],
            },
        ),
    ],
)
def test_summary_filtered(api, query, expected):
    assert api.get(f"/api/summary?{query}").get_json() == expected


def test_summary_ignores_table_parameters(api):
    assert api.get("/api/summary?sort=brightness&order=asc&page=2&per_page=1").get_json() == (
        api.get("/api/summary").get_json()
    )


def test_summary_with_no_sightings_yet(client):
    assert client.get("/api/summary").get_json() == {
        "total": 0,
        "latest": None,
        "brightest": None,
        "mean_brightness": None,
        "median_brightness": None,
        "locations": 0,
        "units": [],
        "unreadable_lines": 0,
        "per_unit": [],
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("min_brightness=bright", "'min_brightness' must be a number, such as 10 or 2.5."),
        ("max_brightness=inf", "'max_brightness' must be a number, such as 10 or 2.5."),
        ("max_brightness=1e999", "'max_brightness' is too large."),
        (
            "min_brightness=10&max_brightness=2",
            "'min_brightness' must not be above 'max_brightness'.",
        ),
    ],
)
def test_brightness_filter_must_be_numbers_in_order(api, query, message):
    assert_json_error(api.get(f"/api/summary?{query}"), 400, message)


def test_csv_honours_the_unit_and_brightness_filters(api):
    response = api.get("/sightings.csv?units=iuhc&min_brightness=3")
    assert "_in_iuhc_brightness_from_3" in response.headers["Content-Disposition"]
    assert response.get_data() == (
        b"count,time_utc,location,brightness,units\r\n"
        b"3,2026-11-27 23:59:59.999999,venus,12.5,iuhc\r\n"
        b"5,2026-11-28 09:15:30.500000,mars,3,iuhc\r\n"
    )
    body = api.get("/sightings.json?units=iulu&max_brightness=50").get_json()
    assert body["sightings"] == [S2]


def test_the_list_links_keep_the_unit_and_brightness_filters(api):
    links = api.get("/api/sightings?units=iulu&min_brightness=1&per_page=1").get_json()["links"]
    assert "units=iulu" in links["next"] and "min_brightness=1" in links["next"]
    assert "units=iulu" in links["all"] and "min_brightness=1" in links["all"]


def test_summary_malformed_filter_is_a_json_400(api):
    assert_json_error(
        api.get("/api/summary?from=2026-11-27T18:30Q"),
        400,
        "'from' must be a date like 2026-11-27 or a time like 2026-11-27T18:30.",
    )


def test_summary_of_huge_brightnesses_is_valid_json(seeded):
    client, _ = seeded(
        HEADER + "1,2026-11-27 10:00:00,venus,1e308,iuhc\n2,2026-11-27 10:00:01,venus,1e308,iuhc\n"
    )
    response = client.get("/api/summary")
    body = json.loads(response.get_data(), parse_constant=lambda name: pytest.fail(name))
    assert (body["mean_brightness"], body["median_brightness"]) == (1e308, 1e308)


# --- GET /sightings.csv -------------------------------------------------------------------


def test_csv_is_rfc_4180_byte_for_byte(api):
    response = api.get("/sightings.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="unicorn_sightings.csv"'
    assert response.get_data() == EXPECTED_CSV


def test_csv_reads_back_to_what_spuc_stored(api):
    text = api.get("/sightings.csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["count", "time_utc", "location", "brightness", "units"],
        ["1", "2026-11-27 18:02:00.027188", 'moon, "big" crater', "100", "iulu"],
        ["2", "2026-11-27 18:02:02", "venus", "7", "iulu"],
        ["3", "2026-11-27 23:59:59.999999", "venus", "12.5", "iuhc"],
        ["4", "2026-11-28 00:00:00", "mars", "junk", "iuhc"],
        ["5", "2026-11-28 09:15:30.500000", "mars", "3", "iuhc"],
    ]


def test_filtered_csv_has_its_own_file_name_and_only_the_matches(api):
    response = api.get("/sightings.csv?location=venus&to=2026-11-27T23:00")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="unicorn_sightings_venus_to_2026-11-27T23-00.csv"'
    )
    assert response.get_data() == (
        b"count,time_utc,location,brightness,units\r\n2,2026-11-27 18:02:02,venus,7,iulu\r\n"
    )


# --- GET /sightings-for-spreadsheets.csv ------------------------------------------------

SPREADSHEET_CSV = (
    "\ufeffcount,time_utc,location,brightness,units\r\n"
    '1,2026-11-27T18:02:00Z,"moon, ""big"" crater",100,iulu\r\n'
    "2,2026-11-27T18:02:02Z,venus,7,iulu\r\n"
    "3,2026-11-27T23:59:59Z,venus,12.5,iuhc\r\n"
    "4,2026-11-28T00:00:00Z,mars,junk,iuhc\r\n"
    "5,2026-11-28T09:15:30Z,mars,3,iuhc\r\n"
).encode()


def test_the_spreadsheet_csv_has_a_byte_order_mark_and_iso_times_with_their_zone(api):
    response = api.get("/sightings-for-spreadsheets.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="unicorn_sightings_for_spreadsheets.csv"'
    )
    assert response.get_data() == SPREADSHEET_CSV
    assert api.get("/sightings.csv").get_data() == EXPECTED_CSV  # the scripts' CSV as it was


def test_the_spreadsheet_csv_adds_the_visitors_zone_and_keeps_the_filter(api):
    response = api.get("/sightings-for-spreadsheets.csv?location=venus&tz=Asia/Kolkata")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="unicorn_sightings_venus_for_spreadsheets.csv"'
    )
    assert response.get_data().decode("utf-8-sig") == (
        "count,time_utc,time_Asia/Kolkata,location,brightness,units\r\n"
        "2,2026-11-27T18:02:02Z,2026-11-27T23:32:02+05:30,venus,7,iulu\r\n"
        "3,2026-11-27T23:59:59Z,2026-11-28T05:29:59+05:30,venus,12.5,iuhc\r\n"
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "x" * 65, "Europe/"])
def test_the_spreadsheet_csv_refuses_a_zone_it_does_not_know(api, zone):
    response = api.get("/sightings-for-spreadsheets.csv", query_string={"tz": zone})
    assert response.status_code == 400
    assert "Europe/Berlin" in response.get_json()["error"]


def test_csv_keeps_arrival_order_whatever_the_table_sort(api):
    response = api.get("/sightings.csv?sort=brightness&order=asc&per_page=1&page=2")
    assert response.headers["Content-Disposition"] == 'attachment; filename="unicorn_sightings.csv"'
    assert response.get_data() == EXPECTED_CSV


def test_csv_is_utf_8(seeded):
    client, _ = seeded(HEADER + "1,2026-11-27 10:00:00,Ünïcörn café,7,iuhc\n")
    assert client.get("/sightings.csv").get_data() == (
        b"count,time_utc,location,brightness,units\r\n"
        + "1,2026-11-27 10:00:00,Ünïcörn café,7,iuhc\r\n".encode()
    )


def test_csv_of_no_sightings_is_the_header(client):
    header = b"count,time_utc,location,brightness,units\r\n"
    assert client.get("/sightings.csv").get_data() == header


def test_csv_larger_than_one_chunk_is_complete(seeded):
    lines = [
        f"{i},2026-11-27 10:{i // 60 % 60:02d}:{i % 60:02d},venus,{i},iuhc\n"
        for i in range(1, 4502)
    ]
    client, _ = seeded(HEADER + "".join(lines))
    expected = (
        b"count,time_utc,location,brightness,units\r\n"
        + "".join(line.replace("\n", "\r\n") for line in lines).encode()
    )
    assert client.get("/sightings.csv").get_data() == expected


def test_csv_malformed_filter_is_a_json_400(api):
    assert_json_error(
        api.get("/sightings.csv?to=soon"),
        400,
        "'to' must be a date like 2026-11-27 or a time like 2026-11-27T18:30.",
    )


# --- POST /api/sightings ------------------------------------------------------------------


def last_line(spuc) -> str:
    return export_text(spuc).splitlines()[-1]


def spuc_time(sighting: dict) -> str:
    return sighting["time"].removesuffix("Z").replace("T", " ")


def as_json_time(spuc_time: str) -> str:
    """SPUC's (UTC) time as every JSON answer writes it."""
    return spuc_time.replace(" ", "T") + "Z"


def test_post_records_the_sighting_and_answers_201(client, spuc):
    response = client.post("/api/sightings", json={"location": "moon, crater", "brightness": "7.5"})
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    export = export_text(spuc)
    time = export.splitlines()[1].split(",")[1]
    assert export == f"{HEADER}1,{time},moon, crater,7.5,iuhc\n"
    assert response.get_json() == {
        "message": "Unicorn sighting recorded!",
        "sighting": {
            "count": 1,
            "time": as_json_time(time),
            "location": "moon, crater",
            "brightness": 7.5,
            "raw_brightness": "7.5",
            "units": "iuhc",
        },
    }


def test_post_continues_spucs_count(seeded):
    client, spuc = seeded(DATA, units="iulu")
    response = client.post("/api/sightings", json={"location": "venus", "brightness": "2"})
    sighting = response.get_json()["sighting"]
    # 8: SPUC counts the file's lines, and the broken record 6 takes two.
    assert (sighting["count"], sighting["units"]) == (8, "iulu")
    assert last_line(spuc) == f"8,{spuc_time(sighting)},venus,2,iulu"


@pytest.mark.parametrize(
    ("brightness", "raw", "number"),
    [
        (7, "7", 7.0),
        (7.5, "7.5", 7.5),
        (0, "0", 0.0),
        (1e20, "100000000000000000000", 1e20),  # no exponent, as from the form
        (1e3, "1000.0", 1000.0),
        ("0.25", "0.25", 0.25),
    ],
)
def test_post_accepts_json_numbers_and_numeric_text(client, spuc, brightness, raw, number):
    response = client.post("/api/sightings", json={"location": "venus", "brightness": brightness})
    assert response.status_code == 201
    sighting = response.get_json()["sighting"]
    assert (sighting["raw_brightness"], sighting["brightness"]) == (raw, number)
    assert last_line(spuc).endswith(f",venus,{raw},iuhc")


def test_post_strips_surrounding_whitespace(client, spuc):
    response = client.post("/api/sightings", json={"location": "  venus ", "brightness": " 4 "})
    assert response.get_json()["sighting"]["location"] == "venus"
    assert last_line(spuc).endswith(",venus,4,iuhc")


def test_post_ignores_unknown_keys(client, spuc):
    response = client.post(
        "/api/sightings", json={"location": "venus", "brightness": 4, "colour": "purple"}
    )
    assert response.status_code == 201
    assert last_line(spuc).endswith(",venus,4,iuhc")


def test_post_follows_the_same_cross_origin_rule_as_the_form(client, spuc):
    """JSON is no reason to trust a request: a page on another site can send it."""
    sighting = {"location": "venus", "brightness": "4"}
    cross_site = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    refused = client.post("/api/sightings", json=sighting, headers=cross_site)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "This request came from another web site, so nothing was sent to SPUC. "
        "To report a sighting, use the form on this site.",
        "status": 403,
    }
    assert client.post("/sightings", data=sighting, headers=cross_site).status_code == 403
    assert export_text(spuc) == NOTHING_YET
    # Scripts (no browser headers) and this site's own pages are welcome on both.
    assert client.post("/api/sightings", json=sighting).status_code == 201
    same_site = {"Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/sightings", json=sighting, headers=same_site).status_code == 201
    assert post_sighting(client, "mars", "5").status_code == 303
    assert [line.split(",")[2] for line in export_text(spuc).splitlines()[1:]] == [
        "venus",
        "venus",
        "mars",
    ]


def test_post_answers_with_spucs_record_even_where_it_repeats_a_count(seeded):
    # A record #3 at venus is already there, and SPUC, counting 3 lines, writes #3
    # again: the answer is the new one, with its own time.
    client, spuc = seeded(HEADER + "3,2099-01-01 00:00:00,venus,2,iuhc\n6,2099-01-01,x,1,iuhc\n")
    response = client.post("/api/sightings", json={"location": "venus", "brightness": "2"})
    assert response.status_code == 201
    sighting = response.get_json()["sighting"]
    assert sighting["count"] == 3 and not sighting["time"].startswith("2099")
    assert last_line(spuc) == f"3,{spuc_time(sighting)},venus,2,iuhc"


LOCATION_MISSING = "Please say where you saw the unicorn."
BRIGHTNESS_MISSING = "Please say how bright the unicorn was."
NOT_A_NUMBER = "Brightness must be a number, such as 7 or 12.5."


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"location": LOCATION_MISSING, "brightness": BRIGHTNESS_MISSING}),
        (
            {"location": "", "brightness": ""},
            {"location": LOCATION_MISSING, "brightness": BRIGHTNESS_MISSING},
        ),
        ({"location": "   ", "brightness": "7"}, {"location": LOCATION_MISSING}),
        ({"location": None, "brightness": "7"}, {"location": LOCATION_MISSING}),
        ({"location": 5, "brightness": "7"}, {"location": "The location must be text."}),
        ({"location": ["venus"], "brightness": "7"}, {"location": "The location must be text."}),
        (
            {"location": "x" * 201, "brightness": "7"},
            {"location": "Please keep the location to 200 characters or fewer."},
        ),
        (
            {"location": "mars\n2,2026-11-27 18:02:00,forged,5,iuhc", "brightness": "7"},
            {"location": "The location cannot contain line breaks or other control characters."},
        ),
        ({"location": "venus"}, {"brightness": BRIGHTNESS_MISSING}),
        ({"location": "venus", "brightness": True}, {"brightness": NOT_A_NUMBER}),
        (
            {"location": "venus", "brightness": "-3"},
            {"brightness": "Brightness cannot be negative."},
        ),
        ({"location": "venus", "brightness": -3}, {"brightness": "Brightness cannot be negative."}),
        ({"location": "venus", "brightness": "nan"}, {"brightness": NOT_A_NUMBER}),
        ({"location": "venus", "brightness": "7 lumens"}, {"brightness": NOT_A_NUMBER}),
        ({"location": "venus", "brightness": {"value": 7}}, {"brightness": NOT_A_NUMBER}),
        ({"location": "venus", "brightness": "1e999"}, {"brightness": "Brightness is too large."}),
    ],
)
def test_post_invalid_sighting_is_a_422_with_field_errors(client, spuc, body, fields):
    response = client.post("/api/sightings", json=body)
    assert response.status_code == 422
    assert response.get_json() == {
        "error": "The sighting is not valid.",
        "status": 422,
        "fields": fields,
    }
    assert export_text(spuc) == NOTHING_YET


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("location=venus&brightness=4", "application/x-www-form-urlencoded"),
        ('{"location": "venus", "brightness": 4}', "text/plain"),
        ('{"location": "venus", "brightness": 4}', None),
    ],
)
def test_post_without_json_content_type_is_a_415(client, spuc, data, content_type):
    response = client.post("/api/sightings", data=data, content_type=content_type)
    assert_json_error(
        response, 415, "Send the sighting as JSON with Content-Type: application/json."
    )
    assert export_text(spuc) == NOTHING_YET


OBJECT_PLEASE = 'The body must be a JSON object: {"location": ..., "brightness": ...}.'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"location": "venus",',
            "The body is not valid JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 22 (char 21)",
        ),
        (b"", "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (
            b'{"location": "\xff", "brightness": 1}',
            "The body is not valid JSON: 'utf-8' codec can't decode byte 0xff in position 14: "
            "invalid start byte",
        ),
        (
            b'{"location": "a", "location": "b", "brightness": 1}',
            "The body is not valid JSON: duplicated keys location",
        ),
        (
            b'{"brightness": 1, "location": "a", "brightness": 2, "location": "b"}',
            "The body is not valid JSON: duplicated keys brightness, location",
        ),
        (
            b'{"location": "venus", "brightness": 4, "extra": {"a": 1, "a": 2}}',
            "The body is not valid JSON: duplicated keys a",
        ),
        (b'[{"location": "venus", "brightness": 4}]', OBJECT_PLEASE),
        (b'"venus, 4"', OBJECT_PLEASE),
        (b"null", OBJECT_PLEASE),
        (b"4", OBJECT_PLEASE),
    ],
)
def test_post_body_that_is_not_a_json_object_is_a_400(client, spuc, data, message):
    response = client.post("/api/sightings", data=data, content_type="application/json")
    assert_json_error(response, 400, message)
    assert export_text(spuc) == NOTHING_YET


def test_post_accepts_json_with_a_charset_and_vendor_types(client, spuc):
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = client.post(
            "/api/sightings",
            content_type=content_type,
            data='{"location": "venus", "brightness": 4}',
        )
        assert response.status_code == 201
    assert len(export_text(spuc).splitlines()) == 3


def test_post_deeply_nested_json_is_a_400(client, spuc):
    response = client.post("/api/sightings", data=b"[" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("The body is not valid JSON: ")


def test_post_when_spuc_is_down_is_a_json_503(tmp_path):
    url = closed_port_url()
    client = make_app(url, tmp_path).test_client()
    response = client.post("/api/sightings", json={"location": "venus", "brightness": 4})
    assert response.status_code == 503
    assert response.get_json() == {
        "error": f"SPUC could not be reached at {url}. Is it running?",
        "status": 503,
        "failure": "SpucUnreachable",
    }


def test_post_with_export_off_answers_with_what_was_sent(tmp_path):
    with EmulatorServer(tmp_path / "off.txt", export_enabled=False) as spuc:
        client = make_app(spuc.url, tmp_path).test_client()
        response = client.post("/api/sightings", json={"location": "venus", "brightness": 4})
    assert response.status_code == 201
    assert response.get_json() == {
        "message": "Unicorn sighting recorded!",
        "sighting": {"location": "venus", "brightness": "4"},
    }
    assert (tmp_path / "off.txt").read_text().endswith(",venus,4,iuhc\n")


# --- errors: JSON for the API, HTML for pages ---------------------------------------------


@pytest.mark.parametrize("path", ["/api/nowhere", "/api/sightings/1", "/api/"])
def test_unknown_api_path_is_a_json_404(client, path):
    assert_json_error(client.get(path), 404, "There is no page at this address.")


def test_unknown_page_is_an_html_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404: There is no page at this address." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/sightings", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("put", "/api/summary", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_wrong_method_on_the_api_is_a_json_405(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert_json_error(response, 405, "This address does not accept that kind of request.")
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_the_next_page_link_keeps_the_query(api):
    links = api.get("/api/sightings?location=venus&per_page=1").get_json()["links"]
    assert links == {
        "next": "/api/sightings?location=venus&per_page=1&page=2",
        "prev": None,
        "all": "/sightings.json?location=venus",
    }


def test_json_download_is_every_filtered_sighting_in_utc(api):
    response = api.get("/sightings.json?location=venus&sort=brightness&page=2")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="unicorn_sightings_venus.json"'
    )
    body = response.get_json()
    assert (body["total"], body["time_zone"]) == (2, "UTC")
    assert [s["count"] for s in body["sightings"]] == [2, 3]  # arrival order, every page
    assert body["sightings"][0]["time"] == "2026-11-27T18:02:02Z"


def test_download_names_say_what_the_file_holds(api):
    names = {
        query: api.get(f"/sightings.csv?{query}").headers["Content-Disposition"]
        for query in ("since=1d", "location=moon, crater&location=mars&from=2026-11-27")
    }
    assert names == {
        "since=1d": 'attachment; filename="unicorn_sightings_last_day.csv"',
        "location=moon, crater&location=mars&from=2026-11-27": (
            'attachment; filename="unicorn_sightings_moon-crater_mars_from_2026-11-27.csv"'
        ),
    }
