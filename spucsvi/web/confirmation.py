""" "Your sighting was recorded": a one-shot note in a cookie, not in a session.

After a submission the visitor's own browser carries which record is theirs
to the next page, whichever worker or replica serves it, with no secret to
share between them: the note is read once and deleted, so a shared or
bookmarked link never shows anyone else a confirmation.

It is not signed, so it carries no text: only SPUC's count and UTC time of
the record (or nothing, when SPUC's export could not show it), and the page
looks up the rest in SPUC's records. A note that is not byte for byte one
SPUCSVi writes is ignored, and deleted from the browser by whatever answer it
came with, errors included: `ForgetNotes` wraps the whole app, so the answers
made before Flask's hooks run (web/guards.py) delete it too, and the server's
own refusals (server/worker.py) apply the same `forgetting`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

from flask import Request
from werkzeug.datastructures import Headers, ResponseCacheControl
from werkzeug.http import dump_cookie, parse_cache_control_header, parse_cookie
from werkzeug.wrappers import Response as BaseResponse

from spucsvi.sightings.recorded import Identity
from spucsvi.web.guards import sane_prefix

COOKIE = "spucsvi-recorded"
MAX_AGE = 120  # seconds: from the redirect to the next page, with room for a slow phone
MAX_BYTES = 256
_TIME_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?", re.ASCII)
_COUNT_LIMIT = 2**63  # SPUC's counts as the columns hold them
# Set in the WSGI environ when a page took (showed) the note: its answer deletes it.
_TAKEN = "spucsvi.note_taken"


@dataclass(frozen=True)
class Note:
    """A sighting SPUC took: which record is the visitor's, or None when its
    export could not show it."""

    identity: Identity | None = None


def _encoded(note: Note) -> str:
    fields = {}
    if note.identity is not None:
        fields = {"count": note.identity.count, "time_utc": note.identity.time_utc.isoformat()}
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


def give(response: BaseResponse, note: Note, request: Request) -> None:
    response.set_cookie(
        COOKIE,
        _encoded(note),
        max_age=MAX_AGE,
        path=request.script_root or "/",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )


def read(raw: str) -> Note | None:
    """The note in a cookie's value, or None unless it is exactly one `give` writes."""
    if len(raw) > MAX_BYTES:
        return None
    try:
        fields = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if fields == {}:
        note = Note()
    else:
        count, time_utc = _fields(fields)
        if count is None or time_utc is None:
            return None
        try:
            note = Note(Identity(count, datetime.fromisoformat(time_utc)))
        except ValueError:  # a day or an hour out of range
            return None
    return note if _encoded(note) == raw else None


def _fields(fields: object) -> tuple[int | None, str | None]:
    if not isinstance(fields, dict) or fields.keys() != {"count", "time_utc"}:
        return None, None
    count, time_utc = fields["count"], fields["time_utc"]
    if type(count) is not int or not -_COUNT_LIMIT <= count < _COUNT_LIMIT:
        return None, None
    if not isinstance(time_utc, str) or not _TIME_UTC.fullmatch(time_utc):
        return None, None
    return count, time_utc


def take(request: Request) -> Note | None:
    """The note this browser carries, if it is one of ours; it is deleted from
    the browser by this request's answer (`ForgetNotes`)."""
    raw = request.cookies.get(COOKIE)
    if raw is None:
        return None
    request.environ[_TAKEN] = True
    return read(raw)


class ForgetNotes:
    """WSGI middleware around the whole app: every answer to a request carrying a
    note that was taken or is not one of ours deletes it, unless it gives a new one.

    Outermost, so that it sees the answers of the guards below it and the path
    prefix the trusted proxies set (the note's path), whichever answers.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def starting(status, headers, exc_info=None):
            return start_response(status, forgetting(environ, headers), exc_info)

        return self.wsgi_app(environ, starting)


def forgetting(environ: dict, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The `headers` of an answer to the request of `environ` (its path prefix as
    the trusted proxies set it): deleting the note it carried if a page took it or
    it is not one of ours. Every answer's rule, the server's own refusals too."""
    raw = parse_cookie(environ).get(COOKIE)
    if raw is None or not (environ.get(_TAKEN) or read(raw) is None):
        return headers
    return _forgetting(headers, environ.get("SCRIPT_NAME", ""))


def _forgetting(headers: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    """`headers` with the note deleted, unless they give a new one, and kept by no
    shared cache (this visitor's answer now: its Set-Cookie is not for others)."""
    given = Headers(headers)
    if any(c.startswith(f"{COOKIE}=") for c in given.getlist("Set-Cookie")):
        return headers
    path = prefix if prefix and sane_prefix(prefix) else "/"
    given.add("Set-Cookie", dump_cookie(COOKIE, "", max_age=0, expires=0, path=path))
    kept = parse_cache_control_header(given.get("Cache-Control"), cls=ResponseCacheControl)
    if not kept.no_store:
        kept.public = False
        kept.private = True
        given["Cache-Control"] = kept.to_header()
    return given.to_wsgi_list()
