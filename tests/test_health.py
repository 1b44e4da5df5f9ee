"""Liveness, readiness and the info endpoint."""

import threading
import time

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import make_app
from tests.support.fakes import FakeSpuc, closed_port_url, http_response
from tests.support.records import HEADER


def test_healthz_does_not_call_spuc(tmp_path):
    client = make_app(closed_port_url(), tmp_path).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_ready_when_spuc_answers_with_export(client, spuc):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "spuc_url": spuc.url, "sightings": 0}


def test_readyz_503_when_spuc_is_down(tmp_path):
    url = closed_port_url()
    response = make_app(url, tmp_path).test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failure"] == "SpucUnreachable"
    assert body["reason"] == f"SPUC could not be reached at {url}. Is it running?"


def test_readyz_503_when_export_is_disabled(tmp_path):
    with EmulatorServer(tmp_path / "s.txt", export_enabled=False) as spuc:
        response = make_app(spuc.url, tmp_path).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failure"] == "ExportDisabled"
    assert "EXPORT=true" in response.get_json()["reason"]


def test_info_names_version_and_spuc_url_without_secrets(client, spuc):
    body = client.get("/-/info").get_json()
    assert body["name"] == "SPUCSVi"
    assert body["spuc_url"] == spuc.url
    assert body["version"]
    assert "test-secret" not in str(body)


def test_unknown_api_path_answers_json(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no page at this address.", "status": 404}


def test_readyz_asks_spuc_now_not_a_copy_from_before_an_outage(tmp_path):
    """Within the freshness window the page may answer from its copy; readiness may not."""
    spuc = EmulatorServer(tmp_path / "s.txt").start()
    client = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="60").test_client()
    assert client.get("/readyz").status_code == 200
    spuc.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failure"] == "SpucUnreachable"


def test_readyz_says_not_ready_when_spuc_hangs_after_a_copy(tmp_path, monkeypatch):
    """A copy answers the pages; readiness waits for SPUC a few seconds at most."""
    from spucsvi.data import store as store_module

    monkeypatch.setattr(store_module, "FIRST_LOAD_WAIT", 0.5)
    monkeypatch.setattr(store_module, "OVERDUE_CHECK", 0.2)
    hang = threading.Event()

    def respond(request, connection):
        if not hang.is_set():
            body = (HEADER + "1,2026-11-27 18:02:01.000001,venus,5,iuhc\n").encode()
            connection.sendall(http_response(200, body, {"Content-Type": "text/plain"}))

    with FakeSpuc(respond) as fake:
        app = make_app(fake.url, tmp_path, SPUCSVI_FRESHNESS="60", SPUC_READ_TIMEOUT="5")
        client = app.test_client()
        assert client.get("/readyz").get_json()["sightings"] == 1
        hang.set()
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < 2
        assert response.status_code == 503
        assert response.get_json()["failure"] == "SpucTimeout"
        assert client.get("/healthz").status_code == 200
        app.extensions["spuc_client"].close()
