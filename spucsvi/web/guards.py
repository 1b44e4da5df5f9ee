"""WSGI guards that run before the app sees a request: what a page is built
from must be what the request really says.
"""

from __future__ import annotations

import io
import re

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

TOO_LARGE = "spucsvi.body_too_large"
# A path prefix (SCRIPT_NAME) is /segment/segment...: never "//host", which links
# would turn into another site, nor a quote, space or other character a link
# would have to escape.
_SANE_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~-]+)*", re.ASCII)


class BoundedBody:
    """WSGI middleware: a body sent without Content-Length (chunked) is read here up
    to the limit, so one over it is refused with 413 as a declared one is.

    Werkzeug wraps such a stream in a LimitedStream that stops at
    MAX_CONTENT_LENGTH without an error: `request.get_data()` returned the first
    16 KB and the form parsed them (brightness 123456789 recorded as 123).
    """

    def __init__(self, wsgi_app, limit: int):
        self.wsgi_app, self.limit = wsgi_app, limit

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH", "") == "" and environ.get("wsgi.input_terminated"):
            body = self._read(environ["wsgi.input"])
            if len(body) > self.limit:
                environ[TOO_LARGE] = True
                body = b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)

    def _read(self, stream) -> bytes:
        body = bytearray()
        while len(body) <= self.limit:
            chunk = stream.read(self.limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
        return bytes(body)


def refuse_too_large() -> None:
    if request.environ.get(TOO_LARGE):
        raise RequestEntityTooLarge()


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
        prefix = environ.get("SCRIPT_NAME", "")
        if _SANE_PREFIX.fullmatch(prefix):
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
