"""The SPUC client: the only module that speaks HTTP to SPUC.

Every call has a timeout, values travel as encoded query parameters, and each
way a call can fail is its own exception with a reason in plain words, which
the error handlers turn into a page or a JSON error. Submissions are never
retried: SPUC can answer 500 after it has written the record.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError

from spucsvi.spuc.records import is_empty_message

MAX_EXPORT_BYTES = 1024 * 1024 * 1024
MAY_BE_RECORDED = (
    "The sighting may have been recorded anyway: check the list before you submit it again."
)


def redact_url(url: str) -> str:
    """The URL as it may be shown or logged: a password becomes ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class SpucError(Exception):
    """SPUC could not do what was asked; `reason` is fit to show a visitor."""

    status = 502
    retry_after: int | None = None  # seconds, when trying again later may work

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class SpucUnreachable(SpucError):
    status = 503


class SpucTimeout(SpucError):
    status = 504


class ExportDisabled(SpucError):
    status = 503


class SpucRejected(SpucError):
    """SPUC answered 400; `spuc_message` is SPUC's own words."""

    def __init__(self, reason: str, spuc_message: str):
        super().__init__(reason)
        self.spuc_message = spuc_message


class SpucServerError(SpucError):
    """SPUC answered 5xx. On a submission the record may have been written."""

    def __init__(self, reason: str, spuc_status: int):
        super().__init__(reason)
        self.spuc_status = spuc_status


class SpucBadResponse(SpucError):
    """SPUC answered something the contract does not allow."""


@dataclass(frozen=True)
class ExportResponse:
    """One answer of GET /export.

    `status` is 200 (whole file), 206 (bytes from `offset`), 304 (unchanged) or
    416 (requested range past the end: the file shrank). `empty` is SPUC's
    "No unicorn sightings yet!" answer. `total` is the file size when known.
    """

    status: int
    body: bytes = b""
    etag: str | None = None
    offset: int = 0
    total: int | None = None
    empty: bool = False


