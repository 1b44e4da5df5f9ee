"""Validation of a sighting before it goes anywhere near SPUC.

SPUC stores whatever strings arrive, unquoted, one record per line; so the
rules here are what keeps its file readable: a newline in a location would
forge a second record, and brightness must be a plain, finite number.
A location is stored in Unicode's composed form (NFC) and may not hold
invisible or text-direction characters (category Cf), which would make two
locations that look the same, or one that reads backwards, on the page.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

MAX_LOCATION_LENGTH = 200
MAX_BRIGHTNESS_LENGTH = 32
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_FORBIDDEN_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
# Invisible format characters: zero-width spaces, byte-order marks, and the
# bidirectional overrides that make "\u202egnp.exe" read as "exe.png".
_INVISIBLE = "Cf"
ZERO_WIDTH_JOINER = "\u200d"
_EMOJI_CATEGORIES = {"So", "Sk", "Mn"}
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


def _invisible(location: str) -> bool:
    """Whether a format character (Cf) is in the text, other than a zero-width joiner
    between two emoji (as in "\U0001f984\u200d\U0001f308"), which draws one picture."""
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
            "(such as zero-width spaces or right-to-left marks)."
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
    if len(brightness) > MAX_BRIGHTNESS_LENGTH or not _NUMBER.fullmatch(brightness):
        return "Brightness must be a number, such as 7 or 12.5."
    value = float(brightness)
    if not math.isfinite(value):
        return "Brightness is too large."
    if value < 0 or brightness.startswith("-"):
        return "Brightness cannot be negative."
    return None
