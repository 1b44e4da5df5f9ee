"""One way per policy: every JSON answer writes a time the same way, and every
JSON error has the same shape, with Retry-After where it says when to retry."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.support.apps import make_app, post_sighting
from tests.support.fakes import FakeSpuc, http_response
from tests.support.records import DATA

UTC_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z")


def test_a_sightings_time_is_written_one_way_in_every_json_answer(seeded):
    client, _ = seeded(DATA)
    latest = client.get("/api/summary").get_json()["latest"]
    listed = client.get("/api/sightings?per_page=1").get_json()["sightings"][0]
    downloaded = client.get("/sightings.json?sort=time").get_json()["sightings"][-1]
    recorded = client.post("/api/sightings", json={"location": "venus", "brightness": 2})
    new = recorded.get_json()["sighting"]
    after = client.get("/api/summary").get_json()
    times = [latest["time"], listed["time"], downloaded["time"]]
    assert times == ["2026-11-28T09:15:30.500000Z"] * 3
    assert after["latest"]["time"] == new["time"]
    assert client.get("/api/sightings?per_page=1").get_json()["sightings"][0]["time"] == new["time"]
    brightest = [unit["brightest"]["time"] for unit in after["per_unit"] if unit["brightest"]]
    for time in [*times, new["time"], *brightest]:
        assert UTC_Z.fullmatch(time), time
        assert datetime.fromisoformat(time).tzinfo == UTC


def _busy_spuc(request, connection):
    connection.sendall(http_response(503, b"busy"))


def assert_one_shape(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert body["status"] == status
    header = response.headers.get("Retry-After")
    assert body.get("retry_after") == (None if header is None else int(header))
    return body


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/api/sightings?order=sideways", {}, 400),
        ("get", "/api/nothing-here", {}, 404),
        ("delete", "/api/sightings", {}, 405),
        ("post", "/api/sightings", {"data": b"x" * 20_000}, 413),
        ("post", "/api/sightings", {"data": b"location=x"}, 415),
        ("post", "/api/sightings", {"json": {"location": "", "brightness": 1}}, 422),
    ],
)
def test_every_json_error_has_one_shape(client, method, path, kwargs, status):
    assert_one_shape(getattr(client, method)(path, **kwargs), status)


def test_a_refusal_from_spuc_and_the_submission_limit_have_the_same_shape(tmp_path):
    with FakeSpuc(_busy_spuc) as fake:
        app = make_app(fake.url, tmp_path, SPUCSVI_SUBMIT_RATE="1/minute")
        client = app.test_client()
        body = assert_one_shape(client.get("/api/sightings"), 502)
        assert body["failure"] == "SpucServerError"
        sighting = {"location": "venus", "brightness": 1}
        assert_one_shape(client.post("/api/sightings", json=sighting), 502)
        limited = assert_one_shape(client.post("/api/sightings", json=sighting), 429)
        assert limited["retry_after"] >= 1
        # The form's answer is the page, with the same Retry-After.
        page = post_sighting(client, "venus", "1")
        assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
