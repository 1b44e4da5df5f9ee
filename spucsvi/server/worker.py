"""gunicorn's threaded worker, with its poller doing the waiting for slow clients.

gunicorn's gthread worker gives a connection to a request thread as soon as
it has a byte to read, and the thread then reads the rest and writes the
answer itself: a client that sends its head a byte at a time, trickles its
body or reads the answer at 1 KB/s holds that thread for as long as it likes,
and eight of them took the whole service down (issue 13). Here the worker's
poller, where a waiting connection costs no thread, reads each request until
h11 says it is complete (or cuts it: the head must arrive within
HEAD_SECONDS, the body at BODY_MIN_RATE), and only then gives it to a thread.
What the thread writes that the client does not take at once is kept, within
a budget, and sent by the poller, so the thread is free as soon as the answer
is made; a client that reads below SEND_MIN_RATE is cut. Connections closed
after an answer linger in the poller too: gunicorn 27 waits up to 2 s in its
loop, where nothing else moves meanwhile, for each client to close its side.

No client holds the service by holding connections: a whole request must
arrive within REQUEST_SECONDS of its first byte however it is paced; a
client address holds at most CLIENT_CONNECTIONS (an IPv6 client counted by
its /64); lingering sockets count against worker_connections; when the slots
run short a new connection is taken anyway and what holds a slot for least
use is closed (a lingering socket, an idle kept-alive connection, else the
oldest incomplete request), unless only incomplete requests hold them and
the newcomer's address holds FULL_SHARE already: then the newcomer is closed
at once, unread, so that a client reconnecting as fast as it is cut costs an
accept and a close, not a read of its body. The soft limit of open files is
raised to the hard one at start and worker_connections fitted under it; out
of file descriptors all the same, the worker pauses accepting and closes
some of those, instead of dying (gunicorn raises).
A file answer (a spooled download, an asset) is sent by the poller from the
file, costing no memory; SPOOL_LIMIT bounds the file bytes kept for slow
readers, beyond which the longest-sending one is cut.

HTTP/1.1 in plain text only: TLS and HTTP/2 end at a proxy in front.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import selectors
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from functools import partial
from typing import cast

import h11
from gunicorn.http.parser import Parser
from gunicorn.workers.gthread import TConn, ThreadWorker

from spucsvi import addresses
from spucsvi.settings import from_env
from spucsvi.web import confirmation, proxy

log = logging.getLogger(__name__)

# A request: its head within HEAD_SECONDS of its first byte (of the connection
# for a new one), its body at BODY_MIN_RATE on average after BODY_GRACE_SECONDS.
HEAD_SECONDS = 5.0
# A whole request, from its first byte: a body sent but for its last byte owes
# nothing to BODY_MIN_RATE for a minute, and this deadline is what ends it.
REQUEST_SECONDS = 20.0
HEAD_LIMIT = 64 * 1024
BODY_GRACE_SECONDS = 5.0
BODY_MIN_RATE = 1024
# Four times the app's own limit (16 KB): the app answers 413 in its own words
# up to here, the worker beyond, before the body is read.
BODY_LIMIT = 64 * 1024
RECEIVE_SIZE = 64 * 1024
# An answer: sent at SEND_MIN_RATE on average after SEND_GRACE_SECONDS. Kept
# for the poller up to CONNECTION_BUFFER per connection and WORKER_BUFFER in
# all; beyond that the thread sends it itself, held to the same rate.
SEND_GRACE_SECONDS = 10.0
SEND_MIN_RATE = 4 * 1024
CONNECTION_BUFFER = 16 * 1024 * 1024
WORKER_BUFFER = 64 * 1024 * 1024
# After a last answer, how long the client has to close its side.
LINGER_SECONDS = 2.0
LINGER_LIMIT = 64 * 1024
# File bytes of answers (spooled downloads) kept for slow readers in a worker:
# on disk, or in memory where the temp folder is a tmpfs (the container's).
SPOOL_LIMIT = 256 * 1024 * 1024
# How often the deadlines are checked (gunicorn's loop turns at every event).
CHECK_SECONDS = 0.25
# Connections of one client address in a worker (an IPv6 client by its /64;
# a proxy in forwarded_allow_ips is not capped). Browsers open six a site.
CLIENT_CONNECTIONS = 100
# While incomplete requests hold every slot, an address holding this many gets
# no more: a browser opens six, an attacker churning its connections thousands.
FULL_SHARE = 8
# File descriptors left for what is not a connection (poller, logs, SPUC,
# spooled downloads): worker_connections is lowered to fit the file limit.
SPARE_FILES = 64
# Out of file descriptors: accept nothing for ACCEPT_PAUSE seconds and close
# up to SHED of what holds a slot for least use.
ACCEPT_PAUSE = 0.5
SHED = 16
# Connections accepted at most in one turn of gunicorn's loop (it takes one):
# under a flood of connections a visitor's waits less in the kernel's queue.
ACCEPT_BATCH = 16

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class SlowClient(BrokenPipeError):
    """The client read the answer too slowly; gunicorn treats it as gone."""


@dataclass
class RateFloor:
    """At least `rate` bytes a second on average, once `grace` seconds have passed."""

    started: float
    rate: float
    grace: float

    def missed(self, done: int, now: float) -> bool:
        return done < self.rate * (now - self.started - self.grace)


class Budget:
    """Bytes of answers kept for slow readers in this worker, shared by its threads."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self.used -= size


