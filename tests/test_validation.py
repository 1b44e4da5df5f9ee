"""The rules that keep SPUC's unquoted, line-based file readable."""

import pytest

from spucsvi.sightings.validation import InvalidSighting, SightingInput, validate_sighting


@pytest.mark.parametrize(
    ("location", "brightness", "expected"),
    [
        ("venus", "7", SightingInput("venus", "7")),
        ("  moon, crater  ", " 12.5 ", SightingInput("moon, crater", "12.5")),
        (
            "moon, crater & co #1 + ünïcörn",
            "0",
            SightingInput("moon, crater & co #1 + ünïcörn", "0"),
        ),
        ("🦄‍🌈 family", "1e3", SightingInput("🦄‍🌈 family", "1e3")),
        ("x" * 200, ".5", SightingInput("x" * 200, ".5")),
    ],
)
def test_valid_sightings_are_cleaned(location, brightness, expected):
    assert validate_sighting(location, brightness) == expected


@pytest.mark.parametrize(
    ("location", "brightness", "field", "message"),
    [
        ("", "7", "location", "Please say where you saw the unicorn."),
        ("   ", "7", "location", "Please say where you saw the unicorn."),
        (None, "7", "location", "Please say where you saw the unicorn."),
        ("x" * 201, "7", "location", "Please keep the location to 200 characters or fewer."),
        (
            "mars\n2,2026-11-27 18:02:00,forged,5,iuhc",
            "7",
            "location",
            "The location cannot contain line breaks or other control characters.",
        ),
        (
            "mars\rx",
            "7",
            "location",
            "The location cannot contain line breaks or other control characters.",
        ),
        (
            "a\x00b",
            "7",
            "location",
            "The location cannot contain line breaks or other control characters.",
        ),
        (
            "a\u2028b",
            "7",
            "location",
            "The location cannot contain line breaks or other control characters.",
        ),
        (
            "bad \ufffd bytes",
            "7",
            "location",
            "The location holds bytes that are not valid text (UTF-8).",
        ),
        ("venus", "", "brightness", "Please say how bright the unicorn was."),
        ("venus", "bright", "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "NaN", "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "inf", "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "1_000", "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "٣", "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "0x10", "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "1" * 33, "brightness", "Brightness must be a number, such as 7 or 12.5."),
        ("venus", "1e999", "brightness", "Brightness is too large."),
        ("venus", "-1", "brightness", "Brightness cannot be negative."),
        ("venus", "-0", "brightness", "Brightness cannot be negative."),
        ("venus", 7, "brightness", "Please say how bright the unicorn was."),
    ],
)
def test_invalid_sightings_name_the_field(location, brightness, field, message):
    with pytest.raises(InvalidSighting) as error:
        validate_sighting(location, brightness)
    assert error.value.errors == {field: message}


def test_every_field_error_is_reported_at_once():
    with pytest.raises(InvalidSighting) as error:
        validate_sighting("", "")
    assert set(error.value.errors) == {"location", "brightness"}


@pytest.mark.parametrize(
    ("typed", "sent"), [("7,5", "7.5"), ("0,25", "0.25"), ("12,3456", "12.3456"), ("7.5", "7.5")]
)
def test_a_decimal_comma_is_read_as_a_point(typed, sent):
    assert validate_sighting("venus", typed).brightness == sent


def test_a_comma_before_three_digits_may_separate_thousands_so_it_is_refused():
    with pytest.raises(InvalidSighting) as error:
        validate_sighting("venus", "1,000")
    assert error.value.errors == {
        "brightness": "Is that 1000 or 1.000? "
        "Please write it without the comma, with a point for decimals."
    }
