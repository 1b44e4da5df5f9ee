"""The HTML pages: the dashboard and the sighting form on it.

The dashboard for a data version and URL is the same bytes for every
visitor (web/shared_body.py). A page with something of the visitor's own on
it (their confirmation, their values and the reasons a submission failed)
is rendered for them alone and never stored.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl

from cachetools import LRUCache
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from spucsvi.data.derived import Dashboard, dashboard, ordered_rows, position
from spucsvi.data.display import (
    shown_brightness,
    shown_figure,
    shown_location,
    shown_unit,
    unit_name,
    unit_title,
)
from spucsvi.data.query import RANGE_PRESETS, InvalidQuery, Query, parse_query
from spucsvi.data.store import Snapshot, StillLoading
from spucsvi.sightings.recorded import Identity, Recorded, find_recorded
from spucsvi.sightings.submission import submit_sighting
from spucsvi.sightings.validation import MAX_LOCATION_LENGTH, InvalidSighting, validate_sighting
from spucsvi.spuc.client import ExportDisabled, SpucError
from spucsvi.web import confirmation, parts, services
from spucsvi.web.confirmation import Note
from spucsvi.web.errors import with_retry_after
from spucsvi.web.shared_body import SharedBody

blueprint = Blueprint("pages", __name__)
blueprint.add_app_template_filter(unit_name, "unit_name")
blueprint.add_app_template_filter(shown_location, "shown")
blueprint.add_app_template_filter(shown_unit, "shown_unit")
blueprint.add_app_template_filter(unit_title, "unit_title")
blueprint.add_app_template_filter(shown_brightness, "shown_brightness")
blueprint.add_app_template_filter(shown_figure, "figure")


@blueprint.app_template_filter("thousands")
def thousands(number: int) -> str:
    """12345 as '12,345'."""
    return f"{number:,}"


@blueprint.app_template_filter("when")
def when(moment: datetime, seconds: bool = True) -> Markup:
    """A UTC time (every time here is) as <time>, saying its zone; the page's script
    may show it in the visitor's zone instead, and how long ago."""
    shown = moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return Markup('<time class="when" datetime="{}Z">{} UTC</time>').format(
        moment.isoformat(), shown
    )


@blueprint.app_template_filter("duration")
def duration(seconds: float) -> str:
    """An age in the largest whole unit a reader wants: '40 s', '12 min', '3 h', '2 days'."""
    for size, unit in ((86400, "\u00a0days"), (3600, "\u00a0h"), (60, "\u00a0min")):
        if seconds >= 2 * size:
            return f"{int(seconds // size):,}{unit}"
    return f"{int(seconds)}\u00a0s"


@blueprint.app_template_filter("plural")
def plural(number: int, word: str) -> str:
    """'1 sighting', '2,000 sightings'."""
    return f"{number:,} {word if number == 1 else word + 's'}"


FIELDS = ("location", "brightness")
# What a page's bytes may depend on, of the request that asked for it.
PAGE_ENVIRON = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "HTTP_HOST",
        "wsgi.url_scheme",
    }
)
# Pages kept ready for each new version: default pages (per prefix and host), others.
DEFAULT_PAGES = 2
PRERENDERED_PAGES = 3
REPORT_ANCHOR = "report"


@blueprint.get("/")
def index():
    try:
        query = parse_query(request.args, forgiving=True)
    except InvalidQuery as exc:
        return personal_page(query_error=str(exc), status=400)
    if query.refused:  # the rest of the filter shown, each refused part beside its field
        return personal_page(query, status=400)
    note = confirmation.take(request)
    if note is not None:
        # The redirect may land on another worker, whose snapshot predates the sighting.
        return personal_page(query, note=note, fresh=True)
    # A page naming its signed-in user is that user's alone; one with a note not of
    # ours answers deleting it.
    if request.cookies.get(confirmation.COOKIE) is not None or request.remote_user:
        return personal_page(query)
    store = services.store()
    try:
        snapshot = store.current()
    except SpucError:
        return personal_page(query)
    if store.stale() is not None:  # the copy is shown marked with its age: not shared
        return personal_page(query)
    return shared_page(snapshot, query).response(request)


