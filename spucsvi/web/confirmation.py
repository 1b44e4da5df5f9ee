""" "Your sighting was recorded": a one-shot note in a cookie, not in a session.

After a submission the visitor's own browser carries what SPUC recorded to
the next page, whichever worker or replica serves it, with no secret to
share between them: the note is read once and deleted, so a shared or
bookmarked link never shows anyone else a confirmation. It is not signed:
a visitor can only forge a note for their own eyes, and its contents are
checked and escaped like any other input.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from flask import Request
from werkzeug.wrappers import Response

COOKIE = "spucsvi-recorded"
MAX_AGE = 120  # seconds: from the redirect to the next page, with room for a slow phone
MAX_BYTES = 2048


@dataclass(frozen=True)
class Recorded:
    """What the visitor sent, and SPUC's record of it when the export shows it."""

    location: str
    brightness: str
    count: int | None = None
    time: str | None = None  # as SPUC wrote it
    units: str | None = None

    @property
    def moment(self) -> datetime | None:
        return datetime.fromisoformat(self.time) if self.time else None


def give(response: Response, recorded: Recorded, request: Request) -> None:
    value = base64.urlsafe_b64encode(json.dumps(asdict(recorded)).encode()).decode()
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path=request.script_root or "/",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )


def take(request: Request, response: Response) -> Recorded | None:
    """The note this browser carries, deleted from it on `response`; None when
    there is none or it is not one of ours."""
    raw = request.cookies.get(COOKIE)
    if raw is None:
        return None
    response.delete_cookie(COOKIE, path=request.script_root or "/")
    if len(raw) > MAX_BYTES:
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
        recorded = Recorded(**fields)
        recorded.moment  # noqa: B018 - raises ValueError on a malformed time
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        return None
    typed = (
        isinstance(recorded.location, str)
        and isinstance(recorded.brightness, str)
        and isinstance(recorded.count, int | None)
        and isinstance(recorded.time, str | None)
        and isinstance(recorded.units, str | None)
    )
    return recorded if typed else None
