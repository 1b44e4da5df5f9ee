"""Hostile input never reaches SPUC and never costs a 5xx.

Everything goes through the real routes: the form (POST /sightings as a browser
on this site sends it), the JSON API (POST /api/sightings) and the filtered views (GET /,
GET /api/sightings, ...), against the SPUC emulator or a recording FakeSpuc over
real HTTP on 127.0.0.1. First a table of known-hostile values with the exact
answer each must get, then Hypothesis throwing arbitrary text, numbers and bytes.

"SPUC received only valid sightings" is checked byte for byte: against the
emulator's data file (each accepted sighting appends exactly one line ending in
`,{location.strip()},{brightness.strip()},iuhc`, each refused one appends
nothing), and against the query strings a recording fake was sent.
"""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from spucsvi.data.display import shown_brightness
from spucsvi.sightings.validation import (
    InvalidSighting,
    SightingInput,
    plain_number,
    validate_sighting,
)
from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.spuc.records import parse_line
from tests.support.apps import export_text, make_app
from tests.support.fakes import FakeSpuc, http_response, json_response
from tests.support.records import HEADER

NOTHING_YET = '{"message":"No unicorn sightings yet!"}\n'

LOCATION_MISSING = "Please say where you saw the unicorn."
BRIGHTNESS_MISSING = "Please say how bright the unicorn was."
LOCATION_TOO_LONG = "Please keep the location to 200 characters or fewer."
LOCATION_CONTROL = "The location cannot contain line breaks or other control characters."
LOCATION_BAD_BYTES = "The location holds bytes that are not valid text (UTF-8)."
NOT_A_NUMBER = "Brightness must be a number, such as 7 or 12.5."
TOO_LARGE = "Brightness is too large."
NEGATIVE = "Brightness cannot be negative."
SEND_ONCE = "Please send this field only once."
OBJECT_PLEASE = 'The body must be a JSON object: {"location": ..., "brightness": ...}.'
JSON_PLEASE = "Send the sighting as JSON with Content-Type: application/json."

FORGED = "2,2026-11-27 18:02:00.000001,forged,5,iuhc"

# What a browser sends with a form from this site's own page.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}

# The number of examples comes from the Hypothesis profile (tests/conftest.py).
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- helpers -------------------------------------------------------------------------------


class _Inputs(HTMLParser):
    """The form's <input> elements by id, attribute values unescaped as a browser would."""

    def __init__(self):
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("id"):
            self.inputs[attributes["id"]] = attributes


