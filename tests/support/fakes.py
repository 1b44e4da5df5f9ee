"""A scriptable fake SPUC over real TCP on 127.0.0.1, for injecting faults.

Each test gives a `respond(request, connection)` function, which writes raw
bytes (or nothing, to hang); the connection stays open until the fake stops.
The fake records every request so tests can assert what SPUC was sent.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


Responder = Callable[[FakeRequest, socket.socket], None]


def http_response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"]
    for name, value in {
        "Content-Length": str(len(body)),
        "Connection": "close",
        **(headers or {}),
    }.items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_response(status: int, text: str) -> bytes:
    return http_response(status, text.encode(), {"Content-Type": "application/json"})


class FakeSpuc:
    def __init__(self, respond: Responder):
        self.respond = respond
        self.requests: list[FakeRequest] = []
        self.release = threading.Event()
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                method, target, _ = head[0].split(" ", 2)
                parts = urlsplit(target)
                headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
                request = FakeRequest(
                    method, parts.path, parse_qs(parts.query, keep_blank_values=True), headers
                )
                fake.requests.append(request)
                fake.respond(request, self.request)
                # Hold the connection open until the fake stops, as a hanging SPUC would.
                fake.release.wait()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSpuc:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def closed_port_url() -> str:
    """A 127.0.0.1 URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
