"""SPUCSVi, the SPUC Super Visualiser: register and see unicorn sightings."""

from __future__ import annotations

import logging
import logging.config
import os
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from flask import Flask
from flask_compress import Compress

from spucsvi import settings as settings_module
from spucsvi.data.store import SightingsStore
from spucsvi.spuc.client import SpucClient
from spucsvi.web import pages
from spucsvi.web.json import OrjsonProvider
from spucsvi.web.logs import logging_config

try:
    __version__ = version("spucsvi")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """`templates/` or `static/`: inside the package when installed from a wheel,
    at the top of the repository when run from a source checkout."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. `config` overrides the environment variables of the same
    name (SPUC_URL, SPUCSVI_FRESHNESS, ...) and any Flask setting (TESTING, ...).

    Everything the app needs is made here or lazily per process: no server
    hook, secret or configuration file is required, however it is served.
    """
    config = dict(config or {})
    settings = load_settings(config)
    configure_logging()
    app = Flask(
        __name__,
        template_folder=str(asset_dir("templates")),
        static_folder=str(asset_dir("static")),
    )
    configure_app(app, settings, config)
    register_extensions(app)
    register_blueprints(app)
    register_spuc(app, settings)
    register_error_handlers(app)
    register_request_hooks(app)
    log.info("SPUCSVi %s using SPUC at %s", __version__, app.extensions["spuc_client"].shown_url)
    return app


def configure_logging() -> None:
    """Key=value logs with request ids, unless the host program set up logging."""
    if not logging.getLogger().handlers and not log.handlers:
        logging.config.dictConfig(logging_config())


def load_settings(config: Mapping[str, Any]) -> settings_module.Settings:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in config.items() if k in settings_module.ENV_NAMES})
    return settings_module.from_env(env)


def configure_app(app: Flask, settings: settings_module.Settings, config: Mapping) -> None:
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
        SPUCSVI_SETTINGS=settings,
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "text/csv",
            "text/javascript",
            "application/json",
            "image/svg+xml",
        ],
    )
    app.config.update({k: v for k, v in config.items() if k not in settings_module.ENV_NAMES})


class NegotiatedCompress(Compress):
    """Flask-Compress for every response that did not choose its encoding itself.

    A shared body (web/shared_body.py) already did, honouring q-values: left to
    Flask-Compress 1.25, `Accept-Encoding: gzip;q=0` got gzip all the same, as it
    picks from the highest q-value listed even when that is 0.
    """

    def after_request(self, response):
        if getattr(response, "encoding_negotiated", False):
            return response
        return super().after_request(response)


def register_extensions(app: Flask) -> None:
    app.json = OrjsonProvider(app)
    NegotiatedCompress(app)


def register_spuc(app: Flask, settings: settings_module.Settings) -> None:
    client = SpucClient(
        settings.spuc_url,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    app.extensions["spuc_client"] = client
    app.extensions["sightings_store"] = SightingsStore(
        client,
        freshness_seconds=settings.freshness_seconds,
        prepare=pages.prerender(app),
        zone=settings.spuc_timezone,
    )


def register_blueprints(app: Flask) -> None:
    from spucsvi.web import api, assets, health, pages

    for module in (assets, pages, api, health):
        app.register_blueprint(module.blueprint)


def register_error_handlers(app: Flask) -> None:
    from spucsvi.web import errors

    errors.register(app)


def register_request_hooks(app: Flask) -> None:
    from spucsvi.web import logs, security

    app.before_request(logs.assign_request_id)
    app.before_request(security.refuse_cross_origin)
    app.after_request(logs.add_request_id_header)
    app.after_request(security.add_security_headers)
