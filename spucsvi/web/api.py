"""The machine twins of the page: JSON and CSV, with the same filters.

The JSON API takes submissions only as `application/json`; like every
unsafe request it passes the cross-origin check first (web/security.py).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence

import orjson
from flask import (
    Blueprint,
    Response,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from spucsvi.data.columns import from_micros
from spucsvi.data.derived import UnitSummary, dashboard, overview, selection
from spucsvi.data.derived import table as table_page
from spucsvi.data.display import shown_location
from spucsvi.data.query import InvalidQuery, Query, parse_query
from spucsvi.data.store import Snapshot
from spucsvi.spuc.client import SpucError
from spucsvi.spuc.records import Sighting
from spucsvi.web import services
from spucsvi.web.pages import page_key
from spucsvi.web.per_process import per_process
from spucsvi.web.shared_body import SharedBody
from spucsvi.web.submission import submit_sighting
from spucsvi.web.validation import InvalidSighting, validate_sighting

blueprint = Blueprint("api", __name__)

# SPUC's columns; times are UTC (or SPUC_TIMEZONE's, converted), and say so.
CSV_COLUMNS = ("count", "time_utc", "location", "brightness", "units")
CSV_BATCH = 2000
# Downloads made at once in a process: a file of 1,000,000 sightings takes a
# thread about 2 s, and 10,000,000 about 20 s.
DOWNLOADS = 2
DOWNLOADS_RETRY = 5
DOWNLOADS_BUSY = "Other downloads are being made right now; please try again in a few seconds."
# A spreadsheet reads a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"): =HYPERLINK(...) could send the sheet's data elsewhere.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A cell that is a plain number is a constant to every spreadsheet, not a formula,
# even with its sign: -3 stays -3 (a number), not the text '-3.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: object):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@blueprint.errorhandler(ApiError)
def api_error(exc: ApiError):
    response = jsonify(error=exc.message, status=exc.status, **exc.extra)
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response, exc.status


@blueprint.errorhandler(SpucError)
def spuc_error(exc: SpucError):
    response = jsonify(error=exc.reason, status=exc.status, failure=type(exc).__name__)
    if getattr(exc, "retry_after", None):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response, exc.status


def sighting_json(s: Sighting) -> dict:
    return {
        "count": s.count,
        "time": s.time.isoformat(sep=" "),
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
    # With mixed units the overall mean and median mix them: `per_unit` does not.
    per_unit = {"per_unit": [unit_summary_json(u) for u in summary.per_unit]}
    return jsonify(
        total=summary.total,
        latest=sighting_json(summary.latest) if summary.latest else None,
        brightest=sighting_json(summary.brightest) if summary.brightest else None,
        mean_brightness=summary.mean_brightness,
        median_brightness=summary.median_brightness,
        locations=summary.locations,
        units=list(summary.units),
        unreadable_lines=summary.skipped,
        **(per_unit if summary.per_unit else {}),
    )


def unit_summary_json(u: UnitSummary) -> dict:
    return {
        "units": u.unit,
        "numeric": u.numeric,
        "brightest": sighting_json(u.brightest) if u.brightest else None,
        "mean_brightness": u.mean_brightness,
        "median_brightness": u.median_brightness,
    }


@blueprint.get("/sightings.csv")
def sightings_csv():
    """Every (filtered) sighting as a CSV file to download."""
    return download("csv", "text/csv", _csv_chunks)


def download(extension: str, mimetype: str, chunks: Callable) -> Response:
    """The (filtered) sightings as a file named for what it holds, streamed;
    at most DOWNLOADS at once in a process, so that the other request threads
    stay free for the pages however many clients ask for files."""
    query = _query()
    slots = _download_slots()
    if not slots.acquire(blocking=False):
        raise ApiError(503, DOWNLOADS_BUSY, retry_after=DOWNLOADS_RETRY)
    slot = _Slot(slots)
    try:
        snapshot = services.store().current()
        rows = selection(snapshot, query.filter)
        name = download_name(query, extension)
    except BaseException:
        slot.release()
        raise
    response = Response(
        stream_with_context(slot.held_while(chunks(snapshot, rows))),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    response.call_on_close(slot.release)  # also when never iterated (HEAD)
    return response


class _Slot:
    """One of the process's download slots, given back once, whichever comes first:
    the file made to its end (a client that never closes the answer, such as
    Flask's test client), the server closing the answer, or an error."""

    def __init__(self, slots: threading.BoundedSemaphore):
        self._slots, self._held = slots, True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if held:
            self._slots.release()

    def held_while(self, chunks: Iterator) -> Iterator:
        try:
            yield from chunks
        finally:
            self.release()


_download_slots = per_process(lambda: threading.BoundedSemaphore(DOWNLOADS))


def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows and never runs: text that starts like
    a formula gets a leading ' (OWASP); plain numbers, negative ones too, are kept."""
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def download_args(query: Query) -> dict[str, object]:
    """The query of a download: the filter only (every sighting it keeps)."""
    return query.args(sort=None, order=None, page=None, per_page=None)


def download_name(query: Query, extension: str) -> str:
    """A file name that says what the file holds: unicorn_sightings, then the
    filter (locations, range, from, to), in safe ASCII."""
    parts = ["unicorn_sightings"]
    locations = query.filter.locations
    parts += [_slug(name) for name in locations[:3]]
    if len(locations) > 3:
        parts.append(f"and_{len(locations) - 3}_more")
    since = {"1h": "last_hour", "1d": "last_day", "7d": "last_week"}.get(query.value("since"))
    if since:
        parts.append(since)
    for key in ("from", "to"):
        if query.value(key):
            parts += [key, _slug(query.value(key))]
    return "_".join(part for part in parts if part) + "." + extension


def _slug(text: str) -> str:
    kept = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text.strip())
    return "-".join(filter(None, kept.split("-")))[:40]


