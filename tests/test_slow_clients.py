"""Slow clients cannot starve anyone (issue 13, finding 1), nor hold the service by
its connections, its file descriptors or its downloads (issue 20, findings 1, 3, 7):
`spucsvi serve`, as the container runs it, with one worker of two threads so that
two held threads would be all of them; attacks from tests/support/attackers.py,
bounded in connections and time.
"""

from __future__ import annotations

import ipaddress
import os
import re
import select
import signal
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import h11
import pytest
import requests

from spucsvi.server import worker
from tests.support.attackers import Attack
from tests.support.nginx import NGINX, nginx
from tests.support.records import HEADER
from tests.support.servers import ROOT, ServerProcess, emulator, free_port, running, spucsvi_serve

pytestmark = pytest.mark.slow

SIGHTINGS = 60_000  # /sightings.json is then about 8 MB, more than the kernel buffers
THREADS = 2


def sightings_server(workdir: Path, threads: int) -> Iterator[ServerProcess]:
    """`spucsvi serve`, one worker of `threads` threads, on SIGHTINGS sightings."""
    data_file = workdir / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    start = datetime.now() - timedelta(minutes=SIGHTINGS)
    lines = [HEADER]
    lines += [
        f"{i},{start + timedelta(minutes=i)},crater {i % 40},{i % 97},iuhc\n"
        for i in range(1, SIGHTINGS + 1)
    ]
    data_file.write_text("".join(lines), encoding="utf-8")
    with running(spuc := emulator(data_file, workdir)):
        server = spucsvi_serve(workdir, spuc.url, workers=1, threads=threads)
        with running(server):
            requests.get(f"{server.url}/", timeout=60).raise_for_status()
            yield server


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServerProcess]:
    yield from sightings_server(tmp_path_factory.mktemp("slow-clients"), THREADS)


@pytest.fixture(scope="module")
def served_as_shipped(tmp_path_factory) -> Iterator[ServerProcess]:
    """Four threads, as the container runs: the two download slots leave two free."""
    yield from sightings_server(tmp_path_factory.mktemp("slow-readers"), 4)


def port_of(server: ServerProcess) -> int:
    return int(server.url.rsplit(":", 1)[1])


def exchange(server: ServerProcess, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


VISITOR_SECONDS = 1.0  # the target: a visitor's answer within 1 s, whatever the attack


def visit(url: str, seconds: float, paths: tuple[str, ...] = ("/healthz", "/")) -> list[str]:
    """A normal visitor asking for `paths` in turn, each on a new connection: what
    went wrong (an error, a status other than 200, or an answer later than 1 s)."""
    problems = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        for path in paths:
            started = time.monotonic()
            try:
                with requests.get(url + path, timeout=3) as answer:
                    if answer.status_code != 200:
                        problems.append(f"{path}: {answer.status_code}")
            except requests.RequestException as exc:
                problems.append(f"{path}: {type(exc).__name__}")
            if (took := time.monotonic() - started) > VISITOR_SECONDS:
                problems.append(f"{path}: {took:.1f} s")
        time.sleep(0.3)
    return problems


def test_slow_clients_hold_no_thread_and_are_cut(served):
    counts = {"slow_header": 6, "silent": 6, "slow_body": 3, "slow_reader": 3, "lingerer": 3}
    with Attack(served.url, counts, seconds=9, read_path="/sightings.json") as attack:
        time.sleep(1)  # every attacker has its connection
        problems = visit(served.url, 7)
    # Before: two slow heads held both threads; the visitor waited for the attack's end.
    assert problems == []
    # Heads not done in 5 s, bodies under 1 KB/s: cut, so they cost no memory for long.
    assert attack.cut["slow_header"] >= counts["slow_header"], attack.cut
    assert attack.cut["slow_body"] >= counts["slow_body"], attack.cut


def test_clients_that_do_not_close_hold_up_no_one(served):
    """gunicorn 27's own worker waits up to 2 s per such client in its event loop."""
    lingering = []
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", port_of(served)))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        lingering.append(sock)
    try:
        time.sleep(0.3)
        # Before: 7.8 s, the five 2-second waits one after another.
        requests.get(f"{served.url}/healthz", timeout=1.5).raise_for_status()
    finally:
        for sock in lingering:
            sock.close()


def small_server(workdir: Path, **options) -> Iterator[ServerProcess]:
    """`spucsvi serve` (one worker of THREADS threads) on 100 sightings."""
    data_file = workdir / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    lines = [HEADER] + [f"{i},2026-11-27 18:00:{i % 60:02d},moon,{i},iuhc\n" for i in range(100)]
    data_file.write_text("".join(lines), encoding="utf-8")
    with running(spuc := emulator(data_file, workdir)):
        server = spucsvi_serve(workdir, spuc.url, workers=1, threads=THREADS, **options)
        with running(server):
            yield server


# Attackers from ten addresses, each well under the worker's cap per address.
SOURCES = [f"127.0.1.{i}" for i in range(1, 11)]
SLOTS = 60


@pytest.fixture
def few_slots(tmp_path) -> Iterator[ServerProcess]:
    env = {"GUNICORN_CMD_ARGS": f"--worker-connections {SLOTS}"}
    yield from small_server(tmp_path, env=env)


def test_front_loaded_bodies_from_many_addresses_hold_no_slot_for_long(few_slots):
    """Bodies sent but for their last byte owe nothing to the body's rate for a
    minute; twice the worker's connection slots of them, from ten addresses."""
    with Attack(few_slots.url, {"front_loaded": 2 * SLOTS}, seconds=9, sources=SOURCES) as attack:
        time.sleep(2)  # every attacker has its connection
        problems = visit(few_slots.url, 6)
    # Before: the slots were all taken, and the visitor waited for the attack's end.
    assert problems == []
    assert attack.cut["front_loaded"] >= SLOTS, attack.cut  # the oldest closed to make room


def test_a_full_worker_closes_a_newcomer_from_an_address_holding_many_unread(few_slots):
    """Every slot held by one address's incomplete requests: its next connections
    are closed at once (not its oldest, to make room: reconnecting as fast as it
    is cut then costs the worker a read of each body); a visitor's still gets in."""
    port = port_of(few_slots)
    opened = []
    try:
        for _ in range(SLOTS + 10):
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"POST /sightings HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nloc")
            opened.append(sock)
            time.sleep(0.01)  # accepted in this order
        time.sleep(0.5)
        closed = [i for i, sock in enumerate(opened) if _closed_by_server(sock)]
        assert visit(few_slots.url, 1) == []
    finally:
        for sock in opened:
            sock.close()
    # Before: the oldest ten were closed to make room for the newest.
    assert closed == list(range(SLOTS, SLOTS + 10))


