"""The rules that keep SPUC's unquoted, line-based file readable."""

import unicodedata

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
        ("🦄‍🌈 family", "1000", SightingInput("🦄‍🌈 family", "1000")),
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
        (
            "venus",
            "1e3",
            "brightness",
            "Please write the brightness as a plain number (1000), without an exponent.",
        ),
        (
            "venus",
            "2.5E-3",
            "brightness",
            "Please write the brightness as a plain number (0.0025), without an exponent.",
        ),
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


INVISIBLE = (
    "The location cannot contain invisible or text-direction characters "
    "(such as zero-width spaces, fillers or right-to-left marks)."
)
STACKED = "The location cannot stack more than 3 accents or other marks on one letter."


@pytest.mark.parametrize(
    "location",
    [
        "moon\u034f",  # combining grapheme joiner
        "moon\ufe0f",  # an emoji selector after a letter draws nothing
        "mo\ufe0eon",
        "moon\ufe00",
        "moon\U000e0100",  # variation selectors supplement
        "moon\U000e0041",  # a tag
        "\u115fmoon",  # Hangul fillers
        "moon\u1160",
        "moon\u3164",
        "\uffa0moon",
        "moon\u2800",  # braille blank
        "\u2800",
        "moon\u17b4",  # Khmer inherent vowel
        "moon\u180b",  # Mongolian free variation selector
        "1\ufe0f",  # a keycap's selector without the keycap
    ],
)
def test_invisible_characters_beyond_format_ones_are_refused(location):
    with pytest.raises(InvalidSighting) as error:
        validate_sighting(location, "7")
    assert error.value.errors == {"location": INVISIBLE}


@pytest.mark.parametrize(
    "location",
    [
        "\u2764\ufe0f moon",  # a red heart, drawn as an emoji
        "\u2600\ufe0e over the crater",  # a sun, drawn as text
        "\U0001f3f3\ufe0f\u200d\U0001f308 parade",  # rainbow flag
        "\U0001f441\ufe0f\u200d\U0001f5e8\ufe0f",  # eye in a speech bubble
        "gate 1\ufe0f\u20e3",  # keycap one
        "\U0001f3c3\u200d\u2640\ufe0f",  # woman running
        "Vi\u1ec7t Nam",  # one precomposed letter with two marks
        "a\u0323\u0302\u0301",  # three marks on one letter, which NFC cannot compose
        "\u05e9\u05c1\u05b8",  # Hebrew letter with two points
    ],
)
def test_emoji_selectors_and_a_few_marks_are_welcome(location):
    assert validate_sighting(location, "7").location == unicodedata.normalize("NFC", location)


@pytest.mark.parametrize("location", ["q\u0301\u0300\u0302\u0303", "moon" + "\u0336" * 20])
def test_more_than_three_marks_in_a_row_are_refused(location):
    with pytest.raises(InvalidSighting) as error:
        validate_sighting(location, "7")
    assert error.value.errors == {"location": STACKED}