def shared_page(snapshot: Snapshot, query: Query) -> SharedBody:
    """The page as every visitor sees it for this data version and URL, built once
    in a real request: its links depend on the path it is served under."""
    key = page_key(query)
    if key not in snapshot.pages:
        remember_request(key)

    def build() -> SharedBody:
        board = dashboard(snapshot, query)
        made = page_parts(snapshot, query, board)
        body, gzipped = parts.join(page_html(query, board, parts=parts.slots(made)), made)
        return SharedBody(body, "text/html", encoders={"gzip": gzipped})

    return snapshot.pages.get(key, build)


def page_parts(snapshot: Snapshot, query: Query, board: Dashboard) -> dict[str, parts.Part]:
    """The parts of a page that depend on less than its URL, each rendered once per
    snapshot and what it depends on: the charts and the location list (its counts
    within the filter) on the filter."""
    chosen = query.filter.locations
    return {
        "locations": snapshot.pages.get(
            ("locations html", query.filter),
            lambda: parts.Part(render_template("_locations.html", board=board, locations=chosen)),
        ),
        "charts": snapshot.pages.get(
            ("charts html", query.filter),
            lambda: parts.Part(render_template("_charts.html", board=board)),
        ),
    }


def page_key(query: Query) -> tuple:
    """What a shared page's bytes depend on: its path prefix and query and, for a
    range counted back from now (`since`), the minute it starts from."""
    key: tuple = ("page", request.script_root, query.raw)
    if query.value("since"):
        key += (query.filter.start,)
    return key


def remember_request(key: tuple) -> None:
    """Keep what this request's page depends on, to build it again for the next
    data version before others ask (`prerender`)."""
    environ = {k: v for k, v in request.environ.items() if k in PAGE_ENVIRON}
    current_app.extensions["recent_pages"].remember(key, environ)


class RecentPages:
    """The pages most recently built, each with the request environ it depends on:
    the default page (no query) of the last DEFAULT_PAGES path prefixes and hosts,
    and the last PRERENDERED_PAGES others, so that many other pages asked for
    never push out the one most visitors see. Thread-safe."""

    def __init__(self) -> None:
        self._defaults: LRUCache[tuple, dict] = LRUCache(DEFAULT_PAGES)
        self._others: LRUCache[tuple, dict] = LRUCache(PRERENDERED_PAGES)
        self._lock = threading.Lock()

    def remember(self, key: tuple, environ: dict) -> None:
        with self._lock:
            (self._others if key[2] else self._defaults)[key] = environ

    def environs(self) -> list[dict]:
        with self._lock:
            return [*self._defaults.values(), *self._others.values()]


def prerender(app: Flask) -> Callable[[Snapshot], None]:
    """The store's `warm` for this app: build and compress the pages most recently
    asked for of a new version, each in a request made from the one that asked
    (its path prefix, host and query), so that the first view of a new version
    costs what any cached view costs. It runs in a thread of its own once the
    version is published to those who waited for it (a submitter): their own
    pages are theirs alone, and never wait for these."""
    recent = app.extensions["recent_pages"] = RecentPages()

    def warm(snapshot: Snapshot) -> None:
        for environ in recent.environs():
            with app.request_context({**environ, "wsgi.input": io.BytesIO()}):
                shared_page(snapshot, parse_query(request.args)).prepare()

    return warm