class SpucClient:
    """A pooled HTTP session to one SPUC, with the project's timeouts."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        pool_size: int = 10,
        max_export_bytes: int = MAX_EXPORT_BYTES,
    ):
        self.base_url = base_url.rstrip("/")
        self.shown_url = redact_url(self.base_url)  # in every message, page and log
        self.timeout = (connect_timeout, read_timeout)
        self.max_export_bytes = max_export_bytes
        self._pool_size = pool_size
        self._session: requests.Session | None = None
        self._pid: int | None = None

    @property
    def session(self) -> requests.Session:
        """A pooled session of this process: one made before a fork is not shared."""
        if self._session is None or self._pid != os.getpid():
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session, self._pid = session, os.getpid()
        return self._session

    def record_sighting(self, location: str, brightness: str) -> None:
        """PUT one sighting. Raises a SpucError subclass on any failure."""
        try:
            response = self.session.put(
                f"{self.base_url}/unicorn_spotted",
                params={"location": location, "brightness": brightness},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            error = self._transport_error(exc)
            if not isinstance(error, SpucUnreachable):
                # The request left: SPUC may have written the record before failing.
                error.reason = f"{error.reason} {MAY_BE_RECORDED}"
            raise error from exc
        with response:
            if response.status_code == 200:
                return
            if response.status_code == 400:
                message = _json_field(response, "ERROR") or response.text[:200]
                raise SpucRejected(f"SPUC refused the sighting: {message}", message)
            if response.status_code >= 500:
                raise SpucServerError(
                    f"SPUC at {self.shown_url} failed with HTTP {response.status_code} "
                    f"while recording. {MAY_BE_RECORDED}",
                    response.status_code,
                )
            raise SpucBadResponse(
                f"SPUC at {self.shown_url} answered HTTP {response.status_code} "
                "to a sighting. Is SPUC_URL pointing at SPUC?"
            )

    def fetch_export(self, *, etag: str | None = None, offset: int = 0) -> ExportResponse:
        """GET /export, conditionally (`etag`) and from byte `offset` when given."""
        headers = {"Accept-Encoding": "identity"}
        if etag:
            headers["If-None-Match"] = etag
        if offset:
            headers["Range"] = f"bytes={offset}-"
        deadline = time.monotonic() + 4 * self.timeout[1]
        try:
            with self.session.get(
                f"{self.base_url}/export", headers=headers, timeout=self.timeout, stream=True
            ) as response:
                return self._export_response(response, offset, deadline)
        except requests.RequestException as exc:
            raise self._transport_error(exc) from exc

    def _export_response(
        self, response: requests.Response, offset: int, deadline: float
    ) -> ExportResponse:
        status = response.status_code
        etag = response.headers.get("ETag")
        if status == 304:
            return ExportResponse(304, etag=etag)
        if status == 416:
            return ExportResponse(416)
        if status == 404:
            raise ExportDisabled(
                f"SPUC at {self.shown_url} has its export turned off, so sightings "
                "cannot be shown. Start SPUC with EXPORT=true."
            )
        if status >= 500:
            raise SpucServerError(
                f"SPUC at {self.shown_url} failed with HTTP {status} on its export.", status
            )
        if status not in (200, 206):
            raise SpucBadResponse(
                f"SPUC at {self.shown_url} answered HTTP {status} to the export request."
            )
        body = self._read_limited(response, deadline)
        if "json" in response.headers.get("Content-Type", ""):
            if is_empty_message(body):
                return ExportResponse(200, empty=True)
            raise SpucBadResponse(
                f"SPUC at {self.shown_url} answered its export with unexpected JSON."
            )
        if status == 200:
            return ExportResponse(200, body, etag, 0, len(body))
        start, total = _content_range(response.headers.get("Content-Range", ""))
        if start is None:
            raise SpucBadResponse(f"SPUC at {self.shown_url} sent a partial export without range.")
        return ExportResponse(206, body, etag, start, total)

    def _read_limited(self, response: requests.Response, deadline: float) -> bytes:
        """Read the body within the size limit and an overall deadline.

        The read timeout bounds each socket read; the deadline, checked after
        every read however small, bounds a server that trickles bytes forever.
        """
        chunks, size = [], 0
        try:
            while chunk := response.raw.read1(256 * 1024):
                size += len(chunk)
                if size > self.max_export_bytes:
                    raise SpucBadResponse(
                        f"SPUC's export is larger than {self.max_export_bytes // 2**20} MB."
                    )
                if time.monotonic() > deadline:
                    raise SpucTimeout(f"SPUC at {self.shown_url} is sending its export too slowly.")
                chunks.append(chunk)
        except ReadTimeoutError:
            raise SpucTimeout(
                f"SPUC at {self.shown_url} did not answer within {self.timeout[1]:g} seconds."
            ) from None
        except (ProtocolError, OSError):
            raise SpucBadResponse(
                f"SPUC at {self.shown_url} broke off its answer half-way."
            ) from None
        return b"".join(chunks)

    def _transport_error(self, exc: requests.RequestException) -> SpucError:
        cause = exc.args[0] if exc.args else None
        if isinstance(exc, requests.ReadTimeout) or isinstance(cause, ReadTimeoutError):
            return SpucTimeout(
                f"SPUC at {self.shown_url} did not answer within {self.timeout[1]:g} seconds."
            )
        reason = getattr(cause, "reason", cause)
        if isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError):
            # Includes NewConnectionError: refused, no route, unknown host.
            return SpucUnreachable(f"SPUC could not be reached at {self.shown_url}. Is it running?")
        if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            return SpucBadResponse(
                f"SPUC at {self.shown_url} broke off its answer half-way. "
                "Is SPUC_URL pointing at SPUC?"
            )
        return SpucBadResponse(
            f"Talking to SPUC at {self.shown_url} failed ({type(exc).__name__})."
        )

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _json_field(response: requests.Response, field: str) -> str | None:
    try:
        value = response.json().get(field)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _content_range(header: str) -> tuple[int | None, int | None]:
    """Parse `bytes START-END/TOTAL` (TOTAL may be `*`)."""
    unit, _, spec = header.partition(" ")
    span, _, total = spec.partition("/")
    start, _, _ = span.partition("-")
    if unit != "bytes" or not start.isdigit():
        return None, None
    return int(start), int(total) if total.isdigit() else None