def _json_chunks(snapshot: Snapshot, rows: Sequence[int]) -> Iterator[bytes]:
    """Every sighting as one JSON document, streamed; times in UTC, saying so
    ("Z"). Made from the columns, a batch of rows per orjson call: 100,000
    sightings in 0.21 s here, against 0.40 s with a Sighting and a call per row."""
    c = snapshot.columns
    yield b'{"total":%d,"time_zone":"UTC","sightings":[' % len(rows)
    for start in range(0, len(rows), CSV_BATCH):
        batch = [
            {
                "count": c.counts[row],
                "time": from_micros(c.times[row]),
                "location": c.locations.values[c.location_ids[row]],
                "brightness": c.brightness_of[c.brightness_ids[row]],
                "raw_brightness": c.raw_brightness.values[c.brightness_ids[row]],
                "units": c.units.values[c.unit_ids[row]],
            }
            for row in rows[start : start + CSV_BATCH]
        ]
        body = orjson.dumps(batch, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)[1:-1]
        yield (b"," if start else b"") + body
    yield b"]}\n"


@blueprint.get("/sightings.json")
def sightings_download():
    """Every (filtered) sighting as a JSON file to download."""
    return download("json", "application/json", _json_chunks)


def _csv_chunks(snapshot: Snapshot, rows: Sequence[int]) -> Iterator[str]:
    """RFC 4180: CRLF line ends, fields with commas, quotes or newlines quoted;
    every cell neutralised for spreadsheets (`csv_cell`); times in UTC, as the
    header says. Made from the columns, each distinct location, brightness and
    unit made a cell once: 100,000 rows in 0.19 s here, against 0.68 s with
    csv.writer over Sighting objects, for a download a few may ask for at once."""
    columns = snapshot.columns
    location, brightness, units = (
        _cells(interned.values)
        for interned in (columns.locations, columns.raw_brightness, columns.units)
    )
    counts, times = columns.counts, columns.times
    location_ids, brightness_ids, unit_ids = (
        columns.location_ids,
        columns.brightness_ids,
        columns.unit_ids,
    )
    yield ",".join(CSV_COLUMNS) + "\r\n"
    for start in range(0, len(rows), CSV_BATCH):
        yield "".join(
            f"{counts[row]},{from_micros(times[row]).isoformat(' ')},"
            f"{location(location_ids[row])},{brightness(brightness_ids[row])},"
            f"{units(unit_ids[row])}\r\n"
            for row in rows[start : start + CSV_BATCH]
        )


def _cells(values: list[str]) -> Callable[[int], str]:
    """The CSV cell of each interned value, made when first asked for."""
    made: dict[int, str] = {}

    def cell(value_id: int) -> str:
        found = made.get(value_id)
        if found is None:
            found = made[value_id] = _csv_field(csv_cell(values[value_id]))
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
    if recorded.count is None:
        # Recorded, but the export cannot show it: answer with what was sent.
        shown = {"location": recorded.location, "brightness": recorded.brightness}
    else:
        shown = {
            "count": recorded.count,
            "time": recorded.time,
            "location": recorded.location,
            "brightness": float(recorded.brightness),
            "raw_brightness": recorded.brightness,
            "units": recorded.units,
        }
    return jsonify(message="Unicorn sighting recorded!", sighting=shown), 201


def _as_text(value: str | float | None) -> str | None:
    """Numbers in JSON are welcome as brightness, in Python's own text form.

    JSON's 1e999 arrives as infinity: written as 'inf' it would read as 'not
    a number'; 1e999 gets the same 'too large' answer as in the form.
    """
    if isinstance(value, float):
        return "1e999" if value == math.inf else repr(value)
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


@blueprint.get("/api/dashboard")
def live_dashboard():
    """The page's live parts, rendered on the server, for the auto-refresh script:
    built once per snapshot, path prefix and query, the same bytes for everyone."""
    query = _query()
    snapshot = services.store().current()

    def build() -> SharedBody:
        board = dashboard(snapshot, query)
        context = {"board": board, "query": query, "highlight": None}
        body = {
            "summary_html": render_template("_summary.html", **context),
            "results_html": render_template("_results.html", **context),
            "total": board.summary.total,
            # For the location list and "3 new since you looked".
            "unfiltered_total": board.unfiltered_total,
            "locations": [[shown_location(name), n] for name, n in board.location_counts],
        }
        return SharedBody(orjson.dumps(body), "application/json")

    return snapshot.pages.get(page_key("live", query), build).response(request)
