"""Access to the app's SPUC client, store and settings from a request."""

from __future__ import annotations

from flask import current_app

from spucsvi.data.derived import ViewCache
from spucsvi.data.store import SightingsStore
from spucsvi.settings import Settings
from spucsvi.spuc.client import SpucClient


def client() -> SpucClient:
    return current_app.extensions["spuc_client"]


def store() -> SightingsStore:
    return current_app.extensions["sightings_store"]


def settings() -> Settings:
    return current_app.config["SPUCSVI_SETTINGS"]


def view_cache() -> ViewCache:
    return current_app.extensions["view_cache"]
