"""Static assets under content-addressed URLs, cacheable forever.

Every file in static/ is served as /assets/<digest>/<file>: a new version
changes the URL, so browsers may keep each one for a year. The digest covers
the file's top folder (js/, css/, vendor/), so that modules' relative imports
stay versioned while plotly.js keeps its URL when the page's script changes.
plotly.js is the basic bundle vendored in static/vendor/plotly.js/ (scatter
and bar, a quarter of the full bundle's size); large files are gzipped once
per process.
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
    """The version of a file: that of its top folder in static/, or its own when
    it lies at the top; OSError when it is missing. The ES modules in js/ import
    each other by relative URL ("./charts.js"), which resolves to a served,
    current URL only if every file in that folder shares one version."""
    path = safe_join(static_folder, filename)
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(filename)
    top = Path(static_folder, filename.split("/", 1)[0])
    return _tree_digest(str(top))


@cache
def _tree_digest(top: str) -> str:
    """First 12 hex digits of the SHA-256 of every file under `top`, by path and content."""
    root = Path(top)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.relative_to(root).as_posix().encode() + b"\0")
        sha.update(file.read_bytes())
    return sha.hexdigest()[:12]


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
