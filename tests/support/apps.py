"""The app as the tests make it, and the form as a browser on this site sends it."""

from __future__ import annotations

import requests

from spucsvi import create_app


def make_app(spuc_url: str, tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SPUC_URL": spuc_url,
        "SPUCSVI_FRESHNESS": "0",
        "SPUCSVI_SUBMIT_LOCK": str(tmp_path / "submit.lock"),
        "SPUC_CONNECT_TIMEOUT": "1",
        "SPUC_READ_TIMEOUT": "1",
        # Tests submit many sightings from 127.0.0.1; test_hostile.py tests the limit.
        "SPUCSVI_SUBMIT_RATE": "off",
    }
    config.update(overrides)
    return create_app(config)


def post_sighting(client, location: str, brightness: str, path: str = "/sightings", **kw):
    """The form as a browser on this site sends it."""
    headers = {"Sec-Fetch-Site": "same-origin", **kw.pop("headers", {})}
    data = {"location": location, "brightness": brightness}
    return client.post(path, data=data, headers=headers, **kw)


def export_text(spuc) -> str:
    """SPUC's export as the emulator holds it, read over HTTP."""
    with requests.get(f"{spuc.url}/export", timeout=5) as response:
        return response.text