def test_connections_closed_to_make_room_are_not_read_later_in_the_same_turn(few_slots):
    """Idle kept-alive connections that their clients close while new ones arrive:
    one turn of the worker's loop accepts the new ones, closing the kept-alive to
    make room, and then comes to those closed connections' events."""
    port = port_of(few_slots)
    (pid,) = few_slots.workers()
    kept: list[socket.socket] = []
    arriving: list[socket.socket] = []
    try:
        for _ in range(SLOTS - THREADS):  # gunicorn keeps this many alive at most
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            kept.append(sock)
        os.kill(pid, signal.SIGSTOP)  # what follows, it sees in one turn
        try:
            arriving = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
            for sock in kept:
                sock.close()
        finally:
            os.kill(pid, signal.SIGCONT)
        problems = visit(few_slots.url, 1)
        # Before: ValueError (a closed socket's descriptor, -1), and the worker died.
        output = few_slots.output()
        assert output.count("Booting worker") == 1 and few_slots.workers() == [pid], output[-3000:]
        assert problems == []
    finally:
        for sock in kept + arriving:
            sock.close()


@pytest.mark.skipif(not Path(NGINX).exists(), reason="needs Debian's nginx")
def test_the_replicas_proxy_refuses_an_address_holding_many_requests(small, tmp_path):
    """deploy/nginx.conf (addresses changed) in front: bodies sent but for their
    last byte, from one address, more than it lets one address hold."""
    port = free_port()
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in {
        "server spucsvi:8322;": f"server 127.0.0.1:{port_of(small)};",
        "listen 80;": f"listen 127.0.0.1:{port};",
    }.items():
        site = site.replace(old, new)
    per_client = int(re.findall(r"limit_conn spucsvi_clients (\d+);", site)[0])
    with running(front := nginx(tmp_path / "nginx", site, port, scheme="http")):
        held = []
        try:
            for _ in range(per_client + 5):
                sock = socket.socket()
                sock.bind(("127.0.0.3", 0))
                sock.connect(("127.0.0.1", port))
                body = b"location=" + b"m" * 990
                head = f"POST /sightings HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
                sock.sendall(head.encode() + body[:-1])
                held.append(sock)
            time.sleep(0.5)
            refused = [sock.recv(12) for sock in held if _closed_or_answered(sock)]
            assert visit(front.url, 1) == []
        finally:
            for sock in held:
                sock.close()
    # Before: nginx held them all (until its 60 s body timeout), as many as came.
    assert refused == [b"HTTP/1.1 503"] * 5


