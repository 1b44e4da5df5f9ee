"""A forged confirmation note is deleted by every answer of a real server, those the
WSGI guards make before Flask's hooks run included (issue 20, finding 8)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests

from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.web.confirmation import COOKIE
from tests.support.servers import ServerProcess, gunicorn, running

FORGED = base64.urlsafe_b64encode(json.dumps({"location": "Your account is locked"}).encode())
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"}
TOO_LARGE = b"location=" + b"x" * 40_000 + b"&brightness=1"  # over the app's 16 KB


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("note")
    with EmulatorServer(workdir / "spuc.txt") as spuc:
        # This address is a trusted proxy: its X-Forwarded-Prefix is the path prefix.
        server = gunicorn(workdir, spuc.url, workers=1, env={"FORWARDED_ALLOW_IPS": "127.0.0.1"})
        with running(server):
            yield server


def chunks(body: bytes) -> Iterator[bytes]:
    """A body sent chunked, without Content-Length."""
    yield body


@pytest.mark.parametrize(
    ("method", "path", "extra", "status"),
    [
        ("GET", "/", {}, 200),
        # The guards' answers (web/guards.py).
        ("GET", "/", {"headers": {"X-Forwarded-Prefix": "//evil.example"}}, 400),
        ("GET", "/healthz", {"headers": {"X-Forwarded-Prefix": "/a b"}}, 400),
        ("POST", "/sightings", {"data": TOO_LARGE, "headers": FORM}, 413),
        ("POST", "/sightings", {"data": chunks(TOO_LARGE), "headers": FORM}, 413),
        # Flask's own.
        ("GET", "/nowhere", {}, 404),
        ("DELETE", "/", {}, 405),
        ("GET", "/?page=0", {}, 400),
    ],
)
def test_every_answer_deletes_a_forged_note(served, method, path, extra, status):
    headers = {"Cookie": f"{COOKIE}={FORGED.decode()}", **extra.pop("headers", {})}
    with requests.request(
        method, served.url + path, headers=headers, timeout=10, **extra
    ) as answer:
        assert answer.status_code == status
        deleting = [c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith(COOKIE)]
        assert len(deleting) == 1 and "Max-Age=0" in deleting[0], deleting
        assert "Path=/;" in deleting[0] or deleting[0].endswith("Path=/")
        kept_by = answer.headers.get("Cache-Control", "")
        assert ("private" in kept_by or "no-store" in kept_by) and "public" not in kept_by


def test_a_trusted_prefix_deletes_the_note_where_it_was_given(served):
    headers = {"Cookie": f"{COOKIE}={FORGED.decode()}", "X-Forwarded-Prefix": "/spucsvi"}
    with requests.get(f"{served.url}/nowhere", headers=headers, timeout=10) as answer:
        assert answer.status_code == 404
        assert "Path=/spucsvi" in answer.headers["Set-Cookie"]
