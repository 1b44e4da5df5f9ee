"""The machine twins of the page: JSON and CSV, with the same filters.

The JSON API takes submissions only as `application/json`; like every
unsafe request it passes the cross-origin check first (web/security.py).
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Response,
    jsonify,
    request,
    url_for,
)
from werkzeug.wsgi import wrap_file

from spucsvi.data.charts import CHARTS
from spucsvi.data.derived import UnitSummary, facts, location_index, overview, selection
from spucsvi.data.derived import table as table_page
from spucsvi.data.query import InvalidQuery, Query, SightingFilter, parse_query
from spucsvi.data.store import Snapshot
from spucsvi.per_process import PerProcess
from spucsvi.sightings.submission import submit_sighting
from spucsvi.sightings.validation import (
    NUMBER,
    InvalidSighting,
    plain_number,
    validate_sighting,
)
from spucsvi.spuc.client import SpucError
from spucsvi.spuc.records import Sighting
from spucsvi.web import services
from spucsvi.web.errors import json_error
from spucsvi.web.json import dumps as json_dumps
from spucsvi.web.shared_body import choose, compress_stream

blueprint = Blueprint("api", __name__)

# A location search (`/api/locations`): at most this many characters, and results.
SEARCH_LENGTH = 200
SEARCH_RESULTS = 50
MAX_SEARCH_RESULTS = 200
# SPUC's columns; times are UTC (or SPUC_TIMEZONE's, converted), and say so.
CSV_COLUMNS = ("count", "time_utc", "location", "brightness", "units")
# The CSV for spreadsheets: a byte-order mark, without which Excel reads the file as
# Windows-1252 and garbles emoji and Arabic names; times in ISO 8601 to the second,
# with their zone, and in the visitor's zone too when the link names it (`tz`).
BYTE_ORDER_MARK = "\ufeff"
SPREADSHEET_SUFFIX = "_for_spreadsheets"
ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,2}", re.ASCII)
CSV_BATCH = 2000
# Downloads made at once in a process: a file of 1,000,000 sightings takes a
# thread about 2 s, and 10,000,000 about 20 s.
DOWNLOADS = 2
DOWNLOADS_RETRY = 5
SPOOL_IN_MEMORY = 1024 * 1024
DOWNLOADS_BUSY = "Other downloads are being made right now; please try again in a few seconds."
# A spreadsheet reads a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"): =HYPERLINK(...) could send the sheet's data elsewhere.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Where a spreadsheet in a `;` locale, or one reading tab-separated text, starts a cell.
_LOCALE_SEPARATORS = re.compile(r"([;\t])")


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, retry_after: int | None = None, **extra: object
    ):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra
        self.retry_after = retry_after


@blueprint.errorhandler(ApiError)
def api_error(exc: ApiError):
    return json_error(exc.status, exc.message, retry_after=exc.retry_after, **exc.extra)


@blueprint.errorhandler(SpucError)
def spuc_error(exc: SpucError):
    return json_error(
        exc.status, exc.reason, failure=type(exc).__name__, retry_after=exc.retry_after
    )


def sighting_json(s: Sighting) -> dict:
    return {
        "count": s.count,
        "time": s.time,  # UTC, written with "Z" (web/json.py)
        "location": s.location,
        "brightness": s.brightness,
        "raw_brightness": s.raw_brightness,
        "units": s.units,
    }


def _query() -> Query:
    try:
        return parse_query(request.args)
    except InvalidQuery as exc:
        raise ApiError(400, str(exc)) from None


@blueprint.get("/api/sightings")
def list_sightings():
    query = _query()
    table = table_page(services.store().current(), query)

    def link(page: int) -> str | None:
        if not 1 <= page <= table.pages or page == table.page:
            return None
        return url_for("api.list_sightings", **query.args(page=page))

    return jsonify(
        total=table.total,
        page=table.page,
        per_page=table.per_page,
        pages=table.pages,
        sightings=[sighting_json(s) for s in table.rows],
        # The neighbouring pages, and every sighting at once as a download.
        links={
            "next": link(table.page + 1),
            "prev": link(table.page - 1),
            "all": url_for("api.sightings_download", **download_args(query)),
        },
    )


@blueprint.get("/api/summary")
def summary():
    snapshot = services.store().current()
    summary, _ = overview(snapshot, _query().filter)
    # The top-level brightness figures only where one unit has numbers (else null):
    # figures in two units are never compared or averaged; `per_unit` has each unit's.
    return jsonify(
        total=summary.total,
        latest=sighting_json(summary.latest) if summary.latest else None,
        brightest=sighting_json(summary.brightest) if summary.brightest else None,
        mean_brightness=summary.mean_brightness,
        median_brightness=summary.median_brightness,
        locations=summary.locations,
        units=list(summary.units),
        unreadable_lines=summary.skipped,
        per_unit=[unit_summary_json(u) for u in summary.per_unit],
    )


def unit_summary_json(u: UnitSummary) -> dict:
    return {
        "units": u.unit,
        "numeric": u.numeric,
        "brightest": sighting_json(u.brightest) if u.brightest else None,
        "mean_brightness": u.mean_brightness,
        "median_brightness": u.median_brightness,
    }


# The charts whose window a zoom asks for: declared in data/charts.py, by id.
ZOOMABLE = {chart.id: chart for chart in CHARTS if chart.detail_on_zoom}


@blueprint.get("/api/charts/<chart_id>/window")
def chart_window(chart_id: str):
    """A time chart's figure for the window a visitor zoomed to (`window_from`,
    `window_to`, read as the filter's `from` and `to`), within the page's filter
    (the rest of the query): every sighting when they fit, else finer stretches
    than the overview's, so zooming shows detail. Drawn by the chart's own code, so
    an answer holds no more points than the page's figure."""
    chart = ZOOMABLE.get(chart_id)
    if chart is None:
        raise ApiError(404, f"No chart {chart_id!r} is drawn again for a window.")
    within = _query().filter.narrowed(_window())
    snapshot = services.store().current()
    found = facts(snapshot, within)
    return jsonify(sightings=len(found.rows), figure=chart.draw(snapshot.columns, found))