def _closed_or_answered(sock: socket.socket) -> bool:
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return bool(poll.poll(0))


@pytest.fixture
def small(tmp_path) -> Iterator[ServerProcess]:
    yield from small_server(tmp_path)


def test_one_address_holds_at_most_its_share_of_connections(small):
    """Connections beyond the cap close at once; the visitor, from another address, passes."""
    port = port_of(small)
    opened = []
    try:
        for _ in range(worker.CLIENT_CONNECTIONS + 10):
            sock = socket.socket()
            sock.bind(("127.0.0.2", 0))
            sock.connect(("127.0.0.1", port))
            opened.append(sock)
        time.sleep(0.5)
        closed = sum(1 for sock in opened if _closed_by_server(sock))
        assert visit(small.url, 1) == []
    finally:
        for sock in opened:
            sock.close()
    # Before: none closed until they had been silent for 5 s.
    assert closed == 10


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


OPEN_FILES = 160


@pytest.fixture
def few_files(tmp_path) -> Iterator[ServerProcess]:
    yield from small_server(tmp_path, open_files=(OPEN_FILES, OPEN_FILES))


def test_running_out_of_file_descriptors_kills_no_worker(few_files):
    """Clients that never close their side after `Connection: close`, with the server
    at 160 open files: lingering sockets count against the slots, which fit the limit."""
    with Attack(few_files.url, {"never_closer": 12, "front_loaded": 40}, seconds=9) as attack:
        time.sleep(2)
        problems = visit(few_files.url, 6)
    output = few_files.output()
    # Before: accept() raised EMFILE and the worker died, again and again.
    assert output.count("Booting worker") == 1, output[-3000:]
    assert problems == []
    assert attack.opened["never_closer"] > OPEN_FILES, attack.opened


def test_steady_readers_of_downloads_hold_neither_the_download_slots_nor_threads(
    served_as_shipped,
):
    """Readers at 6 KB/s (above the rate a reader is cut at) of an 8 MB file, more
    of them than the worker's 64 MB for answers holds."""
    url = served_as_shipped.url
    size = len(requests.get(f"{url}/sightings.json", timeout=60).content)
    readers = worker.WORKER_BUFFER // size + 4
    with Attack(url, {"steady_reader": readers}, seconds=12, read_path="/sightings.json"):
        time.sleep(4)  # every reader has its file begun
        problems = visit(url, 5, paths=("/healthz", "/", "/sightings.csv?location=crater+1"))
    # Before: the last readers' threads sent their files themselves, holding both
    # download slots (503) and both request threads (the visitor waited).
    assert problems == []


HOST = b"Host: 127.0.0.1\r\n"
FORM = HOST + b"Content-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin\r\n"


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /healthz HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n", id="get"),
        pytest.param(
            b"POST /sightings HTTP/1.1\r\n" + FORM + b"Transfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n"
            b"5\r\nlocat\r\n10\r\nion=x&brightness\r\n2\r\n=1\r\n0\r\n\r\n",
            id="chunked",
        ),
        pytest.param(
            b"GET /healthz HTTP/1.1\r\n" + HOST + b"\r\n"
            b"GET /healthz HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n",
            id="pipelined",
        ),
    ],
)
def test_requests_arrive_whole_however_they_are_framed(served, request_bytes):
    answer = exchange(served, request_bytes)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert statuses == [b"200" if b"GET" in request_bytes else b"303"] * request_bytes.count(
        b" HTTP/1.1\r\n"
    ), answer[:300]


def test_expect_100_continue_is_answered_before_the_body(served):
    body = b"location=x&brightness=2"
    with socket.create_connection(("127.0.0.1", port_of(served)), timeout=5) as sock:
        sock.sendall(
            b"POST /sightings HTTP/1.1\r\n" + FORM + b"Expect: 100-continue\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 303"), answer[:200]
    assert b"100 Continue" not in answer  # gunicorn's own one is not sent again