def form_inputs(html: str) -> dict[str, dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(html)
    parser.close()
    return parser.inputs


def assert_form_kept(html: str, values: dict[str, str], errors: dict[str, str]) -> None:
    """The form is back with the visitor's values, escaped, and each field's reason."""
    inputs = form_inputs(html)
    for field in ("location", "brightness"):
        assert inputs[field]["value"] == values[field]
        assert f'value="{escape(values[field])}"' in html
        if field in errors:
            assert inputs[field]["aria-invalid"] == "true"
            assert f'<p class="field-error" id="{field}-error">{escape(errors[field])}</p>' in html
        else:
            assert "aria-invalid" not in inputs[field]
    assert "I saw a unicorn!" in html


def data_bytes(spuc: EmulatorServer) -> bytes:
    """SPUC's file exactly as it is on disk (b"" before the first sighting)."""
    return spuc.data_file.read_bytes() if spuc.data_file.exists() else b""


def assert_appended_exactly(before: bytes, after: bytes, location: str, brightness: str) -> None:
    """SPUC's file grew by one record (plus the header the first time), byte for byte."""
    assert after.startswith(before)
    appended = after[len(before) :]
    if not before:
        assert appended.startswith(HEADER.encode())
        appended = appended[len(HEADER) :]
    assert appended.endswith(f",{location},{brightness},iuhc\n".encode())
    assert appended.count(b"\n") == 1
    record = parse_line(appended.decode("utf-8").removesuffix("\n"))
    assert record is not None
    assert (record.location, record.raw_brightness, record.units) == (location, brightness, "iuhc")
    assert record.brightness is not None and record.brightness >= 0


def post_json(client, body: object):
    """POST the body as Python's json module writes it: NaN, Infinity and integers
    beyond 64 bits included (the test client's `json=` would use the app's orjson
    provider, which writes NaN as null and refuses big integers)."""
    return client.post("/api/sightings", data=json.dumps(body), content_type="application/json")


def expected_sighting(location: object, brightness: object):
    """The cleaned sighting the app must send, or None when it must send nothing."""
    try:
        return validate_sighting(location, brightness)
    except InvalidSighting:
        return None


@pytest.fixture
def apps(tmp_path):
    """Build apps whose SPUC sessions are closed at the end (no leaked sockets)."""
    built = []

    def build(url: str, **overrides):
        app = make_app(url, tmp_path, **overrides)
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["spuc_client"].close()


# --- table: hostile values through the form and through the JSON API --------------------

HOSTILE = [
    pytest.param(
        "", "", {"location": LOCATION_MISSING, "brightness": BRIGHTNESS_MISSING}, id="empty"
    ),
    pytest.param(
        "   ",
        " \t\u3000",
        {"location": LOCATION_MISSING, "brightness": BRIGHTNESS_MISSING},
        id="whitespace-only",
    ),
    pytest.param("x" * 201, "7", {"location": LOCATION_TOO_LONG}, id="location-201-chars"),
    pytest.param("ü" * 201, "7", {"location": LOCATION_TOO_LONG}, id="location-201-non-ascii"),
    pytest.param("venus\x07", "7", {"location": LOCATION_CONTROL}, id="control-char"),
    pytest.param("ven\x1b[31mus", "7", {"location": LOCATION_CONTROL}, id="terminal-escape"),
    pytest.param(
        f"mars\n{FORGED}", "7", {"location": LOCATION_CONTROL}, id="newline-forged-record"
    ),
    pytest.param(f"mars\r\n{FORGED}", "7", {"location": LOCATION_CONTROL}, id="crlf-forged-record"),
    pytest.param("mars\rvenus", "7", {"location": LOCATION_CONTROL}, id="carriage-return"),
    pytest.param("ven\x00us", "7", {"location": LOCATION_CONTROL}, id="nul"),
    pytest.param("ven\u2028us", "7", {"location": LOCATION_CONTROL}, id="line-separator-2028"),
    pytest.param("ven\u2029us", "7", {"location": LOCATION_CONTROL}, id="paragraph-sep-2029"),
    pytest.param("ven\x85us", "7", {"location": LOCATION_CONTROL}, id="next-line-0085"),
    pytest.param("venus", "bright", {"brightness": NOT_A_NUMBER}, id="brightness-word"),
    pytest.param("venus", "7 lumens", {"brightness": NOT_A_NUMBER}, id="brightness-with-unit"),
    pytest.param("venus", "NaN", {"brightness": NOT_A_NUMBER}, id="NaN"),
    pytest.param("venus", "inf", {"brightness": NOT_A_NUMBER}, id="inf"),
    pytest.param("venus", "-Infinity", {"brightness": NOT_A_NUMBER}, id="-Infinity"),
    pytest.param("venus", "-1", {"brightness": NEGATIVE}, id="minus-one"),
    pytest.param("venus", "-0", {"brightness": NEGATIVE}, id="minus-zero"),
    pytest.param("venus", "1e999", {"brightness": TOO_LARGE}, id="1e999"),
    pytest.param("venus", "1_000", {"brightness": NOT_A_NUMBER}, id="underscore-digits"),
    pytest.param("venus", "\u0667", {"brightness": NOT_A_NUMBER}, id="arabic-indic-7"),
    pytest.param("venus", "\u0661\u0662", {"brightness": NOT_A_NUMBER}, id="arabic-indic-12"),
    pytest.param("venus", "\uff17", {"brightness": NOT_A_NUMBER}, id="fullwidth-7"),
    pytest.param("venus", "0x1F", {"brightness": NOT_A_NUMBER}, id="hex"),
    pytest.param("venus", "7,iulu", {"brightness": NOT_A_NUMBER}, id="comma-forges-a-field"),
    pytest.param(
        "venus", f"7\n{FORGED}", {"brightness": NOT_A_NUMBER}, id="brightness-newline-forged-record"
    ),
    pytest.param("venus", "1" * 33, {"brightness": NOT_A_NUMBER}, id="brightness-33-digits"),
    pytest.param(
        '"><script>alert(1)</script>', "<b>7</b>", {"brightness": NOT_A_NUMBER}, id="markup-in-both"
    ),
    pytest.param(
        "ven\x00us",
        "NaN",
        {"location": LOCATION_CONTROL, "brightness": NOT_A_NUMBER},
        id="both-wrong",
    ),
]


@pytest.mark.parametrize(("location", "brightness", "errors"), HOSTILE)
@pytest.mark.parametrize("path", ["/sightings", "/put_unicorn"])
def test_hostile_form_input_is_refused_with_the_values_kept(
    client, spuc, path, location, brightness, errors
):
    data = {"location": location, "brightness": brightness}
    response = client.post(path, data=data, headers=SAME_ORIGIN)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert_form_kept(html, {"location": location, "brightness": brightness}, errors)
    assert "<script>alert(1)</script>" not in html
    assert export_text(spuc) == NOTHING_YET


@pytest.mark.parametrize(("location", "brightness", "errors"), HOSTILE)
def test_hostile_json_input_is_refused(client, spuc, location, brightness, errors):
    response = post_json(client, {"location": location, "brightness": brightness})
    assert response.status_code == 422
    assert response.get_json() == {
        "error": "The sighting is not valid.",
        "status": 422,
        "fields": errors,
    }
    assert export_text(spuc) == NOTHING_YET


# --- table: hostile bodies that only one of the two routes can receive --------------------

RAW_FORMS = [
    pytest.param(
        b"location=%FF%FE&brightness=7",
        422,
        {"location": "\ufffd\ufffd", "brightness": "7"},
        {"location": LOCATION_BAD_BYTES},
        id="percent-encoded-invalid-utf8",
    ),
    pytest.param(
        b"location=\xff\xfe&brightness=7",
        422,
        {"location": "\ufffd\ufffd", "brightness": "7"},
        {"location": LOCATION_BAD_BYTES},
        id="raw-invalid-utf8",
    ),
    pytest.param(
        b"location=caf%E9&brightness=%FF",
        422,
        {"location": "caf\ufffd", "brightness": "\ufffd"},
        {"location": LOCATION_BAD_BYTES, "brightness": NOT_A_NUMBER},
        id="latin-1-location-invalid-brightness",
    ),
    pytest.param(
        b"location=%ED%A0%80&brightness=7",
        422,
        {"location": "\ufffd\ufffd\ufffd", "brightness": "7"},
        {"location": LOCATION_BAD_BYTES},
        id="utf8-encoded-surrogate",
    ),
    pytest.param(
        b"location=mars%0A" + quote(FORGED).encode() + b"&brightness=7",
        422,
        {"location": f"mars\n{FORGED}", "brightness": "7"},
        {"location": LOCATION_CONTROL},
        id="percent-encoded-newline",
    ),
    pytest.param(
        b"location=ven%00us&brightness=7",
        422,
        {"location": "ven\x00us", "brightness": "7"},
        {"location": LOCATION_CONTROL},
        id="percent-encoded-nul",
    ),
    pytest.param(
        b"location=ven%E2%80%A8us&brightness=%D9%A7",
        422,
        {"location": "ven\u2028us", "brightness": "\u0667"},
        {"location": LOCATION_CONTROL, "brightness": NOT_A_NUMBER},
        id="percent-encoded-u2028-arabic-indic",
    ),
    pytest.param(
        b"brightness=7",
        422,
        {"location": "", "brightness": "7"},
        {"location": LOCATION_MISSING},
        id="location-absent",
    ),
    pytest.param(
        b"location&brightness",
        422,
        {"location": "", "brightness": ""},
        {"location": LOCATION_MISSING, "brightness": BRIGHTNESS_MISSING},
        id="names-without-values",
    ),
    pytest.param(
        b"location=a&location=b&brightness=7",
        400,
        {"location": "a", "brightness": "7"},
        {"location": SEND_ONCE},
        id="duplicated-location",
    ),
    pytest.param(
        b"location=venus&brightness=1&brightness=9",
        400,
        {"location": "venus", "brightness": "1"},
        {"brightness": SEND_ONCE},
        id="duplicated-brightness",
    ),
]


@pytest.mark.parametrize(("body", "status", "shown", "errors"), RAW_FORMS)
def test_hostile_form_body_is_refused_with_the_values_kept(
    client, spuc, body, status, shown, errors
):
    response = post_raw_form(client, body)
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert_form_kept(html, shown, errors)
    assert export_text(spuc) == NOTHING_YET


def test_duplicated_form_fields_are_refused_and_send_nothing(client, spuc):
    """What holds today, whatever the status: a clear reason, and nothing sent."""
    response = post_raw_form(client, b"location=a&location=b&brightness=1&brightness=2")
    assert response.status_code in (400, 422)
    assert_form_kept(
        response.get_data(as_text=True),
        {"location": "a", "brightness": "1"},
        {"location": SEND_ONCE, "brightness": SEND_ONCE},
    )
    assert export_text(spuc) == NOTHING_YET


RAW_JSON = [
    pytest.param(b'["venus", 7]', 400, OBJECT_PLEASE, id="array"),
    pytest.param(b'"venus, 7"', 400, OBJECT_PLEASE, id="string"),
    pytest.param(b"7", 400, OBJECT_PLEASE, id="number"),
    pytest.param(b"true", 400, OBJECT_PLEASE, id="true"),
    pytest.param(b"null", 400, OBJECT_PLEASE, id="null"),
    pytest.param(
        b'{"location": "a", "location": "b", "brightness": 7}',
        400,
        "The body is not valid JSON: duplicated keys location",
        id="duplicated-key",
    ),
    pytest.param(
        b'{"location": "venus", "brightness": 1, "brightness": 9}',
        400,
        "The body is not valid JSON: duplicated keys brightness",
        id="duplicated-brightness",
    ),
    pytest.param(
        b'{"location": "caf\xe9", "brightness": 7}',
        400,
        "The body is not valid JSON: 'utf-8' codec can't decode byte 0xe9 in position 17:"
        " invalid continuation byte",
        id="invalid-utf8",
    ),
    pytest.param(
        b"",
        400,
        "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)",
        id="empty-body",
    ),
]


@pytest.mark.parametrize(("body", "status", "message"), RAW_JSON)
def test_malformed_json_body_is_a_400_with_a_reason(client, spuc, body, status, message):
    response = client.post("/api/sightings", data=body, content_type="application/json")
    assert response.status_code == status
    assert response.get_json() == {"error": message, "status": status}
    assert export_text(spuc) == NOTHING_YET


NOT_TEXT = "The location must be text."

JSON_FIELDS = [
    pytest.param(
        {"location": "venus", "brightness": True},
        {"brightness": NOT_A_NUMBER},
        id="true-brightness",
    ),
    pytest.param(
        {"location": "venus", "brightness": False},
        {"brightness": NOT_A_NUMBER},
        id="false-brightness",
    ),
    pytest.param({"location": True, "brightness": 7}, {"location": NOT_TEXT}, id="true-location"),
    pytest.param(
        {"location": "venus", "brightness": -1}, {"brightness": NEGATIVE}, id="negative-number"
    ),
    pytest.param(
        {"location": "venus", "brightness": -0.0}, {"brightness": NEGATIVE}, id="negative-zero"
    ),
    pytest.param(
        {"location": "venus", "brightness": 10**40},
        {"brightness": NOT_A_NUMBER},
        id="41-digit-integer",
    ),
    pytest.param(
        {"location": "venus", "brightness": ["7"]},
        {"brightness": NOT_A_NUMBER},
        id="list-brightness",
    ),
    pytest.param(
        {"location": {"name": "venus"}, "brightness": 7},
        {"location": NOT_TEXT},
        id="object-location",
    ),
]


@pytest.mark.parametrize(("body", "errors"), JSON_FIELDS)
def test_json_values_of_the_wrong_type_are_refused(client, spuc, body, errors):
    response = post_json(client, body)
    assert response.status_code == 422
    assert response.get_json() == {
        "error": "The sighting is not valid.",
        "status": 422,
        "fields": errors,
    }
    assert export_text(spuc) == NOTHING_YET


@pytest.mark.parametrize(
    ("literal", "errors"),
    [
        ("NaN", {"brightness": NOT_A_NUMBER}),
        ("Infinity", {"brightness": TOO_LARGE}),
        ("-Infinity", {"brightness": NOT_A_NUMBER}),
        ("1e999", {"brightness": TOO_LARGE}),  # a JSON number that overflows to inf
        ('"\\ud800"', {"brightness": NOT_A_NUMBER}),
    ],
)
def test_json_non_finite_numbers_and_lone_surrogates_are_refused(client, spuc, literal, errors):
    body = '{"location": "venus", "brightness": ' + literal + "}"
    response = client.post("/api/sightings", data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["fields"] == errors
    assert export_text(spuc) == NOTHING_YET


def test_json_lone_surrogate_in_the_location_is_refused(client, spuc):
    body = '{"location": "ven\\udc00us", "brightness": 7}'
    response = client.post("/api/sightings", data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"location": LOCATION_CONTROL}
    assert export_text(spuc) == NOTHING_YET


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"location=venus&brightness=7", "application/x-www-form-urlencoded"),
        (b'{"location": "venus", "brightness": 7}', "text/plain"),
        (b'{"location": "venus", "brightness": 7}', None),
        (b'{"location": "venus", "brightness": 7}', "application/jsonx"),
    ],
)
def test_json_api_refuses_other_content_types_with_415(client, spuc, data, content_type):
    response = client.post("/api/sightings", data=data, content_type=content_type)
    assert response.status_code == 415
    assert response.get_json() == {"error": JSON_PLEASE, "status": 415}
    assert export_text(spuc) == NOTHING_YET


