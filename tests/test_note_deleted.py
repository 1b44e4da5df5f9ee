"""A forged confirmation note is deleted by every answer of a real server, those the
WSGI guards make before Flask's hooks run included (issue 20, finding 8)."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator

import pytest
import requests

from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.web.confirmation import COOKIE
from tests.support.servers import ServerProcess, gunicorn, running, spucsvi_serve

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


# `spucsvi serve`'s worker refuses these before the app sees them (server/worker.py).
OVER_THE_WORKER = b"location=" + b"x" * 100_000  # over its 64 KB
OURS = base64.urlsafe_b64encode(b"{}").decode()  # a note SPUCSVi writes: nothing to show


@pytest.fixture(scope="module")
def serve(tmp_path_factory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("note-serve")
    with EmulatorServer(workdir / "spuc.txt") as spuc:
        server = spucsvi_serve(
            workdir, spuc.url, workers=1, threads=2, env={"FORWARDED_ALLOW_IPS": "127.0.0.1"}
        )
        with running(server):
            yield server


def refused(serve: ServerProcess, head: dict[str, str], body: bytes) -> requests.Response:
    with requests.post(
        f"{serve.url}/sightings", data=body, headers={**FORM, **head}, timeout=10
    ) as answer:
        return answer


@pytest.mark.parametrize(
    ("head", "path"),
    [
        ({}, "/"),
        ({"X-Forwarded-Prefix": "/spucsvi"}, "/spucsvi"),  # from a trusted proxy
        ({"X-Forwarded-Prefix": "//evil.example"}, "/"),  # not a plain path
    ],
)
def test_the_workers_refusal_deletes_a_forged_note(serve, head, path):
    answer = refused(serve, {"Cookie": f"{COOKIE}={FORGED.decode()}", **head}, OVER_THE_WORKER)
    assert answer.status_code == 413
    assert "too large" in answer.text  # the worker's words, not the app's
    deleting = answer.raw.headers.getlist("Set-Cookie")
    assert len(deleting) == 1 and deleting[0].startswith(f"{COOKIE}="), deleting
    assert "Max-Age=0" in deleting[0] and f"Path={path}" in deleting[0].split("; ")
    assert "public" not in answer.headers.get("Cache-Control", "public-by-default")


@pytest.mark.parametrize("cookie", [None, f"{COOKIE}={OURS}", "other=1"])
def test_the_workers_refusal_keeps_what_is_not_a_forged_note(serve, cookie):
    """No note, or one of ours the app has not shown yet: nothing deleted."""
    answer = refused(serve, {"Cookie": cookie} if cookie else {}, OVER_THE_WORKER)
    assert answer.status_code == 413
    assert "Set-Cookie" not in answer.headers


def raw_answer(serve: ServerProcess, sent: bytes) -> bytes:
    """What the server answers to `sent` on a connection of its own, until it closes."""
    host, port = serve.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(sent)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_refused_body_framing_deletes_a_forged_note(serve):
    head = f"POST /sightings HTTP/1.1\r\nHost: x\r\nCookie: {COOKIE}={FORGED.decode()}\r\n"
    answer = raw_answer(serve, f"{head}Transfer-Encoding: chunked\r\n\r\nzz\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert f"Set-Cookie: {COOKIE}=;".encode() in answer


def test_a_body_too_slow_deletes_a_forged_note(serve):
    """408 once the body falls below the worker's rate, after its grace (about 5 s)."""
    head = f"POST /sightings HTTP/1.1\r\nHost: x\r\nCookie: {COOKIE}={FORGED.decode()}\r\n"
    answer = raw_answer(serve, f"{head}Content-Length: 1000\r\n\r\nx".encode())
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert f"Set-Cookie: {COOKIE}=;".encode() in answer


def test_a_head_never_read_whole_deletes_nothing(serve):
    """431: the head is cut unread, so what it carries is unknown."""
    head = f"GET / HTTP/1.1\r\nCookie: {COOKIE}={FORGED.decode()}\r\nX-Big: "
    answer = raw_answer(serve, head.encode() + b"x" * 70_000)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b"Set-Cookie" not in answer


def test_the_workers_refusal_deletes_the_note_under_script_name(tmp_path):
    with EmulatorServer(tmp_path / "spuc.txt") as spuc:
        server = spucsvi_serve(tmp_path, spuc.url, workers=1, threads=2, prefix="/base")
        with running(server):
            cookie = {"Cookie": f"{COOKIE}={FORGED.decode()}"}
            with requests.post(
                f"{server.url}/base/sightings",
                data=OVER_THE_WORKER,
                headers={**FORM, **cookie},
                timeout=10,
            ) as answer:
                assert answer.status_code == 413
                assert "Path=/base" in answer.headers["Set-Cookie"].split("; ")