def test_a_body_over_the_servers_limit_is_refused_before_it_arrives(served):
    started = time.monotonic()
    answer = exchange(
        served, b"POST /sightings HTTP/1.1\r\n" + FORM + b"Content-Length: 50000000\r\n\r\nx="
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert time.monotonic() - started < 4  # not after waiting for 50 MB


def test_a_head_that_never_ends_gets_408_and_a_closed_connection(served):
    answer = exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: z", timeout=10)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


# --- the worker's parts, on a socket pair --------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A server side with a small send buffer, and a client side that reads slowly."""
    server, client = socket.socketpair()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with server, client:
        yield server, client


def test_what_the_client_does_not_take_at_once_is_kept_for_the_poller(pair):
    server, client = pair
    budget = worker.Budget(1_000_000)
    patient = worker.PatientSocket(server, budget)
    answer = bytes(range(256)) * 1200  # 300 KB, far more than the buffers hold
    patient.sendall(answer)  # returns at once: the thread is free
    assert 0 < patient.kept_bytes == budget.used < len(answer)
    received = b""
    while len(received) < len(answer):
        received += client.recv(65536)
        patient.send_kept()  # as the poller does when the socket is writable
    assert received == answer
    assert patient.kept_bytes == budget.used == 0


def test_over_the_budget_the_thread_sends_and_cuts_a_slow_reader(pair, monkeypatch):
    server, _ = pair  # the client never reads
    monkeypatch.setattr(worker, "SEND_GRACE_SECONDS", 0.5)
    budget = worker.Budget(10_000)
    patient = worker.PatientSocket(server, budget)
    started = time.monotonic()
    with pytest.raises(worker.SlowClient):
        patient.sendall(b"x" * 300_000)
    assert time.monotonic() - started < 5
    assert budget.used == 0


def test_a_request_arrives_in_pieces_and_is_complete_only_at_its_end():
    arrival = worker.Arrival(started=0.0)
    head = b"POST /sightings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert not arrival.feed(head[:10], now=0.1)
    assert arrival.late(now=worker.HEAD_SECONDS + 0.2)  # a head not done in time
    assert not arrival.feed(head[10:], now=0.2)
    assert not arrival.late(now=worker.HEAD_SECONDS + 0.2)  # the body has its own floor
    assert not arrival.feed(b"3\r\nabc\r\n", now=0.3)
    assert arrival.feed(b"0\r\n\r\n", now=0.4)
    assert bytes(arrival.data).endswith(b"abc\r\n0\r\n\r\n")


def test_a_body_below_the_rate_floor_is_late():
    arrival = worker.Arrival(started=0.0)
    arrival.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\nab", now=1.0)
    grace = 1.0 + worker.BODY_GRACE_SECONDS
    assert not arrival.late(now=grace + 0.001)  # 2 bytes, within the grace
    assert arrival.late(now=grace + 1.0)  # 2 bytes in a second after it: under 1 KB/s


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", 413),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 70_000, 431),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"NOT HTTP\r\n\r\n", 400),
    ],
    ids=["body-over-limit", "head-over-limit", "no-host", "garbage"],
)
def test_requests_the_worker_refuses(data, status):
    with pytest.raises(h11.RemoteProtocolError) as refused:
        worker.Arrival(started=0.0).feed(data, now=0.0)
    assert refused.value.error_status_hint == status


def test_a_request_must_arrive_whole_within_its_deadline_however_paced():
    arrival = worker.Arrival(started=0.0)
    arrival.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n", now=0.0)
    arrival.feed(b"x" * 59_999, now=0.5)  # all but the last byte: ahead of any rate
    assert not arrival.late(now=worker.REQUEST_SECONDS - 1)
    assert arrival.late(now=worker.REQUEST_SECONDS + 0.1)


def test_a_file_answer_is_kept_as_the_file_and_sent_from_it(pair, tmp_path):
    server, client = pair
    budget = worker.Budget(1_000_000)
    patient = worker.PatientSocket(server, budget)
    content = bytes(range(256)) * 1200
    path = tmp_path / "answer"
    path.write_bytes(content)
    patient.sendall(b"head:")
    with path.open("rb") as file:
        patient.sendfile(file, offset=10, count=len(content) - 10)
    patient.sendall(b":tail")  # after the file, in order
    assert budget.used == len(b":tail") and patient.file_bytes == len(content) - 10
    expected = b"head:" + content[10:] + b":tail"
    received = b""
    while len(received) < len(expected):
        received += client.recv(65536)
        patient.send_kept()
    assert received == expected
    assert not patient.kept and patient.file_bytes == 0


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),  # the same /64: one client
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", None),  # forwarded_allow_ips: a proxy, not capped
    ],
)
def test_connections_count_against_an_address_and_an_ipv6_client_by_its_64(address, key):
    cfg = SimpleNamespace(
        forwarded_allow_ips=["127.0.0.1"],
        forwarded_allow_networks=lambda: [ipaddress.ip_network("127.0.0.1")],
    )
    assert worker.client_key((address, 4000), cfg) == key
