"""Validation of a sighting before it goes anywhere near SPUC.

SPUC stores whatever strings arrive, unquoted, one record per line; so the
rules here are what keeps its file readable: a newline in a location would
forge a second record, and brightness must be a plain, finite number.
A location is stored in Unicode's composed form (NFC) and may not hold
invisible or text-direction characters, nor marks stacked on one letter,
which would make two locations that look the same, or one that reads
backwards, on the page.

This module is the one home of the location's length limit and of the shape
of a number: the page, the form and the CSV download import them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

MAX_LOCATION_LENGTH = 200
MAX_BRIGHTNESS_LENGTH = 32
# A number, as Python's float() and every spreadsheet read it; a sighting's
# brightness is one without an exponent (`brightness_error`).
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_FORBIDDEN_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
# Invisible format characters: zero-width spaces, byte-order marks, and the
# bidirectional overrides that make "\u202egnp.exe" read as "exe.png".
_INVISIBLE = "Cf"
# Invisible characters of other categories: Unicode's default-ignorable code points
# (DerivedCoreProperties.txt) that are not Cf, and the braille blank, which draws nothing.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x2800, 0x2800),  # braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned, default ignorable
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
_IGNORABLE = re.compile(
    "["
    + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in _IGNORABLE_RANGES)
    + "]"
)
ZERO_WIDTH_JOINER = "\u200d"
# Text and emoji presentation selectors: visible in what they select, after a symbol.
_PRESENTATION = ("\ufe0e", "\ufe0f")
_EMOJI_CATEGORIES = {"So", "Sk", "Mn"}
_SYMBOLS = {"So", "Sk"}
# Keycap emoji: a digit, # or *, an emoji selector, and the enclosing keycap.
_KEYCAP = re.compile(r"[0-9#*]\ufe0f\u20e3")
# Marks stacked on one character beyond this ("Zalgo" text) are refused.
MAX_MARKS = 3
_MARKS = {"Mn", "Me"}
# "7,5" from a keypad that writes a decimal comma.
_DECIMAL_COMMA = re.compile(r"(\d+),(\d+)", re.ASCII)


@dataclass(frozen=True)
class SightingInput:
    location: str
    brightness: str


class InvalidSighting(ValueError):
    """Field errors, keyed by field name, in words for the visitor."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def validate_sighting(location: object, brightness: object) -> SightingInput:
    """Return the cleaned sighting, or raise InvalidSighting with every field's error."""
    errors = {}
    clean_location = _location_text(location)
    clean_brightness = decimal_point(_text(brightness))
    if (message := location_error(clean_location)) is not None:
        errors["location"] = message
    if (message := brightness_error(clean_brightness)) is not None:
        errors["brightness"] = message
    if errors:
        raise InvalidSighting(errors)
    return SightingInput(clean_location, clean_brightness)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _location_text(value: object) -> str:
    """Stripped and composed (NFC): "e" plus a combining acute and "\u00e9" are one location."""
    return unicodedata.normalize("NFC", _text(value))


def _selects_presentation(location: str, i: int) -> bool:
    """Whether the selector at `i` picks how a symbol is drawn (as in "\u2764\ufe0f")
    or makes a keycap emoji, rather than sitting invisibly after a letter."""
    if location[i] not in _PRESENTATION or i == 0:
        return False
    return unicodedata.category(location[i - 1]) in _SYMBOLS or bool(_KEYCAP.match(location, i - 1))


def _invisible(location: str) -> bool:
    """Whether an invisible character is in the text: a format character (Cf) other
    than a zero-width joiner between two emoji (as in "\U0001f984\u200d\U0001f308"),
    which draws one picture, or a default-ignorable one other than an emoji's
    presentation selector."""
    if any(not _selects_presentation(location, m.start()) for m in _IGNORABLE.finditer(location)):
        return True
    for i, ch in enumerate(location):
        if unicodedata.category(ch) != _INVISIBLE:
            continue
        joins_emoji = (
            ch == ZERO_WIDTH_JOINER
            and 0 < i < len(location) - 1
            and unicodedata.category(location[i - 1]) in _EMOJI_CATEGORIES
            and unicodedata.category(location[i + 1]) in _EMOJI_CATEGORIES
        )
        if not joins_emoji:
            return True
    return False


def _stacked_marks(location: str) -> bool:
    """Whether more than MAX_MARKS combining marks follow one another."""
    run = 0
    for ch in location:
        run = run + 1 if unicodedata.category(ch) in _MARKS else 0
        if run > MAX_MARKS:
            return True
    return False


def decimal_point(brightness: str) -> str:
    """'7,5' as '7.5': SPUC gets a point. Three digits after the comma ('1,000')
    could be a thousands separator, so that stays as typed and is refused."""
    found = _DECIMAL_COMMA.fullmatch(brightness)
    if found is None or len(found[2]) == 3:
        return brightness
    return f"{found[1]}.{found[2]}"


def location_error(location: str) -> str | None:
    if not location:
        return "Please say where you saw the unicorn."
    if len(location) > MAX_LOCATION_LENGTH:
        return f"Please keep the location to {MAX_LOCATION_LENGTH} characters or fewer."
    if "\ufffd" in location:
        return "The location holds bytes that are not valid text (UTF-8)."
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in location):
        return "The location cannot contain line breaks or other control characters."
    if _invisible(location):
        return (
            "The location cannot contain invisible or text-direction characters "
            "(such as zero-width spaces, fillers or right-to-left marks)."
        )
    if _stacked_marks(location):
        return (
            f"The location cannot stack more than {MAX_MARKS} accents or other marks on one letter."
        )
    return None


def brightness_error(brightness: str) -> str | None:
    if not brightness:
        return "Please say how bright the unicorn was."
    if _DECIMAL_COMMA.fullmatch(brightness):
        whole, fraction = brightness.split(",")
        return (
            f"Is that {whole}{fraction} or {whole}.{fraction}? "
            "Please write it without the comma, with a point for decimals."
        )
    if len(brightness) > MAX_BRIGHTNESS_LENGTH or not NUMBER.fullmatch(brightness):
        return "Brightness must be a number, such as 7 or 12.5."
    value = float(brightness)
    if not math.isfinite(value):
        return "Brightness is too large."
    if value < 0 or brightness.startswith("-"):
        return "Brightness cannot be negative."
    if _EXPONENT in brightness.lower():
        # "1e3" is a number to Python and SPUC, but not what a visitor reads on the page.
        plain = plain_number(brightness)
        example = f" ({plain})" if len(plain) <= MAX_BRIGHTNESS_LENGTH else ""
        return f"Please write the brightness as a plain number{example}, without an exponent."
    return None


_EXPONENT = "e"
# Beyond this many digits a plain number is no easier to read than its exponent.
MAX_PLAIN_DIGITS = 21


def plain_number(text: str) -> str:
    """A number NUMBER matches written without an exponent: '1e3' as '1000',
    '2.5E-3' as '0.0025'; one with more than MAX_PLAIN_DIGITS digits that way as
    Python writes it ('1e+30'), and one too large for a float as it is."""
    number = Decimal(text)
    if abs(number.adjusted()) >= MAX_PLAIN_DIGITS:
        return repr(float(number)) if math.isfinite(float(number)) else text
    return format(number, "f")
