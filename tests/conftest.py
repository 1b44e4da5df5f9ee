"""Shared fixtures: a SPUC emulator over real HTTP on 127.0.0.1 and the app on it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import make_app

IN_CI = os.environ.get("CI") == "true"

# Property tests that do not set their own count (the fuzzing over HTTP): the full
# count in CI, a few for the inner loop. HYPOTHESIS_PROFILE=ci runs the full count here.
settings.register_profile("ci", max_examples=150)
settings.register_profile("dev", max_examples=20)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))


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
