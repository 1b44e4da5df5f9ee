"""The HTML pages: the dashboard and the sighting form on it."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf

from spucsvi.data.charts import unit_name
from spucsvi.data.derived import Dashboard, dashboard
from spucsvi.data.query import InvalidQuery, Query, parse_query
from spucsvi.data.store import Snapshot
from spucsvi.shared_page import TOKEN_SLOT, SharedPage
from spucsvi.spuc.client import ExportDisabled, SpucError
from spucsvi.web import services
from spucsvi.web.submission import submit_sighting
from spucsvi.web.validation import InvalidSighting, validate_sighting

blueprint = Blueprint("pages", __name__)
blueprint.add_app_template_filter(unit_name, "unit_name")

FIELDS = ("location", "brightness")


@blueprint.get("/")
def index():
    try:
        query = parse_query(request.args)
    except InvalidQuery as exc:
        return render_dashboard(query_error=str(exc), status=400)
    just_submitted = session.pop("just_submitted", None)
    if just_submitted:
        # The redirect may land on another worker, whose snapshot predates the sighting.
        services.store().invalidate()
        return render_dashboard(query, highlight=just_submitted)
    if session.get("_flashes"):
        return render_dashboard(query)
    try:
        snapshot = services.store().current()
    except SpucError:
        return render_dashboard(query)
    page, token = shared_page(snapshot, query), generate_csrf()
    if "gzip" in request.accept_encodings:
        response = Response(page.gzip(token), mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(page.plain(token), mimetype="text/html")
    response.vary.add("Accept-Encoding")
    return response


def shared_page(snapshot: Snapshot, query: Query) -> SharedPage:
    """The page as every visitor sees it for this data version and URL, built once.

    Only the form's CSRF token differs between visitors: the cached page holds
    a slot for it. Pages with a visitor's own state (a flash message, their
    highlighted sighting, form errors) are rendered for them alone.
    """

    def build() -> SharedPage:
        board = dashboard(snapshot, query, services.view_cache())
        return SharedPage.of(page_html(query, board, TOKEN_SLOT))

    return services.view_cache().get(snapshot.version, ("page", query), build)


@blueprint.post("/put_unicorn")  # the original SPUCSVi's form target, kept as an alias
@blueprint.post("/sightings")  # registered first: url_for gives this one
def submit():
    values = submitted_values()
    duplicated = [name for name in FIELDS if len(request.form.getlist(name)) > 1]
    if duplicated:
        errors = dict.fromkeys(duplicated, "Please send this field only once.")
        return render_dashboard(values=values, field_errors=errors, status=400)
    try:
        sighting = validate_sighting(values["location"], values["brightness"])
    except InvalidSighting as exc:
        return render_dashboard(values=values, field_errors=exc.errors, status=422)
    try:
        submit_sighting(sighting, services.client(), services.store(), services.settings())
    except SpucError as exc:
        return render_dashboard(values=values, submit_error=exc.reason, status=exc.status)
    flash("Unicorn sighting recorded!", "success")
    session["just_submitted"] = [sighting.location, sighting.brightness]
    return redirect(url_for("pages.index"), code=303)


def submitted_values() -> dict[str, str]:
    """What the visitor typed into the form, to give back on any failure."""
    return {name: request.form.get(name, "") for name in FIELDS}


def render_dashboard(
    query: Query | None = None,
    *,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    submit_error: str | None = None,
    form_message: str | None = None,
    query_error: str | None = None,
    highlight: list[str] | None = None,
    status: int = 200,
):
    """The dashboard with the form as the visitor left it.

    When SPUC cannot give its records, the page still renders, with the form,
    and the reason in a banner; a GET then answers 503.
    """
    query = query or Query()
    data_error = export_disabled = None
    board = None
    try:
        board = dashboard(services.store().current(), query, services.view_cache())
    except ExportDisabled as exc:
        export_disabled = exc.reason
    except SpucError as exc:
        data_error = exc.reason
        if status == 200:
            status = exc.status
    html = page_html(
        query,
        board,
        generate_csrf(),
        values=values or dict.fromkeys(FIELDS, ""),
        field_errors=field_errors or {},
        submit_error=submit_error,
        form_message=form_message,
        query_error=query_error,
        data_error=data_error,
        export_disabled=export_disabled,
        highlight_count=highlighted_count(board, highlight),
    )
    return html, status


def page_html(query: Query, board: Dashboard | None, form_token: str, **context) -> str:
    context.setdefault("values", dict.fromkeys(FIELDS, ""))
    context.setdefault("field_errors", {})
    return render_template(
        "index.html",
        query=query,
        board=board,
        form_token=form_token,
        spuc_url=services.settings().spuc_url,
        **context,
    )


def highlighted_count(board: Dashboard | None, highlight: list[str] | None) -> int | None:
    """The count of the newest sighting matching what this visitor just submitted."""
    if board is None or not highlight:
        return None
    location, brightness = highlight
    for s in board.table.rows if board.table.page == 1 else ():
        if s.location == location and s.raw_brightness == brightness:
            return s.count
    return None
