"""WSGI guards that run before the app sees a request: what a page is built
from must be what the request really says.
"""

from __future__ import annotations

import io
import re

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

TOO_LARGE = "spucsvi.body_too_large"
# A refused body up to this size is read and dropped, so its connection stays
# usable; a larger one is not read, and gunicorn closes the connection after
# answering (its gthread worker still says keep-alive: the client must retry).
DRAIN_LIMIT = 1024 * 1024
READ_SIZE = 64 * 1024
# A path prefix (SCRIPT_NAME) is /segment/segment...: never "//host", which links
# would turn into another site, nor a quote, space or other character a link
# would have to escape.
_SANE_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*", re.ASCII)


class BoundedBody:
    """WSGI middleware: a body over the limit is refused with 413 before the app
    sees it, however it is framed, and read to its end first (up to DRAIN_LIMIT)
    so the connection can carry the client's next request.

    Werkzeug wraps a body sent without Content-Length (chunked) in a LimitedStream
    that stops at MAX_CONTENT_LENGTH without an error, so the app would parse a
    truncated form; the limit is applied here instead. A refused body is read
    because the server decides whether the connection stays open, and may keep
    it open with the unread bytes in it: an app cannot say `Connection: close`
    (PEP 3333 leaves it to the server; gunicorn drops it, waitress refuses it).
    """

    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app, self.limit = wsgi_app, limit

    def __call__(self, environ, start_response):
        declared = environ.get("CONTENT_LENGTH", "")
        stream = environ.get("wsgi.input")
        if declared == "" and environ.get("wsgi.input_terminated"):
            body = _read(stream, self.limit + 1)
            if len(body) > self.limit:
                _read(stream, DRAIN_LIMIT, keep=False)
                self._refuse(environ)
            else:
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
        elif declared.isdigit() and int(declared) > self.limit:
            _read(stream, min(int(declared), DRAIN_LIMIT), keep=False)
            self._refuse(environ)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _refuse(environ) -> None:
        environ[TOO_LARGE] = True
        environ["wsgi.input"] = io.BytesIO()
        environ["CONTENT_LENGTH"] = "0"


def _read(stream, most: int, *, keep: bool = True) -> bytes:
    """Up to `most` bytes of `stream` (fewer at its end); dropped unless `keep`."""
    body, seen = bytearray(), 0
    while seen < most:
        chunk = stream.read(min(most - seen, READ_SIZE))
        if not chunk:
            break
        seen += len(chunk)
        if keep:
            body += chunk
    return bytes(body)


def refuse_too_large() -> None:
    if request.environ.get(TOO_LARGE):
        raise RequestEntityTooLarge()


def sane_prefix(prefix: str) -> bool:
    """Whether a path prefix (SCRIPT_NAME) is a plain path links and cookies may use."""
    return _SANE_PREFIX.fullmatch(prefix) is not None


class SanePathPrefix:
    """WSGI middleware: a request whose path prefix (SCRIPT_NAME) is not a plain path
    is refused with 400 before the app builds anything from it.

    gunicorn sets SCRIPT_NAME from a `SCRIPT_NAME:` request header sent from an
    address in forwarded_allow_ips (127.0.0.1 by default, `*` in many containers);
    `SCRIPT_NAME: //evil.example` made every link of the page point to another
    site. gunicorn.conf.py stops trusting that header; this guard holds under any
    server.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if sane_prefix(environ.get("SCRIPT_NAME", "")):
            return self.wsgi_app(environ, start_response)
        body = b"The request's path prefix (SCRIPT_NAME) is not a plain path.\n"
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]
