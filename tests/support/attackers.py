"""Slow clients as a hostile visitor runs them, for the tests and benchmarks/slow_clients.py.

Each kind keeps its number of connections open against the server for as
long as the attack lasts, opening a new one whenever the server cuts one:

- slow_header: a request head sent a byte every 2 s (slowloris);
- silent: connects and sends nothing;
- slow_body: a form POST whose 1,000-byte body comes a byte a second;
- slow_reader: asks for a large answer and reads it at 1 KB/s (a 4 KB
  receive window, so the kernel cannot take the answer for it);
- steady_reader: the same at 6 KB/s, above the rate a server may cut at;
- lingerer: asks for /healthz with `Connection: close`, reads the answer and
  keeps its side open for 3 s;
- never_closer: the same, but never closes its side, and asks again at once
  on a new connection (its old ones stay open, up to HELD in an attack);
- front_loaded: a POST head and all but the last byte of a 64 KB body, then
  nothing.

Bounded in connections and time, they stop by themselves when the attack
ends (`with Attack(...)`, or after `seconds`). `sources` spreads the
connections over these local addresses (127.0.0.0/8 is all loopback), as
clients from many addresses would come.
"""

from __future__ import annotations

import itertools
import select
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

KINDS = (
    "slow_header",
    "silent",
    "slow_body",
    "slow_reader",
    "steady_reader",
    "lingerer",
    "never_closer",
    "front_loaded",
)
# Connections a never_closer attack keeps open at most (the oldest closed first).
HELD = 2000
FRONT_LOADED_BODY = 64 * 1024


class Attack:
    """`counts` connections of each kind against `url`, for `seconds` at most."""

    def __init__(
        self,
        url: str,
        counts: dict[str, int],
        *,
        seconds: float,
        read_path: str = "/",
        sources: Sequence[str] = (),
    ):
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.read_path = read_path
        self.sources = itertools.cycle(sources or [""])
        self.held: deque[socket.socket] = deque()  # never_closer's, closed at the end
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
        while self.held:
            self.held.popleft().close()

    def _over(self) -> bool:
        return self.stopping.is_set() or time.monotonic() > self.until

    def _keep(self, kind: str) -> None:
        behave: Callable[[socket.socket], bool] = getattr(self, f"_{kind}")
        while not self._over():
            sock = socket.socket()
            if kind.endswith("_reader"):  # a window of 4 KB, or of a second at 6 KB/s
                window = 4096 if kind == "slow_reader" else 12 * 1024
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, window)
            sock.settimeout(5)
            try:
                sock.bind((next(self.sources), 0))
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
            poll = select.poll()  # not select(): an attack holds descriptors over 1,024
            poll.register(sock, select.POLLIN)
            if poll.poll(min(left, 1.0) * 1000):
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
        sock.sendall(self._form_head(body))
        return self._trickle(sock, body, 1.0)

    def _form_head(self, body: bytes) -> bytes:
        """The head of the form's POST, as a browser on this site sends it, for `body`."""
        return self._head(
            "POST",
            "/sightings",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            "Sec-Fetch-Site: same-origin",
        )

    def _slow_reader(self, sock: socket.socket) -> bool:
        return self._read_at(sock, 1024)

    def _steady_reader(self, sock: socket.socket) -> bool:
        return self._read_at(sock, 6 * 1024)

    def _read_at(self, sock: socket.socket, rate: int) -> bool:
        sock.sendall(self._head("GET", self.read_path))
        while not self._over():
            if self._closed_within(sock, 1.0):  # something to read, or the end
                if not sock.recv(rate):
                    return True
                self.stopping.wait(1.0)
        return False

    def _lingerer(self, sock: socket.socket) -> bool:
        self._answer_to_close(sock)
        self.stopping.wait(max(0.0, min(3.0, self.until - time.monotonic())))
        return False  # it leaves by itself

    def _never_closer(self, sock: socket.socket) -> bool:
        self._answer_to_close(sock)
        self.held.append(socket.socket(fileno=sock.detach()))  # left open
        while len(self.held) > HELD:
            self.held.popleft().close()
        return False

    def _answer_to_close(self, sock: socket.socket) -> None:
        """Asks for /healthz with `Connection: close`; reads up to the server's half-close."""
        sock.sendall(self._head("GET", "/healthz", "Connection: close"))
        while not self._over():
            if self._closed_within(sock, 1.0) and not sock.recv(65536):
                return

    def _front_loaded(self, sock: socket.socket) -> bool:
        body = b"location=" + b"m" * (FRONT_LOADED_BODY - 9)
        sock.sendall(self._form_head(body) + body[:-1])
        return self._silent(sock)