def _window() -> SightingFilter:
    """The zoomed window: both ends, each a time as the `from` and `to` filters take it."""
    start, end = request.args.get("window_from", ""), request.args.get("window_to", "")
    if not (start and end):
        raise ApiError(400, "Give the window as window_from and window_to.")
    try:
        return parse_query({"from": start, "to": end}).filter
    except InvalidQuery as exc:
        raise ApiError(400, f"The window: {exc}") from None


@blueprint.get("/api/locations")
def locations():
    """The locations holding `q` (case-insensitive, anywhere in the name as the page
    shows it), the most sighted first: what the page's search box adds to its list,
    which offers only the most sighted. Within the rest of the filter (its time, units
    and brightness), as the list's counts are."""
    words = request.args.get("q", "")
    if len(words) > SEARCH_LENGTH:
        raise ApiError(400, f"Search with at most {SEARCH_LENGTH} characters.")
    limit = request.args.get("limit", str(SEARCH_RESULTS))
    if not (len(limit) <= 3 and limit.isascii() and limit.isdigit()) or not (
        1 <= int(limit) <= MAX_SEARCH_RESULTS
    ):
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_SEARCH_RESULTS}.")
    index = location_index(services.store().current(), _query().filter.without_locations())
    found, more = index.search(words, int(limit))
    return jsonify(
        q=words,
        locations=[{"location": name, "sightings": n} for name, n in found],
        more=more,
        all=len(index.counted),
    )


@blueprint.get("/sightings.csv")
def sightings_csv():
    """Every (filtered) sighting as a CSV file to download: the contract for scripts."""
    return download("csv", "text/csv", _csv_chunks)


@blueprint.get("/sightings-for-spreadsheets.csv")
def sightings_spreadsheet():
    """Every (filtered) sighting as a CSV file a spreadsheet opens with a double click."""
    zone = _visitor_zone(request.args.get("tz", ""))
    header = BYTE_ORDER_MARK + ",".join(
        ("count", "time_utc", *([f"time_{zone.key}"] if zone else []), *CSV_COLUMNS[2:])
    )

    def stamps(moment: datetime) -> str:  # a UTC time without a zone, as every one here
        utc = moment.isoformat("T", "seconds") + "Z"
        if zone is None:
            return utc
        return f"{utc},{moment.replace(tzinfo=UTC, microsecond=0).astimezone(zone).isoformat()}"

    return download(
        "csv",
        "text/csv",
        partial(_csv_chunks, header=header, stamps=stamps),
        suffix=SPREADSHEET_SUFFIX,
    )


