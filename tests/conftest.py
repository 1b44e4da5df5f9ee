"""Shared fixtures: a SPUC emulator over real HTTP on 127.0.0.1 and the app on it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from spucsvi import create_app
from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.spuc.records import Sighting, parse_line

IN_CI = os.environ.get("CI") == "true"

HEADER = "count,time,location,brightness,units\n"

# SPUC's file as SPUC writes it: unquoted, a location with a comma and quotes, junk
# brightness, both units, and a location with a newline that broke its record in two.
DATA = (
    HEADER
    + '1,2026-11-27 18:02:00.027188,moon, "big" crater,100,iulu\n'
    + "2,2026-11-27 18:02:02,venus,7,iulu\n"
    + "3,2026-11-27 23:59:59.999999,venus,12.5,iuhc\n"
    + "4,2026-11-28 00:00:00,mars,junk,iuhc\n"
    + "5,2026-11-28 09:15:30.500000,mars,3,iuhc\n"
    + "6,2026-11-28 10:00:00,north\n"
    + "pole,4,iuhc\n"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a missing piece: count it as a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run everything: {report.longrepr}"


@pytest.fixture
def spuc(tmp_path):
    """A fresh SPUC emulator with export enabled and no sightings."""
    with EmulatorServer(tmp_path / "spuc" / "unicorn_sightings.txt") as server:
        yield server


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


@contextmanager
def seeding(folder: Path) -> Iterator[Callable[..., tuple]]:
    """Start SPUC on a data file written beforehand, so its count continues from it.

    Yields a function: start(text) -> (test client, emulator).
    """
    servers: list[EmulatorServer] = []

    def start(text: str, **emulator):
        data_file = folder / "seeded" / "unicorn_sightings.txt"
        data_file.parent.mkdir(parents=True, exist_ok=True)
        data_file.write_bytes(text.encode())
        server = EmulatorServer(data_file, **emulator).start()
        servers.append(server)
        return make_app(server.url, folder).test_client(), server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def seeded(tmp_path):
    """seeded(text) -> (test client, emulator), for a test that changes what SPUC holds."""
    with seeding(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def seeded_for_module(tmp_path_factory):
    """The same, shared by a module's tests that only read."""
    with seeding(tmp_path_factory.mktemp("seeded")) as start:
        yield start


@pytest.fixture
def app(spuc, tmp_path):
    return make_app(spuc.url, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


def post_sighting(client, location: str, brightness: str, path: str = "/sightings", **kw):
    """The form as a browser on this site sends it."""
    headers = {"Sec-Fetch-Site": "same-origin", **kw.pop("headers", {})}
    data = {"location": location, "brightness": brightness}
    return client.post(path, data=data, headers=headers, **kw)


def export_text(spuc) -> str:
    """SPUC's export as the emulator holds it, read over HTTP."""
    import requests

    with requests.get(f"{spuc.url}/export", timeout=5) as response:
        return response.text


def sighting(
    count: int, time: str, location: str = "venus", brightness: str = "7", units: str = "iuhc"
) -> Sighting:
    """A sighting exactly as the parser reads SPUC's line for it."""
    parsed = parse_line(f"{count},{time},{location},{brightness},{units}")
    assert parsed is not None
    return parsed


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def every_sighting(snapshot) -> list[Sighting]:
    """Every record of a snapshot, as objects."""
    return [snapshot.sighting(row) for row in range(len(snapshot))]


def snapshot_of(sightings, skipped: int = 0):
    """A snapshot of exactly these sightings, as the store would publish it."""
    from spucsvi.data.columns import Columns
    from spucsvi.data.store import Snapshot

    columns = Columns()
    columns.extend(sightings)
    return Snapshot(columns, len(columns), skipped, 1)
