"""Static assets under content-addressed URLs, cacheable forever.

Every file in static/ is served as /assets/<digest>/<file>: a new version
changes the URL, so browsers may keep each one for a year. A file's version
covers its top folder (js/, css/, vendor/): the ES modules in js/ import each
other by relative URL ("./charts.js"), which resolves to a served, current URL
only if every file in that folder shares one version, while plotly.js keeps
its URL when the page's script changes. plotly.js is the basic bundle vendored
in static/vendor/plotly.js/ (scatter and bar, a quarter of the full bundle's
size).

The files are read once per process into a table (path to bytes, version and
each encoding, made once), and only a path exactly as the table spells it is
served: `x/../file`, `./file` or `a//file` is a 404, so nothing a request
spells is ever read, hashed or kept.
"""

from __future__ import annotations

import hashlib
import mimetypes
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

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


class Asset(NamedTuple):
    body: SharedBody
    version: str  # in its URL: its top folder's


@cache
def table(folder: str) -> dict[str, Asset]:
    """Every file under `folder` (static/) by its path there, read once per process."""
    root = Path(folder)
    bodies = {
        path.relative_to(root).as_posix(): SharedBody(
            path.read_bytes(), _mimetype(path), immutable=True
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    folders: dict[str, Any] = {}
    for name, body in bodies.items():  # sorted by path
        folder_hash = folders.setdefault(_top(name), hashlib.sha256())
        folder_hash.update(f"{name}\0{body.etag}\0".encode())
    versions = {top: sha.hexdigest()[:DIGEST_LENGTH] for top, sha in folders.items()}
    return {name: Asset(body, versions[_top(name)]) for name, body in bodies.items()}


def _top(name: str) -> str:
    return name.split("/", 1)[0]


@blueprint.record_once
def _build_at_start(state: BlueprintSetupState) -> None:
    table(state.app.config["SPUCSVI_STATIC"])


def _assets() -> dict[str, Asset]:
    return table(current_app.config["SPUCSVI_STATIC"])


@blueprint.app_template_global()
def asset_url(filename: str) -> str:
    """The versioned URL of a file in static/; KeyError names a file that is not there."""
    return url_for("assets.static_asset", version=_assets()[filename].version, filename=filename)


@blueprint.app_template_global()
def plotly_url() -> str:
    return asset_url(PLOTLY)


@blueprint.get("/assets/<version>/<path:filename>")
def static_asset(version: str, filename: str):
    asset = _assets().get(filename)
    if asset is None or version != asset.version:
        abort(404)
    return asset.body.response(request)


def _mimetype(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return MIMETYPES.get(path.suffix, guessed or "application/octet-stream")