class Arrival:
    """One request arriving on a connection, read by the poller until complete."""

    def __init__(self, started: float):
        self.parser = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
        self.data = bytearray()
        self.started = started
        self.first_byte: float | None = None
        self.head: h11.Request | None = None
        self.body: RateFloor | None = None
        self.body_bytes = 0
        self.continue_asked = False

    def feed(self, data: bytes, now: float) -> bool:
        """Take bytes; True once the request is complete. Raises h11's
        RemoteProtocolError (with a status hint) for one to refuse."""
        if self.first_byte is None and data:
            self.first_byte = now
        self.data += data
        if len(self.data) > HEAD_LIMIT + 2 * BODY_LIMIT:  # chunk framing included
            raise h11.RemoteProtocolError("request too large", error_status_hint=413)
        self.parser.receive_data(data)
        while True:
            event = self.parser.next_event()
            if event is h11.NEED_DATA:
                return False
            if isinstance(event, h11.Request):
                self.head = event
                self.body = RateFloor(now, BODY_MIN_RATE, BODY_GRACE_SECONDS)
                length = dict(event.headers).get(b"content-length", b"0")
                if int(length) > BODY_LIMIT:
                    raise h11.RemoteProtocolError("request too large", error_status_hint=413)
                self.continue_asked = self.parser.they_are_waiting_for_100_continue
            elif isinstance(event, h11.Data):
                self.body_bytes += len(event.data)
                if self.body_bytes > BODY_LIMIT:
                    raise h11.RemoteProtocolError("request too large", error_status_hint=413)
            elif isinstance(event, h11.EndOfMessage):
                return True
            else:  # ConnectionClosed before a request: nothing to answer
                raise h11.RemoteProtocolError("closed", error_status_hint=0)

    def late(self, now: float) -> bool:
        if self.first_byte is not None and now > self.first_byte + REQUEST_SECONDS:
            return True
        if self.body is None:
            return now > self.started + HEAD_SECONDS
        return self.body.missed(self.body_bytes, now)


class FilePart:
    """Part of a file to send, on a descriptor of its own (the app closes its file)."""

    def __init__(self, file, offset: int, count: int):
        self.fd, self.offset, self.left = os.dup(file.fileno()), offset, count

    def send(self, sock: socket.socket) -> int:
        """Send what the kernel takes now; bytes sent. A file shorter than
        announced ends the part (the client sees a short answer)."""
        blocking = sock.getblocking()
        sock.setblocking(False)
        try:
            sent = os.sendfile(sock.fileno(), self.fd, self.offset, self.left) or self.left
        except BlockingIOError:
            sent = 0
        finally:
            sock.setblocking(blocking)
        self.offset, self.left = self.offset + sent, self.left - sent
        return sent

    def close(self) -> None:
        os.close(self.fd)


