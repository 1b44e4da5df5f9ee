"""Static assets under content-addressed URLs, cacheable forever.

Our own CSS and JS are served as /assets/<digest>/<file>, and plotly.js
straight from the installed `plotly` package as /assets/plotly-<version>.min.js:
a new release changes the URL, so browsers may keep each one for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import re
from functools import cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from werkzeug.security import safe_join

blueprint = Blueprint("assets", __name__)

IMMUTABLE = 365 * 24 * 3600


def _plotly_js() -> Path:
    """plotly.min.js inside the installed `plotly` package, found without importing it.

    The container image keeps only this file of the package (its Python
    modules are never used), so nothing here may import `plotly`.
    """
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the plotly package (which carries plotly.min.js) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def _plotly_js_version(path: Path) -> str:
    """The version in the bundle's banner comment: `* plotly.js v4.1.1`."""
    with path.open("rb") as f:
        match = re.search(rb"plotly\.js v(\d+\.\d+\.\d+\S*)", f.read(512))
    if not match:
        raise ImportError(f"no plotly.js version in the banner of {path}")
    return match.group(1).decode()


PLOTLY_PATH = _plotly_js()
PLOTLY_VERSION = _plotly_js_version(PLOTLY_PATH)


@cache
def digest(static_folder: str, filename: str) -> str:
    """First 12 hex digits of the file's SHA-256; OSError when it is missing."""
    path = safe_join(static_folder, filename)
    if path is None:
        raise FileNotFoundError(filename)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


@blueprint.app_template_global()
def asset_url(filename: str) -> str:
    """The versioned URL of a file in static/."""
    return url_for(
        "assets.static_asset",
        version=digest(current_app.static_folder, filename),
        filename=filename,
    )


@blueprint.app_template_global()
def plotly_url() -> str:
    return url_for("assets.plotly_js", version=PLOTLY_VERSION)


@blueprint.get("/assets/<version>/<path:filename>")
def static_asset(version: str, filename: str):
    folder = current_app.static_folder
    try:
        current = digest(folder, filename)
    except OSError:
        abort(404)
    if version != current:
        abort(404)
    response = send_from_directory(folder, filename, max_age=IMMUTABLE)
    response.cache_control.immutable = True
    return response


@cache
def plotly_gzip() -> bytes:
    """plotly.js (4.8 MB) compressed once per process rather than once per request."""
    return gzip.compress(PLOTLY_PATH.read_bytes(), compresslevel=9, mtime=0)


@blueprint.get("/assets/plotly-<version>.min.js")
def plotly_js(version: str):
    if version != PLOTLY_VERSION:
        abort(404)
    if "gzip" in request.accept_encodings:
        response = Response(plotly_gzip(), mimetype="text/javascript")
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        response.set_etag(f"plotly-{PLOTLY_VERSION}-gzip")
        response.cache_control.public = True
        response.cache_control.max_age = IMMUTABLE
    else:
        response = send_file(str(PLOTLY_PATH), mimetype="text/javascript", max_age=IMMUTABLE)
    response.cache_control.immutable = True
    return response.make_conditional(request)
