"""Access to the app's SPUC client, store and settings from a request."""

from __future__ import annotations

from flask import current_app

from .dashboard import ViewCache
from .settings import Settings
from .spuc_client import SpucClient
from .store import SightingsStore


def client() -> SpucClient:
    return current_app.extensions["spuc_client"]


def store() -> SightingsStore:
    return current_app.extensions["sightings_store"]


def settings() -> Settings:
    return current_app.config["SPUCSVI_SETTINGS"]


def view_cache() -> ViewCache:
    return current_app.extensions["view_cache"]