# --- Hypothesis: arbitrary input, through the form and the API ----------------------------

# Every character here is one that str.strip() removes.
PADDING = st.text(alphabet=" \t\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u3000", max_size=3)
NUMERIC = st.from_regex(
    r"[+-]?(?:[0-9]{1,12}\.?[0-9]{0,6}|\.[0-9]{1,6})(?:[eE][+-]?[0-9]{1,3})?", fullmatch=True
)
PRINTABLE = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=200
)


def padded(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda before, text, after: before + text + after, PADDING, inner, PADDING)


# Half hostile, half well-formed, so that accepted sightings are fuzzed as much as refused ones.
LOCATION_TEXT = st.one_of(
    st.text(), padded(st.text(min_size=1, max_size=201)), padded(PRINTABLE), padded(PRINTABLE)
)
BRIGHTNESS_TEXT = st.one_of(
    st.text(),
    padded(NUMERIC),
    padded(NUMERIC),
    st.sampled_from(
        [
            "NaN",
            "inf",
            "1e999",
            "1_000",
            "\u0667",
            "-1",
            "-0",
            "+0",
            "0e99999",
            ".5",
            "5.",
            "1e-400",
        ]
    ),
)


@pytest.fixture
def form(spuc, apps):
    """A browser on the form: its test client."""
    return apps(spuc.url).test_client()


