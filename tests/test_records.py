"""The export parser against every quirk of SPUC's file (docs/spuc.md, "The export file")."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spucsvi.spuc.records import (
    HEADER,
    UNIT_NAMES,
    ParsedExport,
    Sighting,
    format_line,
    is_empty_message,
    parse_export,
    parse_line,
    parse_lines,
)

T1 = datetime(2026, 11, 27, 18, 2, 0, 27188)
T2 = datetime(2026, 11, 27, 18, 2, 2, 574681)
T3 = datetime(2026, 11, 27, 18, 3)


def sighting(count=1, time=T1, location="moon", raw="100", units="iulu", brightness=...):
    """A Sighting whose brightness follows from raw unless given."""
    if brightness is ...:
        brightness = float(raw)
    return Sighting(count, time, location, brightness, raw, units)


# --- one line --------------------------------------------------------------

GOOD_LINES = [
    pytest.param(
        "1,2026-11-27 18:02:00.027188,moon,100,iulu",
        sighting(),
        id="plain",
    ),
    pytest.param(
        "1,2026-11-27 18:02:00.027188,moon, crater,100,iulu",
        sighting(location="moon, crater"),
        id="comma-in-location",
    ),
    pytest.param(
        "2,2026-11-27 18:02:02.574681,a,b,,c ,d,7,iuhc",
        sighting(2, T2, "a,b,,c ,d", "7", "iuhc"),
        id="several-commas",
    ),
    pytest.param(
        "3,2026-11-27 18:02:00.027188,,,5,iulu",
        sighting(3, location=",", raw="5"),
        id="location-only-a-comma",
    ),
    pytest.param(
        "3,2026-11-27 18:03:00,venus,7,iulu",
        sighting(3, T3, "venus", "7"),
        id="time-without-microseconds",
    ),
    pytest.param(
        "4,2026-11-27 18:02:00.027188,mars,7.25,iuhc",
        sighting(4, location="mars", raw="7.25", units="iuhc"),
        id="decimal-brightness",
    ),
    pytest.param(
        "5,2026-11-27 18:02:00.027188,mars,bright,iuhc",
        sighting(5, location="mars", raw="bright", units="iuhc", brightness=None),
        id="junk-brightness",
    ),
    pytest.param(
        "5,2026-11-27 18:02:00.027188,mars,,iuhc",
        sighting(5, location="mars", raw="", units="iuhc", brightness=None),
        id="empty-brightness",
    ),
    *(
        pytest.param(
            f"6,2026-11-27 18:02:00.027188,mars,{raw},iulu",
            sighting(6, location="mars", raw=raw, brightness=None),
            id=f"non-finite-{raw}",
        )
        for raw in ("nan", "inf", "-inf", "Infinity", "1e999")
    ),
    pytest.param(
        "7,2026-11-27 18:02:00.027188,mars,-3,lm",
        sighting(7, location="mars", raw="-3", units="lm"),
        id="unknown-unit-kept",
    ),
    pytest.param(
        "8,2026-11-27 18:02:00.027188,,9,iulu",
        sighting(8, location="", raw="9"),
        id="empty-location-tolerated",
    ),
    pytest.param(
        "9,2026-11-27 18:02:00.027188,río \x0b\x1c\u2028\x85 ☄,1,iulu\r",
        sighting(9, location="río \x0b\x1c\u2028\x85 ☄", raw="1"),
        id="line-breaks-other-than-newline-stay-in-location-crlf",
    ),
]


@pytest.mark.parametrize(("line", "expected"), GOOD_LINES)
def test_parse_line_reads_records(line, expected):
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(HEADER, id="header"),
        pytest.param("", id="empty"),
        pytest.param("1,2026-11-27 18:02:00.027188,moon", id="first-half-of-broken-record"),
        pytest.param("crater,100,iulu", id="second-half-of-broken-record"),
        pytest.param("x, y, z,100,iulu", id="second-half-with-commas"),
        pytest.param("1,2026-11-27 18:02:00.027188,moon,100", id="four-fields"),
        pytest.param("-1,2026-11-27 18:02:00.027188,moon,100,iulu", id="negative-count"),
        pytest.param("one,2026-11-27 18:02:00.027188,moon,100,iulu", id="word-count"),
        pytest.param("١,2026-11-27 18:02:00.027188,moon,100,iulu", id="non-ascii-digit-count"),
        pytest.param(" 1,2026-11-27 18:02:00.027188,moon,100,iulu", id="spaced-count"),
        pytest.param("9" * 5000 + ",2026-11-27 18:02:00,moon,1,iulu", id="count-too-long"),
        pytest.param("1,2026-11-27T18:02:00.027188,moon,100,iulu", id="iso-T"),
        pytest.param("1,2026-11-27 18:02:00+00:00,moon,100,iulu", id="time-zone"),
        pytest.param("1,2026-11-27 18:02:00.027,moon,100,iulu", id="short-fraction"),
        pytest.param("1,2026-11-27 18:02,moon,100,iulu", id="no-seconds"),
        pytest.param("1,2026-13-27 18:02:00,moon,100,iulu", id="month-13"),
        pytest.param("1,yesterday,moon,100,iulu", id="word-time"),
        pytest.param("1,2026-11-27 18:02:00.027188,moon,100,", id="empty-units"),
        pytest.param("1,2026-11-27 18:02:00.027188,moon,100,iu lu", id="units-with-space"),
        pytest.param("1,2026-11-27 18:02:00.027188,moon,100,iulu ", id="units-trailing-space"),
        pytest.param('{"message": "No unicorn sightings yet!"}', id="json-message"),
    ],
)
def test_parse_line_rejects_non_records(line):
    assert parse_line(line) is None


# --- whole exports ---------------------------------------------------------

L1 = "1,2026-11-27 18:02:00.027188,moon, crater,100,iulu"
L2 = "2,2026-11-27 18:02:02.574681,venus,7,iulu"
S1 = sighting(location="moon, crater")
S2 = sighting(2, T2, "venus", "7")

EXPORTS = [
    pytest.param(b"", (), 0, id="empty-file"),
    pytest.param(f"{HEADER}\n".encode(), (), 0, id="header-only"),
    pytest.param(HEADER.encode(), (), 0, id="header-only-no-newline"),
    pytest.param(b'{"message": "No unicorn sightings yet!"}\n', (), 0, id="json-empty-message"),
    pytest.param(b'  {\n "message" :\t"No unicorn sightings yet!"}  \n', (), 0, id="json-spaced"),
    pytest.param(f"{HEADER}\n{L1}\n{L2}\n".encode(), (S1, S2), 0, id="spuc-example"),
    pytest.param(f"{HEADER}\n{L1}\n{L2}", (S1, S2), 0, id="no-final-newline"),
    pytest.param(f"{HEADER}\r\n{L1}\r\n{L2}\r\n".encode(), (S1, S2), 0, id="crlf"),
    pytest.param(f"\ufeff{HEADER}\n{L1}\n".encode(), (S1,), 0, id="bom-bytes"),
    pytest.param(f"\ufeff{HEADER}\n{L1}\n", (S1,), 0, id="bom-str"),
    pytest.param(f"{HEADER}\n\n{L1}\n\n\n{L2}\n\n".encode(), (S1, S2), 0, id="blank-lines"),
    pytest.param(
        f"{HEADER}\n{L1}\n{HEADER}\n{L2}\n".encode(), (S1, S2), 0, id="header-again-mid-file"
    ),
    pytest.param(
        f"{HEADER}\n{L1}\n"
        "2,2026-11-27 18:02:01.5,moon\n"  # location "moon\ncrater": first half...
        "crater,100,iulu\n"  # ...and second half
        "3,2026-11-27 18:02:01.000001,a,\n"  # location "a,\n,b,c": three pieces
        "\n"
        ",b,c,1,iulu\n"
        f"{L2}\n".encode(),
        (S1, S2),
        4,
        id="newline-in-location",
    ),
    pytest.param(
        f"{HEADER}\n"
        "1,2026-11-27 18:02:00.027188,moon,100,iuhc\n"
        "2,2026-11-27 18:02:02.574681,venus,7,iulu\n".encode(),
        (sighting(units="iuhc"), S2),
        0,
        id="mixed-units",
    ),
    pytest.param(
        f"{HEADER}\n".encode()
        + b"\xff\xfe\x00garbage\n"
        + "1,2026-11-27 18:02:00.027188,m\xf6on,100,iulu\n".encode("latin-1")
        + f"{L2}\n".encode(),
        (sighting(location="m\ufffdon"), S2),
        1,
        id="invalid-utf8",
    ),
    pytest.param(
        b'{"message": "something else"}\n', (), 1, id="other-json-is-not-the-empty-message"
    ),
]


@pytest.mark.parametrize(("data", "sightings", "skipped"), EXPORTS)
def test_parse_export(data, sightings, skipped):
    assert parse_export(data) == ParsedExport(sightings, skipped)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"message": "No unicorn sightings yet!"}', True),
        ('\n {"message":"No unicorn sightings yet!"}\n', True),
        ('\ufeff{"message": "No unicorn sightings yet!"}', True),
        (b'{"message": "Unicorn sighting recorded!"}', False),
        (b'{"message": "No unicorn sightings yet!", "x": 1}', False),
        (b'{"message": "No unicorn', False),
        (b"{" + b"[" * 100_000 + b"}", False),
        (f"{HEADER}\n{L1}\n".encode(), False),
        (b"", False),
        (b"\xff{\xfe}", False),
    ],
)
def test_is_empty_message(data, expected):
    assert is_empty_message(data) is expected


def test_parse_lines_for_appended_text():
    """Lines as a file iterator yields them, a volume reset in between, a fragment."""
    lines = [f"{L1}\r\n", "crater,100,iulu\n", f"{HEADER}\n", "\n", f"{L2}"]
    assert parse_lines(lines) == ([S1, S2], 1)


def test_format_line_is_spucs_line():
    assert format_line(S1) == L1
    assert format_line(sighting(3, T3, "venus", "7")) == "3,2026-11-27 18:03:00,venus,7,iulu"


def test_unit_names_cover_spucs_units():
    assert set(UNIT_NAMES) == {"iuhc", "iulu"}


# --- properties ------------------------------------------------------------

locations = st.text(alphabet=st.characters(exclude_characters="\n\r", exclude_categories=("Cs",)))
any_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31))
times = any_times | any_times.map(lambda t: t.replace(microsecond=0))  # str() drops ".000000"
raw_brightness = st.integers(min_value=0, max_value=10**12).map(str) | st.floats(
    min_value=0, allow_nan=False, allow_infinity=False
).map(repr)


@st.composite
def sightings(draw):
    raw = draw(raw_brightness)
    return Sighting(
        count=draw(st.integers(min_value=0, max_value=10**12)),
        time=draw(times),
        location=draw(locations),
        brightness=float(raw),
        raw_brightness=raw,
        units=draw(st.sampled_from(sorted(UNIT_NAMES))),
    )


@settings(max_examples=200, deadline=None)
@given(sightings())
def test_round_trip_any_location(s):
    assert parse_line(format_line(s)) == s


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_arbitrary_bytes_never_raise(data):
    parsed = parse_export(data)
    lines = data.decode("utf-8", errors="replace").split("\n")
    assert parsed.skipped + len(parsed.sightings) <= sum(1 for line in lines if line)


@settings(max_examples=200, deadline=None)
@given(st.lists(sightings(), max_size=20))
def test_whole_file_round_trips(records):
    data = "".join(f"{line}\n" for line in [HEADER, *map(format_line, records)]).encode()
    assert parse_export(data) == ParsedExport(tuple(records), 0)