def _visitor_zone(name: str) -> ZoneInfo | None:
    """The zone a download link names (the page's script adds the visitor's own)."""
    if not name:
        return None
    try:
        if len(name) > 64 or not ZONE_NAME.fullmatch(name):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ApiError(400, "'tz' must name a time zone, such as Europe/Berlin.") from None


def download(extension: str, mimetype: str, chunks: Callable, *, suffix: str = "") -> Response:
    """The (filtered) sightings as a file named for what it holds, made in full
    first (a temporary file when large): at most DOWNLOADS made at once in a process, so that
    the other request threads stay free for the pages however many clients ask
    for files, and a slot is given back once the file is made, not once a
    client has read it (a slow reader would hold it for as long as it reads).
    The server sends the file (PatientWorker from its poller, costing no memory)."""
    query = _query()
    slots = _download_slots()
    if not slots.acquire(blocking=False):
        raise ApiError(503, DOWNLOADS_BUSY, retry_after=DOWNLOADS_RETRY)
    try:
        snapshot = services.store().current()
        rows = selection(snapshot, query.filter)
        stem, dot, extension = query.download_name(extension).rpartition(".")
        name = stem + suffix + dot + extension
        encoding = choose(request)
        size, body = _spooled(chunks(snapshot, rows), encoding)
    finally:
        slots.release()
    response = Response(
        body if isinstance(body, bytes) else wrap_file(request.environ, body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        direct_passthrough=True,
    )
    response.content_length = size
    response.vary.add("Accept-Encoding")
    if encoding is not None:  # compressed as it was made, so sent as it is
        response.headers["Content-Encoding"] = encoding
    return response


def _spooled(chunks: Iterator[str | bytes], encoding: str | None) -> tuple[int, bytes | IO[bytes]]:
    """The file's size, and the file (in `encoding`, unless None): in memory up
    to SPOOL_IN_MEMORY bytes, else an anonymous temporary file (gone once the
    answer closes it)."""
    encoded = (chunk.encode() if isinstance(chunk, str) else chunk for chunk in chunks)
    spool = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)  # noqa: SIM115 - see below
    try:
        for chunk in compress_stream(encoded, encoding) if encoding else encoded:
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    if size > SPOOL_IN_MEMORY:  # on disk: the server sends it from there
        return size, spool
    with spool:
        return size, spool.read()


_download_slots = PerProcess(lambda: threading.BoundedSemaphore(DOWNLOADS))