class PatientSocket:
    """A connection's socket as gunicorn's code in a request thread sees it.

    `sendall` sends what the kernel takes at once and keeps the rest for the
    poller (within the budgets); `sendfile` keeps the file for the poller
    (costing no memory); reads never wait forever."""

    def __init__(self, sock: socket.socket, budget: Budget):
        self._sock = sock
        self._budget = budget
        self.kept: deque[memoryview | FilePart] = deque()
        self.kept_bytes = 0  # in memory, against the budget
        self.file_bytes = 0
        self.continue_sent = False

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        if not self.kept:
            view = view[self._send_now(view) :]
        if not view:
            return
        if self.kept_bytes + len(view) <= CONNECTION_BUFFER and self._budget.take(len(view)):
            self.kept.append(view)
            self.kept_bytes += len(view)
            return
        self._send_waiting(view)

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        """gunicorn's way of writing a file answer (wsgi.file_wrapper)."""
        if count is None:
            count = os.fstat(file.fileno()).st_size - offset
        if count > 0:
            self.kept.append(FilePart(file, offset, count))
            self.file_bytes += count
        return count

    def send(self, data: bytes, flags: int = 0) -> int:
        if data == CONTINUE and self.continue_sent:  # the poller answered it already
            return len(data)
        return self._sock.send(data, flags)

    def recv(self, size: int, flags: int = 0) -> bytes:
        """The request arrived whole before the thread got it; a read past it
        (a parser that disagrees with h11) waits HEAD_SECONDS at most."""
        if self._sock.gettimeout() is None and not _wait(self._sock, selectors.EVENT_READ):
            return b""  # read by gunicorn as the client having gone
        return self._sock.recv(size, flags)

    def send_kept(self) -> int:
        """Send what the kernel takes now (in the poller); bytes sent."""
        sent = 0
        while self.kept:
            part = self.kept[0]
            if isinstance(part, FilePart):
                done = part.send(self._sock)
                self.file_bytes -= done
                left = part.left
            else:
                done = self._send_now(part)
                self.kept_bytes -= done
                self._budget.give_back(done)
                left = len(part) - done
                if left:
                    self.kept[0] = part[done:]
            sent += done
            if left:
                break
            self.kept.popleft()
            if isinstance(part, FilePart):
                part.close()
        return sent

    def drop_kept(self) -> None:
        self._budget.give_back(self.kept_bytes)
        for part in self.kept:
            if isinstance(part, FilePart):
                part.close()
        self.kept.clear()
        self.kept_bytes = self.file_bytes = 0

    def _send_now(self, view: memoryview) -> int:
        sent = 0
        while sent < len(view):
            try:
                sent += self._sock.send(view[sent:], socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
        return sent

    def _send_waiting(self, view: memoryview) -> None:
        """Over the budgets: send from this thread, cut below SEND_MIN_RATE."""
        floor = RateFloor(time.monotonic(), SEND_MIN_RATE, SEND_GRACE_SECONDS)
        done = 0
        while True:
            done += self.send_kept()
            if not self.kept and view:
                sent = self._send_now(view)
                done, view = done + sent, view[sent:]
            if not (self.kept or view):
                return
            if floor.missed(done, time.monotonic()):
                self.drop_kept()
                log.warning("cut a client reading an answer at under %d B/s", SEND_MIN_RATE)
                raise SlowClient(errno.EPIPE, "client reads too slowly")
            _wait(self._sock, selectors.EVENT_WRITE, 1.0)


def _wait(sock: socket.socket, event: int, seconds: float = HEAD_SECONDS) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(sock, event)
        return bool(selector.select(seconds))


def raise_file_limit() -> int:
    """The soft limit on open files raised to the hard one (a shell's 1,024 is
    soon reached by sockets); the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard != resource.RLIM_INFINITY:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open file limit to %d: %s", hard, exc)
    return soft


def client_key(client, cfg) -> str | None:
    """The address a connection counts against: IPv4 whole, IPv6 by its /64;
    None (not capped) for a proxy in cfg's forwarded_allow_ips, or a Unix socket."""
    address = addresses.address(client[0]) if isinstance(client, tuple) else None
    if address is None:
        return None
    if "*" in cfg.forwarded_allow_ips or any(
        address in net for net in cfg.forwarded_allow_networks()
    ):
        return None
    return addresses.client(address)


class PatientConnection(TConn):
    """gunicorn's connection, on a PatientSocket, closing in the poller."""

    def __init__(self, cfg, sock, client, server, worker: PatientWorker, key: str | None):
        super().__init__(cfg, sock, client, server)
        self.raw = sock
        self.patient = PatientSocket(sock, worker.budget)
        self.sock = cast(socket.socket, self.patient)  # what gunicorn's code uses
        self.worker = worker
        self.arrival: Arrival | None = None
        self.sent = 0  # of the answer the poller is sending
        self.client_key = key  # counted in worker.per_client while open

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self)
        else:
            super().close()
            self.worker.gone(self)