@FUZZ
@given(location=LOCATION_TEXT, brightness=BRIGHTNESS_TEXT)
@example(location=f" mars\n{FORGED} ", brightness="7")
@example(location="\u2028venus\u2028", brightness="\u30007\u3000")
@example(location="moon, crater & co #1 + ü %20", brightness="+7.5e-3")
def test_fuzzed_form_text_reaches_spuc_only_as_a_valid_sighting(spuc, form, location, brightness):
    client = form
    before = data_bytes(spuc)
    response = client.post(
        "/sightings", data={"location": location, "brightness": brightness}, headers=SAME_ORIGIN
    )
    after = data_bytes(spuc)
    expected = expected_sighting(location, brightness)
    event("refused" if expected is None else "accepted")
    if expected is None:
        assert response.status_code == 422
        assert after == before
        inputs = form_inputs(response.get_data(as_text=True))
        assert (inputs["location"]["value"], inputs["brightness"]["value"]) == (
            location,
            brightness,
        )
        return
    assert (expected.location, expected.brightness) == (location.strip(), brightness.strip())
    assert response.status_code == 303
    assert_appended_exactly(before, after, location.strip(), brightness.strip())
    # The page shows what was stored, escaped, from the one-shot note.
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Unicorn sighting recorded!" in html
    shown = escape(expected.location)
    assert f'<span class="place" title="{shown}">{shown}</span>, brightness ' in html
    assert f", brightness {escape(shown_brightness(expected.brightness))} iuhc" in html
    assert '<tr class="just-added">' in html


