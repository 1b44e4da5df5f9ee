"""A body refused as too large does not break the connection it came on.

Over one kept-alive socket: a form post larger than the app's limit is
answered 413, and then either the next request on that socket is answered,
or the 413 said `Connection: close`. Under plain gunicorn (sync and gthread
workers, as a user types it) and under `spucsvi serve` (the project's worker).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.servers import ServerProcess, gunicorn, running, spucsvi_serve

pytestmark = pytest.mark.slow

# Above the app's limit (16 KB); below and above the project's worker's (64 KB),
# and above the 64 KB that gunicorn reads of a body nobody read.
SIZES = (40_000, 100_000, 500_000)


@pytest.fixture(scope="module", params=["sync", "gthread", "spucsvi serve"])
def server(request, tmp_path_factory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("refused")
    with EmulatorServer(workdir / "spuc" / "unicorn_sightings.txt") as spuc:
        if request.param == "spucsvi serve":
            served = spucsvi_serve(workdir, spuc.url, workers=1, threads=2)
        else:
            threads = 1 if request.param == "sync" else 2
            served = gunicorn(workdir, spuc.url, workers=1, threads=threads)
        with running(served):
            yield served


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer with a Content-Length: status, headers (lower-case), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without a (whole) answer: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed half-way through an answer")
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


def form_post(size: int, chunked: bool) -> bytes:
    body = b"location=" + b"x" * (size - 20) + b"&brightness=3"
    head = "POST /sightings HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: same-origin\r\n"
    head += "Content-Type: application/x-www-form-urlencoded\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        pieces = [body[i : i + 8192] for i in range(0, len(body), 8192)]
        return (
            head.encode() + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        )
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
@pytest.mark.parametrize("size", SIZES)
def test_after_a_413_the_connection_serves_the_next_request_or_was_closed(server, size, chunked):
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        # Sent from a thread: a server that answers before reading may never take it all.
        sender = threading.Thread(target=_send_quietly, args=(sock, form_post(size, chunked)))
        sender.start()
        status, headers, _ = read_answer(sock)
        sender.join(10)
        assert status == 413
        if headers.get("connection", "").lower() == "close":
            return
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, body = read_answer(sock)
        assert status == 200, body[:200]