class PatientWorker(ThreadWorker):
    """gunicorn's gthread worker that gives threads only whole requests and
    takes slow readers off them (see the module's docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.budget = Budget(WORKER_BUFFER)
        # Oldest first, as dicts keep their order: the first to close when short.
        self.arriving: dict[PatientConnection, None] = {}
        self.sending: dict[PatientConnection, RateFloor] = {}
        self.lingering: dict[PatientConnection, float] = {}
        self.per_client: Counter[str] = Counter()
        self.paused_until = 0.0
        self.next_check = 0.0
        self.proxies: tuple[proxy.Network, ...] = ()

    def init_process(self):
        if self.cfg.is_ssl:
            raise RuntimeError("PatientWorker serves plain HTTP/1.1: end TLS at a proxy")
        slots = min(self.cfg.worker_connections, raise_file_limit() - SPARE_FILES)
        if slots < self.worker_connections:
            log.warning(
                "open file limit: %d connections a worker, not %d",
                slots,
                self.cfg.worker_connections,
            )
        self.worker_connections = max(slots, self.cfg.threads + 1)
        self.max_keepalived = self.worker_connections - self.cfg.threads
        # The app's trusted proxies (web/proxy.py), for the path of a note to delete.
        self.proxies = from_env().forwarded_allow_ips
        super().init_process()

    # Connection slots: lingering sockets count, a full worker still accepts
    # while it can make room, and accepting pauses when out of descriptors.
    def set_accept_enabled(self, enabled):
        if self.alive and not enabled:
            enabled = bool(self.lingering or self.keepalived_conns or self.arriving)
        super().set_accept_enabled(enabled and time.monotonic() >= self.paused_until)

    def accept(self, listener):
        """Up to ACCEPT_BATCH connections waiting to be accepted, in one turn of the loop."""
        for _ in range(ACCEPT_BATCH):
            try:
                sock, client = listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    self._out_of_files()
                elif exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self._take_connection(sock, client, listener.getsockname())

    def _take_connection(self, sock: socket.socket, client, server) -> None:
        key = client_key(client, self.cfg)
        held = self.per_client[key] if key is not None else 0
        if held >= CLIENT_CONNECTIONS or (
            self.nr_conns >= self.worker_connections and not self._make_room(held)
        ):
            sock.close()  # this address holds its share already
            return
        if key is not None:
            self.per_client[key] += 1
        self.nr_conns += 1
        self.enqueue_req(PatientConnection(self.cfg, sock, client, server, self, key))

    def gone(self, conn: PatientConnection) -> None:
        """A connection's socket is closed: it no longer counts against its client
        (once: the key is forgotten)."""
        if conn.client_key is not None:
            self.per_client[conn.client_key] -= 1
            if not self.per_client[conn.client_key]:
                del self.per_client[conn.client_key]
        conn.client_key = None

    def _make_room(self, held: int) -> bool:
        """Room made (if any can be) for a newcomer whose address holds `held`
        connections; False when it is to be closed instead (see FULL_SHARE)."""
        if not (self.lingering or self.keepalived_conns) and held >= FULL_SHARE:
            return False
        self._free_a_slot()
        return True

    def _free_a_slot(self) -> bool:
        """Close what holds a slot for least use: a lingering socket (its answer
        sent), an idle kept-alive connection, else the oldest incomplete request."""
        if self.lingering:
            self._close_lingering(next(iter(self.lingering)))
        elif self.keepalived_conns:
            conn = self.keepalived_conns.popleft()
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()
        elif self.arriving:
            self._refuse(next(iter(self.arriving)), 0, "")
        else:
            return False
        return True

    def _out_of_files(self) -> None:
        log.warning("out of file descriptors: accepting nothing for %.1f s", ACCEPT_PAUSE)
        self.paused_until = time.monotonic() + ACCEPT_PAUSE
        super().set_accept_enabled(False)
        for _ in range(SHED):
            if not self._free_a_slot():
                break

    # Reading: every way gunicorn has of giving a connection to a thread
    # (accepted, readable again after keep-alive, bytes read ahead) comes here.
    def enqueue_req(self, conn: TConn) -> None:
        assert isinstance(conn, PatientConnection)  # accept makes every connection
        conn.arrival = Arrival(time.monotonic())
        conn.raw.setblocking(False)
        self.arriving[conn] = None
        self.poller.register(conn.raw, selectors.EVENT_READ, partial(self._receive, conn))
        ahead = conn.parser.unreader.take_buffered() if isinstance(conn.parser, Parser) else b""
        if ahead:
            self._take(conn, ahead)

    def _receive(self, conn: PatientConnection, _sock) -> None:
        data = _received(conn, RECEIVE_SIZE)
        if data is not None:
            self._take(conn, data)

    def _take(self, conn: PatientConnection, data: bytes) -> None:
        arrival = conn.arrival
        assert arrival is not None  # set by enqueue_req
        try:
            complete = arrival.feed(data, time.monotonic())
        except (h11.RemoteProtocolError, ValueError) as exc:
            self._refuse(conn, getattr(exc, "error_status_hint", 400), str(exc))
            return
        if arrival.continue_asked and not conn.patient.continue_sent:
            conn.patient.continue_sent = True
            with contextlib.suppress(OSError):  # if not, it sends its body after a second
                conn.raw.send(CONTINUE, socket.MSG_DONTWAIT)
        if complete:
            self._stop_reading(conn)
            conn.data_ready = True  # the thread need not wait for data
            super().enqueue_req(conn)

    def _stop_reading(self, conn: PatientConnection) -> None:
        self.poller.unregister(conn.raw)
        del self.arriving[conn]

    def _refuse(self, conn: PatientConnection, status: int, reason: str) -> None:
        """Answer (best effort) and close a request the thread should not see."""
        self._stop_reading(conn)
        if status:
            phrase = {400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large"}
            phrase |= {431: "Request Header Fields Too Large"}
            body = f"{reason}\n".encode()
            headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            headers += [("Connection", "close")]
            head = f"HTTP/1.1 {status} {phrase.get(status, 'Bad Request')}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in self._forgetting(conn, headers))
            head += "\r\n"
            with contextlib.suppress(OSError):
                conn.raw.send(head.encode() + body, socket.MSG_DONTWAIT)
        self.nr_conns -= 1
        conn.close(graceful=bool(status))

    def _forgetting(
        self, conn: PatientConnection, headers: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """`headers` deleting a note the request carried, as every answer of the app
        does (web/confirmation.py), with the path the app would give it: SCRIPT_NAME
        from the environment, or X-Forwarded-Prefix from the app's trusted proxies.
        Only with the whole head read (a 431 or a 408 for a late head has none):
        the note is deleted by the client's next answer instead. A SCRIPT_NAME
        header gunicorn may trust (SPUCSVI_FORWARDER_HEADERS) is not read here:
        behind such a proxy the deletion may miss a prefixed note's path."""
        head = conn.arrival.head if conn.arrival is not None else None
        if head is None:
            return headers
        environ = head_environ(head, conn.client)
        proxy.resolve(environ, self.proxies)
        return confirmation.forgetting(environ, headers)

    def handle(self, conn: TConn) -> bool:
        """In a thread: the request's bytes go to gunicorn's parser first."""
        assert isinstance(conn, PatientConnection) and conn.arrival is not None
        conn.init()
        assert isinstance(conn.parser, Parser)  # HTTP/1.1: init made one
        conn.parser.unreader.unread(bytes(conn.arrival.data))
        conn.arrival = None
        return super().handle(conn)

    # Writing: what the thread could not send is sent here before gunicorn
    # decides on keep-alive or closing, as it would have after sendall().
    def finish_request(self, conn: TConn, fs) -> None:
        assert isinstance(conn, PatientConnection)
        if not conn.patient.kept:
            super().finish_request(conn, fs)
            return
        self.sending[conn] = RateFloor(time.monotonic(), SEND_MIN_RATE, SEND_GRACE_SECONDS)
        conn.sent = 0
        self.poller.register(conn.raw, selectors.EVENT_WRITE, partial(self._send, conn, fs))

    def _send(self, conn: PatientConnection, fs, _sock) -> None:
        try:
            conn.sent += conn.patient.send_kept()
        except OSError:
            self._cut_sending(conn)
            return
        if not conn.patient.kept:
            self._stop_sending(conn)
            super().finish_request(conn, fs)

    def _stop_sending(self, conn: PatientConnection) -> None:
        self.poller.unregister(conn.raw)
        del self.sending[conn]
        conn.patient.drop_kept()

    def _cut_sending(self, conn: PatientConnection) -> None:
        self._stop_sending(conn)
        self.nr_conns -= 1
        conn.close()

    # Closing: half-close, read what the client still sends, close when it
    # closes or LINGER_SECONDS pass (RFC 9112 section 9.6), all in the poller.
    # A lingering socket holds a connection slot, as it holds a descriptor.
    def linger(self, conn: PatientConnection) -> None:
        sock = conn.raw
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            self.gone(conn)
            return
        sock.setblocking(False)
        self.nr_conns += 1
        self.lingering[conn] = time.monotonic() + LINGER_SECONDS
        self.poller.register(sock, selectors.EVENT_READ, partial(self._drain, conn))

    def _drain(self, conn: PatientConnection, _sock) -> None:
        data = _received(conn, LINGER_LIMIT)
        if data is None:
            return
        if not data:
            self._close_lingering(conn)

    def _close_lingering(self, conn: PatientConnection) -> None:
        self.poller.unregister(conn.raw)
        del self.lingering[conn]
        conn.raw.close()
        self.nr_conns -= 1
        self.gone(conn)

    def wait_for_and_dispatch_events(self, timeout):
        """gunicorn's, but an event of a turn is dropped once an earlier one closed
        its connection (making room in accept): its socket is gone, or its
        descriptor already another connection's."""
        try:
            events = self.poller.select(timeout)
            registered = self.poller.get_map()
            for key, _ in events:
                if registered.get(key.fd) is key:
                    key.data(key.fileobj)
        except OSError as e:
            if e.errno != errno.EINTR:
                raise

    def murder_pending(self):
        """On gunicorn's loop, at most every CHECK_SECONDS: cut what is too slow."""
        super().murder_pending()
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + CHECK_SECONDS
        for conn in list(self.arriving):
            arrival = conn.arrival
            assert arrival is not None  # set by enqueue_req
            idle = not arrival.data
            if idle and not self.alive:  # stopping: nothing asked yet
                self._refuse(conn, 0, "")
            elif arrival.late(now):  # a silent connection is closed without a word
                self._refuse(conn, 0 if idle else 408, "request not received in time")
        spooled = sum(conn.patient.file_bytes for conn in self.sending)
        for conn, floor in list(self.sending.items()):
            if floor.missed(conn.sent, now):
                log.warning("cut a client reading an answer at under %d B/s", SEND_MIN_RATE)
            elif spooled > SPOOL_LIMIT and conn.patient.file_bytes:
                log.warning("cut the longest-sending file answer: over %d bytes kept", SPOOL_LIMIT)
            else:
                continue
            spooled -= conn.patient.file_bytes
            self._cut_sending(conn)
        for conn in [conn for conn, until in self.lingering.items() if now > until]:
            self._close_lingering(conn)


def head_environ(head: h11.Request, client) -> dict[str, str]:
    """The part of a WSGI environ a request's head makes, as gunicorn makes it:
    repeated headers joined by commas, names with `_` dropped (its header_map)."""
    environ = {
        "REMOTE_ADDR": client[0] if isinstance(client, tuple) else "",
        "SCRIPT_NAME": os.environ.get("SCRIPT_NAME", ""),
    }
    given: dict[str, list[str]] = {}
    for name, value in head.headers:
        if b"_" not in name:  # joined once at the end: one by one would be quadratic
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            given.setdefault(key, []).append(value.decode("latin-1"))
    return environ | {key: ",".join(values) for key, values in given.items()}


def _received(conn: PatientConnection, size: int) -> bytes | None:
    """What the client sent (b"" once it closed or failed); None when nothing yet."""
    try:
        return conn.raw.recv(size)
    except BlockingIOError:
        return None
    except OSError:
        return b""