@pytest.fixture
def recorder(apps):
    """A FakeSpuc that records every PUT and answers like SPUC with no export data."""

    def respond(request, connection):
        if request.method == "PUT" and request.path == "/unicorn_spotted":
            connection.sendall(json_response(200, '{"message": "Unicorn sighting recorded!"}'))
        elif request.method == "GET" and request.path == "/export":
            connection.sendall(json_response(200, '{"message": "No unicorn sightings yet!"}'))
        else:
            connection.sendall(
                http_response(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"})
            )

    with FakeSpuc(respond) as fake:
        fake.release.set()  # answer and close at once: hold no connection open
        yield fake, apps(fake.url).test_client()


def puts(fake: FakeSpuc) -> list[dict[str, list[str]]]:
    return [r.query for r in fake.requests if r.method == "PUT"]


def post_raw_form(client, body: bytes):
    return client.post(
        "/sightings",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=SAME_ORIGIN,
    )


def assert_only_valid_puts(sent: list[dict[str, list[str]]]) -> None:
    """Each PUT carries one location and one brightness that validation leaves unchanged."""
    for query in sent:
        assert set(query) == {"location", "brightness"}
        assert len(query["location"]) == len(query["brightness"]) == 1
        location, brightness = query["location"][0], query["brightness"][0]
        assert validate_sighting(location, brightness) == SightingInput(location, brightness)


def form_body(location: bytes, brightness: bytes) -> bytes:
    return (
        b"location="
        + quote_from_bytes(location, safe="").encode()
        + b"&brightness="
        + quote_from_bytes(brightness, safe="").encode()
    )


UTF8_LOCATIONS = LOCATION_TEXT.map(str.encode)
UTF8_BRIGHTNESSES = BRIGHTNESS_TEXT.map(str.encode)


@FUZZ
@given(location=UTF8_LOCATIONS, brightness=UTF8_BRIGHTNESSES)
@example(location="  ünïcörn, crater & co  ".encode(), brightness=b" 7 ")
@example(location=b"mars\n" + FORGED.encode(), brightness=b"7")
@example(location=b"100%25 sure", brightness=b"%2B7")
def test_fuzzed_percent_encoded_form_reaches_spuc_only_as_a_valid_sighting(
    recorder, location, brightness
):
    """Every byte percent-encoded: SPUC gets exactly the stripped text, or nothing."""
    fake, client = recorder
    sent_before = len(puts(fake))
    response = post_raw_form(client, form_body(location, brightness))
    sent = puts(fake)[sent_before:]
    shown = (location.decode(), brightness.decode())
    expected = expected_sighting(*shown)
    event("refused" if expected is None else "accepted")
    assert response.status_code < 500
    if expected is None:
        assert response.status_code == 422
        assert sent == []
        inputs = form_inputs(response.get_data(as_text=True))
        assert (inputs["location"]["value"], inputs["brightness"]["value"]) == shown
    else:
        assert response.status_code == 303
        assert sent == [{"location": [shown[0].strip()], "brightness": [shown[1].strip()]}]
        assert_only_valid_puts(sent)
        client.get("/")  # take the note


NOT_UTF8 = st.binary(min_size=1, max_size=60).filter(lambda b: not _is_utf8(b))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@FUZZ
@given(
    location=st.one_of(NOT_UTF8, st.builds(bytes.__add__, UTF8_LOCATIONS, NOT_UTF8)),
    brightness=st.one_of(st.just(b"7"), NOT_UTF8),
)
@example(location=b"\xff\xfe", brightness=b"7")
def test_fuzzed_invalid_utf8_form_values_are_refused(recorder, location, brightness):
    """Bytes that are not UTF-8 are not a location: 422 with the reason, nothing sent."""
    fake, client = recorder
    sent_before = len(puts(fake))
    response = post_raw_form(client, form_body(location, brightness))
    assert response.status_code == 422
    assert LOCATION_BAD_BYTES in response.get_data(as_text=True)
    assert puts(fake)[sent_before:] == []


FIELD_BYTES = st.one_of(
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"location=venus&brightness=7",
            b"brightness=%207%20&location=+mars+",
            b"location=venus",
            b"brightness=7",
            b"location=",
            b"brightness=-1",
            b"location=a%0Ab",
            b"csrf_token=anything",  # no longer a field: ignored
            b"location",
            b"=",
            b"&&",
            b"location=%FF",
            b"brightness=%E2%80%A8",
            b"brightness=1e999",
        ]
    ),
)


