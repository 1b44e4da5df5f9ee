"""Slow clients as a hostile visitor runs them, for the tests and benchmarks/slow_clients.py.

Each kind keeps its number of connections open against the server for as
long as the attack lasts, opening a new one whenever the server cuts one:

- slow_header: a request head sent a byte every 2 s (slowloris);
- silent: connects and sends nothing;
- slow_body: a form POST whose 1,000-byte body comes a byte a second;
- slow_reader: asks for a large answer and reads it at 1 KB/s (a 4 KB
  receive window, so the kernel cannot take the answer for it);
- lingerer: asks for /healthz with `Connection: close`, reads the answer and
  keeps its side open for 3 s.

Bounded in connections and time, they stop by themselves when the attack
ends (`with Attack(...)`, or after `seconds`).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

KINDS = ("slow_header", "silent", "slow_body", "slow_reader", "lingerer")


class Attack:
    """`counts` connections of each kind against `url`, for `seconds` at most."""

    def __init__(self, url: str, counts: dict[str, int], *, seconds: float, read_path: str = "/"):
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.read_path = read_path
        self.until = time.monotonic() + seconds
        self.stopping = threading.Event()
        self.opened: Counter[str] = Counter()
        self.cut: Counter[str] = Counter()  # closed by the server while attacking
        self._threads = [
            threading.Thread(target=self._keep, args=(kind,), daemon=True)
            for kind, count in counts.items()
            for _ in range(count)
        ]

    def __enter__(self) -> Attack:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _over(self) -> bool:
        return self.stopping.is_set() or time.monotonic() > self.until

    def _keep(self, kind: str) -> None:
        behave: Callable[[socket.socket], bool] = getattr(self, f"_{kind}")
        while not self._over():
            sock = socket.socket()
            if kind == "slow_reader":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(5)
            try:
                sock.connect(self.address)
                self.opened[kind] += 1
                if behave(sock) and not self._over():
                    self.cut[kind] += 1
            except OSError:
                pass
            finally:
                sock.close()
            time.sleep(0.05)

    def _closed_within(self, sock: socket.socket, seconds: float) -> bool:
        """Waits `seconds` (less if the attack ends); True if the server
        answered or closed meanwhile (either ends this slow request)."""
        deadline = min(time.monotonic() + seconds, self.until)
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([sock], [], [], min(left, 0.2))
            if readable:
                return True
        return False

    def _head(self, method: str, path: str, *extra: str) -> bytes:
        host = f"{self.address[0]}:{self.address[1]}"
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *extra, "", ""]
        return "\r\n".join(lines).encode()

    def _trickle(self, sock: socket.socket, data: bytes, every: float) -> bool:
        """`data` a byte every `every` seconds, while the attack lasts."""
        for byte in data:
            sock.sendall(bytes([byte]))
            if self._closed_within(sock, every):
                return True
            if self._over():
                return False
        return True

    # Each kind returns True when the server ended its request (answered or closed).
    def _slow_header(self, sock: socket.socket) -> bool:
        return self._trickle(sock, self._head("GET", "/healthz", "X-Slow: " + "z" * 200), 2.0)

    def _silent(self, sock: socket.socket) -> bool:
        while not self._over():
            if self._closed_within(sock, 1.0):
                return True
        return False

    def _slow_body(self, sock: socket.socket) -> bool:
        body = ("location=" + "m" * 982 + "&brightness=7").encode()
        sock.sendall(
            self._head(
                "POST",
                "/sightings",
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                "Sec-Fetch-Site: same-origin",
            )
        )
        return self._trickle(sock, body, 1.0)

    def _slow_reader(self, sock: socket.socket) -> bool:
        sock.sendall(self._head("GET", self.read_path))
        while not self._over():
            if self._closed_within(sock, 1.0):  # something to read, or the end
                if not sock.recv(1024):
                    return True
                self.stopping.wait(1.0)
        return False

    def _lingerer(self, sock: socket.socket) -> bool:
        sock.sendall(self._head("GET", "/healthz", "Connection: close"))
        while not self._over():
            if self._closed_within(sock, 1.0) and not sock.recv(65536):
                break  # the whole answer, up to the server's half-close
        self.stopping.wait(max(0.0, min(3.0, self.until - time.monotonic())))
        return False  # it leaves by itself
