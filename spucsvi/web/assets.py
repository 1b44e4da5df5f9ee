"""Static assets under content-addressed URLs, cacheable forever.

Every file in static/ is served as /assets/<digest>/<file>: a new version
changes the URL, so browsers may keep each one for a year. plotly.js is the
basic bundle vendored in static/vendor/plotly.js/ (scatter and bar, a quarter
of the full bundle's size); large files are gzipped once per process.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.security import safe_join

blueprint = Blueprint("assets", __name__)

IMMUTABLE = 365 * 24 * 3600
PLOTLY = "vendor/plotly.js/plotly-basic.min.js"
# Files at least this large are sent gzipped from memory, compressed once.
PRECOMPRESS_FROM = 64 * 1024


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
    return asset_url(PLOTLY)


@blueprint.get("/assets/<version>/<path:filename>")
def static_asset(version: str, filename: str):
    folder = current_app.static_folder
    assert folder is not None  # create_app always gives one
    try:
        current = digest(folder, filename)
    except OSError:
        abort(404)
    if version != current:
        abort(404)
    compressed = gzipped(folder, filename, current)
    if compressed is not None and "gzip" in request.accept_encodings:
        response = Response(compressed, mimetype=_mimetype(filename))
        response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        response.set_etag(f"{current}-gzip")
        response.cache_control.public = True
        response.cache_control.max_age = IMMUTABLE
    else:
        response = send_from_directory(folder, filename, max_age=IMMUTABLE)
        if compressed is not None:
            response.vary.add("Accept-Encoding")
    response.cache_control.immutable = True
    return response.make_conditional(request)


def _mimetype(filename: str) -> str:
    if filename.endswith(".js"):
        return "text/javascript"
    if filename.endswith(".css"):
        return "text/css"
    return "application/octet-stream"


@cache
def gzipped(folder: str, filename: str, version: str) -> bytes | None:
    """A large file gzipped once per process and version; None for small files."""
    path = Path(safe_join(folder, filename) or "")
    if path.stat().st_size < PRECOMPRESS_FROM:
        return None
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