@FUZZ
@given(fields=st.lists(FIELD_BYTES, max_size=6))
@example(fields=[b"location=venus", b"brightness=7"])
@example(fields=[b"location=venus", b"brightness=7", b"location=mars"])
def test_fuzzed_raw_form_bodies_never_5xx_and_send_only_valid_sightings(recorder, fields):
    fake, client = recorder
    sent_before = len(puts(fake))
    response = post_raw_form(client, b"&".join(fields))
    sent = puts(fake)[sent_before:]
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500
    if 200 <= response.status_code < 400:
        assert response.status_code == 303
        assert len(sent) == 1
        client.get("/")  # take the note
    else:
        assert response.status_code in (400, 413, 422)
        assert sent == []
    assert_only_valid_puts(sent)


JSON_VALUES = st.one_of(
    st.text(), st.integers(), st.floats(), st.none(), st.booleans(), st.lists(st.text())
)


def json_text(value: object) -> object:
    """A JSON value as the text SPUC should store: numbers in Python's text form,
    written without an exponent where that is not too long (1e16 as 10000000000000000)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return plain_number(repr(value)) if math.isfinite(value) else repr(value)
    return value


@pytest.fixture
def api_client(spuc, apps):
    return apps(spuc.url).test_client()


@FUZZ
@given(
    location=st.one_of(JSON_VALUES, LOCATION_TEXT, padded(PRINTABLE), padded(PRINTABLE)),
    brightness=st.one_of(
        JSON_VALUES,
        BRIGHTNESS_TEXT,
        st.integers(min_value=0),
        st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    ),
)
@example(location="venus", brightness=1e16)
@example(location="venus", brightness=5e-324)
@example(location=" venus ", brightness=True)
@example(location="venus", brightness=float("nan"))
def test_fuzzed_json_reaches_spuc_only_as_a_valid_sighting(spuc, api_client, location, brightness):
    before = data_bytes(spuc)
    response = post_json(api_client, {"location": location, "brightness": brightness})
    after = data_bytes(spuc)
    text = json_text(brightness)
    expected = expected_sighting(location, text)
    event("refused" if expected is None else "accepted")
    assert response.status_code < 500
    if expected is None:
        assert response.status_code == 422
        assert response.get_json()["fields"]
        assert after == before
        return
    assert (expected.location, expected.brightness) == (location.strip(), text.strip())
    assert response.status_code == 201
    assert_appended_exactly(before, after, expected.location, expected.brightness)
    sighting = response.get_json()["sighting"]
    assert (sighting["location"], sighting["raw_brightness"]) == (
        expected.location,
        expected.brightness,
    )


JSON_DOCUMENTS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
SIGHTING_DOCUMENTS = st.fixed_dictionaries(
    {
        "location": st.one_of(JSON_VALUES, LOCATION_TEXT),
        "brightness": st.one_of(JSON_VALUES, BRIGHTNESS_TEXT),
    },
    optional={"extra": JSON_DOCUMENTS},
)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        JSON_DOCUMENTS.map(lambda doc: json.dumps(doc).encode()),
        SIGHTING_DOCUMENTS.map(lambda doc: json.dumps(doc).encode()),
        SIGHTING_DOCUMENTS.map(lambda doc: json.dumps(doc, ensure_ascii=False).encode()),
    )
)
def test_fuzzed_json_bodies_never_5xx_and_send_only_valid_sightings(spuc, api_client, body):
    before = data_bytes(spuc)
    response = api_client.post("/api/sightings", data=body, content_type="application/json")
    after = data_bytes(spuc)
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500
    answer = response.get_json()
    if response.status_code == 201:
        recorded = answer["sighting"]
        assert_appended_exactly(before, after, recorded["location"], recorded["raw_brightness"])
        assert_only_valid_puts(
            [{"location": [recorded["location"]], "brightness": [recorded["raw_brightness"]]}]
        )
    else:
        assert response.status_code in (400, 422)
        assert isinstance(answer["error"], str) and answer["error"]
        assert after == before


# --- Hypothesis: arbitrary query strings on the views --------------------------------------

QUERY_KEYS = st.one_of(
    st.sampled_from(["location", "from", "to", "sort", "order", "page", "per_page"]),
    st.text(max_size=6),
)
QUERY_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "time",
            "location",
            "brightness",
            "asc",
            "desc",
            "DESC",
            "1",
            "2",
            "200",
            "201",
            "0",
            "-1",
            "01",
            "1e3",
            "\u0661",
            "\uff11",
            "1000000000",
            "1000000001",
            "2026-11-27",
            "2026-11-27T18:30",
            "2026-11-28 00:00:00",
            "2026-11-27T18:30:00.5",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "2026-11-27T24:00",
            "2026-11-27T18:30Z",
            "2026-11-27T18:30+01:00",
            "venus",
            "moon, crater",
            "mars\nforged",
        ]
    ),
)
SEED = (
    HEADER
    + "1,2026-11-27 18:02:00.027188,moon, crater,100,iuhc\n"
    + "2,2026-11-27 18:02:02,venus,7,iuhc\n"
    + "3,2026-11-28 09:15:30.500000,mars,junk,iulu\n"
    + "4,2026-11-28 10:00:00,north\n"
    + "pole,4,iuhc\n"
    + "5,9999-12-31 23:59:59.999999,the end of time,1e308,iuhc\n"
)


@pytest.fixture
def seeded_client(tmp_path, apps):
    data_file = tmp_path / "seeded" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    data_file.write_text(SEED, encoding="utf-8")
    with EmulatorServer(data_file) as server:
        yield apps(server.url).test_client()


VIEWS = ["/", "/api/sightings", "/api/summary", "/sightings.csv"]


def assert_view_answer(client, path: str, query: str) -> int:
    response = client.get(path, query_string=query)
    assert response.status_code in (200, 400), (path, query, response.status_code)
    if path == "/":
        html = response.get_data(as_text=True)
        assert "I saw a unicorn!" in html
        if response.status_code == 400:
            # The table's parameters are refused as a whole; a filter part beside its field.
            assert "That filter could not be read" in html or 'class="field-error"' in html
    elif response.status_code == 400:
        answer = response.get_json()
        assert answer["status"] == 400
        assert isinstance(answer["error"], str) and len(answer["error"]) > 10
    else:
        response.get_data()  # a streamed CSV must complete too
    return response.status_code


@FUZZ
@given(params=st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=8))
@example(params=[("page", "99999999999999999999")])
@example(params=[("from", "2026-11-28"), ("to", "2026-11-27")])
@example(params=[("to", "9999-12-31")])
@example(params=[("sort", "brightness"), ("order", "asc"), ("per_page", "1"), ("page", "4")])
def test_fuzzed_view_queries_never_5xx(seeded_client, params):
    query = urlencode(params)
    statuses = {assert_view_answer(seeded_client, path, query) for path in VIEWS[:2]}
    event(f"HTTP {statuses}")
    assert len(statuses) == 1, "the page and the API must agree on whether a query is valid"


@FUZZ
@given(raw=st.binary(max_size=80))
@example(raw=b"page=%FF")
@example(raw=b"location=%ED%A0%80&from=\xff")
def test_fuzzed_raw_query_bytes_never_5xx(seeded_client, raw):
    query = quote_from_bytes(raw, safe="=&%+")
    for path in VIEWS:
        assert_view_answer(seeded_client, path, query)
