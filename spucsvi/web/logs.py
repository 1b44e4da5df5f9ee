"""Structured logs with a request id, so one request can be followed across lines.

Every response carries `X-Request-ID` (the caller's, when it sent a sane one,
else a new one); gunicorn's access log and the app's own log lines print it.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"
ACCESS_LOG_FORMAT = (
    'remote=%(h)s request="%(r)s" status=%(s)s bytes=%(B)s duration_ms=%(M)s '
    'request_id=%({x-request-id}o)s user_agent="%(a)s"'
)


def assign_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex


def add_request_id_header(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
    return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ('-' outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def logging_config(level: str = "INFO") -> dict:
    """A dictConfig for the app's loggers, in the same key=value shape as the access log."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"structured": {"format": LOG_FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {"spucsvi": {"level": level, "handlers": ["stderr"], "propagate": False}},
    }
