"""Validation of a sighting before it goes anywhere near SPUC.

SPUC stores whatever strings arrive, unquoted, one record per line; so the
rules here are what keeps its file readable: a newline in a location would
forge a second record, and brightness must be a plain, finite number.
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
    clean_location = _text(location)
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
