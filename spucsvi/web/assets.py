"""Static assets under content-addressed URLs, cacheable forever.

Every file in static/ is served as /assets/<digest>/<file>: a new version
changes the URL, so browsers may keep each one for a year. plotly.js is the
basic bundle vendored in static/vendor/plotly.js/ (scatter and bar, a quarter
of the full bundle's size).

The files are read once per process into a table (path to bytes, digest and
each encoding, made once), and only a path exactly as the table spells it is
served: `x/../file`, `./file` or `a//file` is a 404, so nothing a request
spells is ever read, hashed or kept.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

from flask import Blueprint, abort, current_app, request, url_for
from flask.sansio.blueprints import BlueprintSetupState

from spucsvi.web.shared_body import SharedBody

blueprint = Blueprint("assets", __name__)

PLOTLY = "vendor/plotly.js/plotly-basic.min.js"
DIGEST_LENGTH = 12
# Types that the system's mimetypes table may spell otherwise (or not know).
MIMETYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


@cache
def table(folder: str) -> dict[str, SharedBody]:
    """Every file under `folder` (static/) by its path there, read once per process."""
    root = Path(folder)
    return {
        path.relative_to(root).as_posix(): SharedBody(
            path.read_bytes(), _mimetype(path), immutable=True
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@blueprint.record_once
def _build_at_start(state: BlueprintSetupState) -> None:
    table(state.app.config["SPUCSVI_STATIC"])


def _assets() -> dict[str, SharedBody]:
    return table(current_app.config["SPUCSVI_STATIC"])


def digest(asset: SharedBody) -> str:
    """The URL's version of an asset: the start of its ETag (a SHA-256 of its bytes)."""
    return asset.etag[:DIGEST_LENGTH]


@blueprint.app_template_global()
def asset_url(filename: str) -> str:
    """The versioned URL of a file in static/; KeyError names a file that is not there."""
    asset = _assets()[filename]
    return url_for("assets.static_asset", version=digest(asset), filename=filename)


@blueprint.app_template_global()
def plotly_url() -> str:
    return asset_url(PLOTLY)


@blueprint.get("/assets/<version>/<path:filename>")
def static_asset(version: str, filename: str):
    asset = _assets().get(filename)
    if asset is None or version != digest(asset):
        abort(404)
    return asset.response(request)


def _mimetype(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return MIMETYPES.get(path.suffix, guessed or "application/octet-stream")
