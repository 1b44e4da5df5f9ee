"""Error pages: friendly HTML for pages, JSON for API paths, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    TooManyRequests,
)

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    404: "There is no page at this address.",
    405: "This address does not accept that kind of request.",
    413: "That request is too large. A sighting needs only a location and a brightness.",
    500: "Something went wrong on our side. The error has been logged.",
}


def register(app: Flask) -> None:
    app.register_error_handler(TooManyRequests, handle_too_many)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/-/")) or request.path in ("/healthz", "/readyz")


def error_response(status: int, message: str) -> Response:
    body: Response | str
    if wants_json():
        body = jsonify(error=message, status=status)
    else:
        body = render_template("error.html", status=status, message=message)
    return make_response(body, status)


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    message = MESSAGES.get(status) or exc.description or "The request failed."
    response = error_response(status, message)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_too_many(exc: TooManyRequests):
    """Over the submission limit (web/ratelimit.py): the form comes back with the
    visitor's values and the reason; the API answers JSON. Both say when to retry."""
    from spucsvi.web import pages, ratelimit

    seconds = ratelimit.retry_after()
    message = ratelimit.message(seconds)
    if wants_json():
        response = make_response(jsonify(error=message, status=429, retry_after=seconds), 429)
    elif request.method == "POST":
        form = pages.submitted_form()
        values = {name: form.get(name, "") for name in pages.FIELDS}
        response = pages.personal_page(values=values, submit_error=message, status=429)
    else:
        response = error_response(429, message)
    response.headers["Retry-After"] = str(seconds)
    return response


def handle_unexpected_error(exc: Exception):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())
