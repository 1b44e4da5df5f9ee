"""Liveness, readiness and what is running, for operators and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify

from spucsvi import __version__
from spucsvi.spuc.client import SpucError
from spucsvi.web import services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """Alive: touches neither SPUC nor the store, so a SPUC outage or a slow
    export never delays it nor restarts us."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready only when SPUC answers now and its export is enabled: asked at
    once (waiting for it a few seconds at most), not answered from a copy that
    may predate an outage."""
    spuc_url = services.client().shown_url
    store = services.store()
    try:
        snapshot = store.current(fresh=True)
        stale = store.stale()
        if stale is not None:
            raise stale.error
    except SpucError as exc:
        return jsonify(
            status="unavailable", spuc_url=spuc_url, reason=exc.reason, failure=type(exc).__name__
        ), 503
    return jsonify(status="ready", spuc_url=spuc_url, sightings=len(snapshot))


@blueprint.get("/-/info")
def info():
    settings = services.settings()
    return jsonify(
        name="SPUCSVi",
        version=__version__,
        spuc_url=services.client().shown_url,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
