"""A sighting's write path, against the SPUC emulator over HTTP: what SPUC recorded
is confirmed at its UTC time, highlighted and ringed, whatever SPUC's clock."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import export_text, make_app, post_sighting

COOKIE = "spucsvi-recorded"
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata"]
CONFIRMED_AT = re.compile(r'id="recorded">.*?<time class="when" datetime="([^"]+)Z">', re.S)
RING = re.compile(r'<script type="application/json" id="your-sighting-data">(.*?)</script>')


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture(params=ZONES)
def zoned(request, tmp_path):
    """(test client, emulator): SPUC writing `zone`'s clock, SPUC_TIMEZONE saying so."""
    zone = request.param
    with EmulatorServer(tmp_path / "spuc" / "unicorn_sightings.txt", zone=zone) as spuc:
        yield make_app(spuc.url, tmp_path, SPUC_TIMEZONE=zone).test_client(), spuc


def test_the_emulator_writes_its_zones_clock_without_a_zone(tmp_path):
    with EmulatorServer(tmp_path / "ny.txt", zone="America/New_York") as spuc:
        client = make_app(spuc.url, tmp_path).test_client()
        post_sighting(client, "venus", "1")
        written = export_text(spuc).splitlines()[1].split(",")[1]
    moment = datetime.fromisoformat(written)
    assert moment.tzinfo is None
    # New York is 4 or 5 hours behind UTC.
    assert timedelta(hours=3.9) < utc_now() - moment < timedelta(hours=5.1)


def test_a_form_submission_is_confirmed_highlighted_and_ringed_at_its_utc_time(zoned):
    client, spuc = zoned
    before = utc_now()
    assert post_sighting(client, "moon, crater", "7").status_code == 303
    after = utc_now()
    html = client.get("/").get_data(as_text=True)
    confirmed = datetime.fromisoformat(CONFIRMED_AT.search(html)[1])
    assert before <= confirmed <= after
    assert "#1: moon, crater, brightness 7 iuhc, at" in html
    assert '<tr class="just-added">' in html
    ring = json.loads(RING.search(html)[1])
    assert ring == {"x": str(confirmed), "y": 7}
    # The table shows the same UTC time for the row.
    assert html.count(f'datetime="{confirmed.isoformat()}Z"') >= 2


def test_the_json_api_answers_with_the_utc_time(zoned):
    client, spuc = zoned
    before = utc_now()
    response = client.post("/api/sightings", json={"location": "venus", "brightness": 4})
    after = utc_now()
    assert response.status_code == 201
    sighting = response.get_json()["sighting"]
    assert before <= datetime.fromisoformat(sighting["time"]) <= after
    listed = client.get("/api/sightings").get_json()["sightings"]
    assert [s["time"] for s in listed] == [sighting["time"]]


def note(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()
