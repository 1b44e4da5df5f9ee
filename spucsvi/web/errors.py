"""Error pages: friendly HTML for pages, JSON for API paths, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from limits.errors import StorageError
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
    app.register_error_handler(StorageError, handle_limit_store_failed)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/-/")) or request.path in ("/healthz", "/readyz")


def error_response(status: int, message: str, *, retry_after: int | None = None) -> Response:
    """The error page, or the JSON error on an API path."""
    if wants_json():
        return json_error(status, message, retry_after=retry_after)
    page = render_template("error.html", status=status, message=message)
    return with_retry_after(make_response(page, status), retry_after)


def json_error(
    status: int, message: str, *, retry_after: int | None = None, **extra: object
) -> Response:
    """Every JSON error: `error` (the reason in plain words), `status`, what else the
    caller adds, and when to try again (`retry_after`, also as Retry-After)."""
    body = {"error": message, "status": status, **extra}
    if retry_after:
        body["retry_after"] = retry_after
    return with_retry_after(make_response(jsonify(body), status), retry_after)


def with_retry_after(response: Response, seconds: int | None) -> Response:
    if seconds:
        response.headers["Retry-After"] = str(seconds)
    return response


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    message = MESSAGES.get(status) or exc.description or "The request failed."
    response = error_response(status, message)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_too_many(exc: TooManyRequests):
    """Over the submission limit (web/ratelimit.py)."""
    from spucsvi.web import ratelimit

    seconds = ratelimit.retry_after()
    return refused_submission(429, ratelimit.message(seconds), seconds)


def handle_limit_store_failed(exc: StorageError):
    """The submission limit's store does not answer (Redis down): the submission
    is not counted, so it is not sent either."""
    from spucsvi.web import ratelimit

    log.error("The submission limit's store failed: %s", exc.storage_error)
    return refused_submission(503, ratelimit.UNAVAILABLE, None)


def refused_submission(status: int, message: str, seconds: int | None) -> Response:
    """A submission refused before its view ran: the form comes back with the
    visitor's values and the reason; the API answers JSON. Both say when to retry."""
    from spucsvi.web import pages

    if request.method == "POST" and not wants_json():
        form = pages.submitted_form()
        values = {name: form.get(name, "") for name in pages.FIELDS}
        page = pages.personal_page(values=values, submit_error=message, status=status)
        return with_retry_after(page, seconds)
    return error_response(status, message, retry_after=seconds)


def handle_unexpected_error(exc: Exception):
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())
