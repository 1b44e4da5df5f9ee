"""The app's SPUC client, store and settings, from inside a request."""

from __future__ import annotations

from flask import current_app

from spucsvi.data.store import SightingsStore
from spucsvi.settings import Settings
from spucsvi.spuc.client import SpucClient


def client() -> SpucClient:
    return current_app.extensions["spuc_client"]


def store() -> SightingsStore:
    return current_app.extensions["sightings_store"]


def settings() -> Settings:
    return current_app.config["SPUCSVI_SETTINGS"]
