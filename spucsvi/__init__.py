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

from spucsvi import metrics
from spucsvi import settings as settings_module
from spucsvi.data import derived
from spucsvi.data.store import SightingsStore
from spucsvi.spuc.client import SpucClient
from spucsvi.web import pages, shared_body
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
    # static/ is served by web/assets.py only, under versioned URLs: not also
    # by Flask's own /static/ route, unversioned and read for every request.
    app = Flask(__name__, template_folder=str(asset_dir("templates")), static_folder=None)
    configure_app(app, settings, config)
    register_extensions(app)
    register_blueprints(app)
    register_submit_limit(app, settings)
    register_spuc(app, settings)
    register_error_handlers(app)
    register_request_hooks(app)
    metrics.install(app)  # after the other middleware: its timing includes theirs
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
        SPUCSVI_STATIC=str(asset_dir("static")),
    )
    app.config.update({k: v for k, v in config.items() if k not in settings_module.ENV_NAMES})


def register_extensions(app: Flask) -> None:
    app.json = OrjsonProvider(app)
    app.after_request(shared_body.encode_response)


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
        prepare=derived.prepare,
        warm=pages.prerender(app),
        zone=settings.spuc_timezone,
    )


def register_submit_limit(app: Flask, settings: settings_module.Settings) -> None:
    from spucsvi import shared_state
    from spucsvi.web import ratelimit

    try:
        storage = shared_state.backend(settings).limit_storage() if settings.submit_rate else None
    except settings_module.UnsafeFolder as exc:
        raise settings_module.SettingsError(str(exc)) from None
    ratelimit.install(app, settings.submit_rate, storage)


def register_blueprints(app: Flask) -> None:
    from spucsvi.web import api, assets, health, pages

    for module in (assets, pages, api, health):
        app.register_blueprint(module.blueprint)


def register_error_handlers(app: Flask) -> None:
    from spucsvi.web import errors

    errors.register(app)


def register_request_hooks(app: Flask) -> None:
    from spucsvi.web import confirmation, guards, logs, proxy, security

    limit = app.config["MAX_CONTENT_LENGTH"]
    forwarded = app.config["SPUCSVI_SETTINGS"].forwarded_allow_ips
    # Who the client is, before anything reads the environ; around it all, a forged
    # or shown confirmation note deleted by any answer. Flask's way to add WSGI
    # middleware is to replace its wsgi_app method.
    app.wsgi_app = confirmation.ForgetNotes(  # type: ignore[method-assign]
        proxy.TrustedProxies(
            guards.SanePathPrefix(guards.BoundedBody(app.wsgi_app, limit)), forwarded
        )
    )
    app.before_request(logs.assign_request_id)
    app.before_request(guards.refuse_too_large)
    app.before_request(security.refuse_cross_origin)
    app.after_request(logs.add_request_id_header)
    app.after_request(security.add_security_headers)