@blueprint.post("/put_unicorn")  # the original SPUCSVi's form target, kept as an alias
@blueprint.post("/sightings")  # registered first: url_for gives this one
def submit():
    form = submitted_form()
    # The view the form was sent from (its filter, sort), to come back to.
    try:
        query = parse_query(request.args, forgiving=True)
    except InvalidQuery:
        query = Query()
    values = {name: form.get(name, "") for name in FIELDS}
    duplicated = [name for name in FIELDS if len(form.getlist(name)) > 1]
    if duplicated:
        errors = dict.fromkeys(duplicated, "Please send this field only once.")
        return personal_page(query, values=values, field_errors=errors, status=400)
    try:
        sighting = validate_sighting(values["location"], values["brightness"])
    except InvalidSighting as exc:
        return personal_page(query, values=values, field_errors=exc.errors, status=422)
    try:
        recorded = submit_sighting(
            sighting, services.client(), services.store(), services.settings()
        )
    except SpucError as exc:
        response = personal_page(
            query, values=values, submit_error=exc.reason, status=exc.status, fresh=True
        )
        return with_retry_after(response, exc.retry_after)
    # Back to that view, at the form, where the confirmation is.
    back = url_for("pages.index", **query.args(page=None), _anchor=REPORT_ANCHOR)
    sent = redirect(back, code=303)
    confirmation.give(sent, Note(recorded), request)
    return sent


def submitted_form() -> MultiDict:
    """The form's fields. A urlencoded body is decoded here with replacement
    characters, so invalid UTF-8 is refused by name (Werkzeug would keep
    `%FF` as the text "%FF") with the visitor's other values kept."""
    if request.mimetype == "application/x-www-form-urlencoded":
        text = request.get_data(cache=True).decode("utf-8", "replace")
        return MultiDict(parse_qsl(text, keep_blank_values=True, errors="replace"))
    return request.form


def personal_page(
    query: Query | None = None,
    *,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    submit_error: str | None = None,
    query_error: str | None = None,
    note: Note | None = None,
    fresh: bool = False,
    status: int = 200,
) -> Response:
    """The dashboard with this visitor's own state on it, never stored by a cache.

    When SPUC cannot give its records, the page still renders, with the form,
    and the reason in a banner; a GET then answers 503.
    """
    query = query or Query()
    data_error = export_disabled = loading = None
    board = highlight = made = None
    # The visitor's record as SPUC wrote it, or only its count and time when the
    # records cannot be read or no longer hold it.
    recorded: Identity | None = None if note is None else note.identity
    try:
        snapshot = services.store().current(fresh=fresh)
        board = dashboard(snapshot, query)
        made = page_parts(snapshot, query, board)
        found = None if recorded is None else find_recorded(snapshot, recorded)
        if found is not None:
            recorded, highlight = found, your_row(snapshot, query, found)
    except ExportDisabled as exc:
        export_disabled = exc.reason
    except StillLoading as exc:
        loading = exc.reason
        status = exc.status if status == 200 else status
    except SpucError as exc:
        data_error = exc.reason
        if status == 200:
            status = exc.status
    html = page_html(
        query,
        board,
        values=values or dict.fromkeys(FIELDS, ""),
        field_errors=field_errors or {},
        submit_error=submit_error,
        query_error=query_error,
        data_error=data_error,
        loading=loading,
        export_disabled=export_disabled,
        confirmed=note is not None,
        recorded=recorded,
        highlight=highlight,
        reporting_as=request.remote_user,
        parts=made,
        stale=services.store().stale(),
    )
    response = Response(html)
    response.mimetype = "text/html"
    response.status_code = status
    response.cache_control.no_store = True
    return response


def your_row(snapshot: Snapshot, query: Query, recorded: Recorded) -> dict:
    """Where the visitor's own sighting is: its row, its page in this table, and
    its point in the brightness chart, to ring it there."""
    place = position(ordered_rows(snapshot, query), recorded.row)
    page = None if place is None else place // query.table.per_page + 1
    value = snapshot.columns.brightness(recorded.row)
    point = (
        None
        if value is None
        else {
            "x": str(recorded.time_utc),
            "y": value,
            "units": shown_unit(snapshot.columns.unit(recorded.row)),  # charts.unit_axes
        }
    )
    return {"row": recorded.row, "page": page, "point": point}


def page_html(query: Query, board: Dashboard | None, **context) -> str:
    context.setdefault("values", dict.fromkeys(FIELDS, ""))
    context.setdefault("field_errors", {})
    return render_template(
        "index.html",
        query=query,
        board=board,
        max_location_length=MAX_LOCATION_LENGTH,
        range_presets=RANGE_PRESETS,
        **context,
    )