def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows and never runs: text that starts like
    a formula gets a leading ' (OWASP); plain numbers, negative ones too, are kept.
    A spreadsheet that splits on `;` or tabs (many locales) starts a cell after each
    of them, so every such part is neutralised the same way."""
    parts = _LOCALE_SEPARATORS.split(_neutralised(str(value)))
    parts[2::2] = map(_neutralised, parts[2::2])
    return "".join(parts)


def _neutralised(text: str) -> str:
    # A plain number is a constant to every spreadsheet, even with its sign: -3
    # stays -3 (a number), not the text '-3.
    if text.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def download_args(query: Query) -> dict[str, Any]:
    """The query of a download: the filter only (every sighting it keeps)."""
    return query.args(sort=None, order=None, page=None, per_page=None)


def _json_chunks(snapshot: Snapshot, rows: Sequence[int]) -> Iterator[bytes]:
    """Every sighting as one JSON document, streamed; times in UTC, saying so
    ("Z"). Made from the columns, a batch of rows per orjson call: 100,000
    sightings in 0.21 s here, against 0.40 s with a Sighting and a call per row."""
    yield b'{"total":%d,"time_zone":"UTC","sightings":[' % len(rows)
    for index, batch in enumerate(snapshot.columns.batches(rows, CSV_BATCH)):
        records = [
            {
                "count": count,
                "time": time,
                "location": location,
                "brightness": brightness,
                "raw_brightness": raw,
                "units": units,
            }
            for count, time, location, brightness, raw, units in zip(
                batch.counts,
                batch.times,
                batch.locations,
                batch.values,
                batch.raw_brightness,
                batch.units,
                strict=True,
            )
        ]
        body = json_dumps(records)[1:-1]
        yield (b"," if index else b"") + body
    yield b"]}\n"


@blueprint.get("/sightings.json")
def sightings_download():
    """Every (filtered) sighting as a JSON file to download."""
    return download("json", "application/json", _json_chunks)


def _csv_chunks(
    snapshot: Snapshot,
    rows: Sequence[int],
    *,
    header: str = ",".join(CSV_COLUMNS),
    stamps: Callable[[datetime], str] = lambda moment: moment.isoformat(" "),
) -> Iterator[str]:
    """RFC 4180: CRLF line ends, fields with commas, quotes or newlines quoted;
    every cell neutralised for spreadsheets (`csv_cell`); times in UTC, as the
    header says (`stamps` makes a row's time cells). Made from the columns, each
    distinct location, brightness and unit made a cell once: 100,000 rows in 0.19 s
    here, against 0.68 s with csv.writer over Sighting objects, for a download a
    few may ask for at once."""
    location, brightness, units = (_cells() for _ in range(3))
    yield header + "\r\n"
    for batch in snapshot.columns.batches(rows, CSV_BATCH):
        yield "".join(
            f"{count},{stamps(time)},{location(place)},{brightness(raw)},{units(unit)}\r\n"
            for count, time, place, raw, unit in zip(
                batch.counts,
                batch.times,
                batch.locations,
                batch.raw_brightness,
                batch.units,
                strict=True,
            )
        )


def _cells() -> Callable[[str], str]:
    """The CSV cell of each distinct value, made when first asked for."""
    made: dict[str, str] = {}

    def cell(value: str) -> str:
        found = made.get(value)
        if found is None:
            found = made[value] = _csv_field(csv_cell(value))
        return found

    return cell


def _csv_field(text: str) -> str:
    if any(special in text for special in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@blueprint.post("/api/sightings")
def create_sighting():
    body = _json_object()
    location, brightness = body.get("location"), body.get("brightness")
    type_errors = {}
    if location is not None and not isinstance(location, str):
        type_errors["location"] = "The location must be text."
    if isinstance(brightness, bool) or not isinstance(brightness, str | int | float | None):
        type_errors["brightness"] = "Brightness must be a number, such as 7 or 12.5."
    if type_errors:
        raise ApiError(422, "The sighting is not valid.", fields=type_errors)
    try:
        sighting = validate_sighting(location, _as_text(brightness))
    except InvalidSighting as exc:
        raise ApiError(422, "The sighting is not valid.", fields=exc.errors) from None
    recorded = submit_sighting(sighting, services.client(), services.store(), services.settings())
    if recorded is None:
        # Recorded, but the export cannot show it: answer with what was sent.
        shown: dict[str, object] = {
            "location": sighting.location,
            "brightness": sighting.brightness,
        }
    else:
        shown = {
            "count": recorded.count,
            "time": recorded.time_utc,
            "location": recorded.location,
            "brightness": float(recorded.brightness),
            "raw_brightness": recorded.brightness,
            "units": recorded.units,
        }
    return jsonify(message="Unicorn sighting recorded!", sighting=shown), 201


def _as_text(value: str | float | None) -> str | None:
    """Numbers in JSON are welcome as brightness, written plainly: JSON's 1e3 is
    '1000.0' (SPUC gets no exponent, as from the form).

    JSON's 1e999 arrives as infinity: written as 'inf' it would read as 'not
    a number'; 1e999 gets the same 'too large' answer as in the form.
    """
    if isinstance(value, float):
        return "1e999" if value == math.inf else plain_number(repr(value))
    if isinstance(value, int):
        return str(value)
    return value


def _json_object() -> dict:
    if not request.is_json:
        raise ApiError(415, "Send the sighting as JSON with Content-Type: application/json.")
    try:
        body = json.loads(request.get_data(), object_pairs_hook=_no_duplicate_keys)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "The body is not valid JSON: it is nested too deeply.") from None
    if not isinstance(body, dict):
        raise ApiError(400, 'The body must be a JSON object: {"location": ..., "brightness": ...}.')
    return body


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    if duplicated:
        raise ValueError(f"duplicated keys {', '.join(duplicated)}")
    return dict(pairs)
