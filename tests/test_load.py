"""Under concurrent load, SPUCSVi loses no sighting, although SPUC would.

SPUC (and its faithful emulator) loses records when concurrent PUTs arrive
while its file does not exist yet: every thread that saw the file missing
opens it with "w" and truncates what the others wrote (docs/spuc.md). SPUCSVi
sends submissions one at a time across all its workers (spucsvi/sightings/submission.py).

- the gunicorn test: 2 workers x 4 threads, 8 concurrent browsers, 200
  submissions with tricky locations, SPUC's file missing at the start: the
  file holds exactly those 200, byte for byte, counted 1..200;
- the control: the same kind of burst sent straight to the emulator loses
  or duplicates records, so the race is real and the test above means something;
- in-process, without gunicorn: the same scenario with SPUCSVi's lock
  swapped for a no-op loses records, and with the lock it does not, so the
  lock is what makes the difference.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests

import spucsvi.shared_state
from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import make_app
from tests.support.records import HEADER as TEXT_HEADER
from tests.support.servers import cpu_seconds, gunicorn, running, spucsvi_in_process

pytestmark = pytest.mark.slow

HEADER = TEXT_HEADER.encode()
WRITE_DELAY = 0.02  # widens SPUC's race window: concurrent first writes truncate each other
CLIENTS = 8
SUBMISSIONS = 200
REQUEST_TIMEOUT = 10
TEST_BUDGET = 90  # seconds, for the whole gunicorn test

# Each location is unique (it carries its number) and most carry something
# that a careless encoder or parser would get wrong.
_LOCATION_TEMPLATES = (
    "moon, crater {i}",
    "Tom & Jerry's barn #{i}",
    "1+1=2 lane {i}",
    "ünïcörn fjord {i} — 🦄",
    '"quoted" meadow {i}',
    "a,b,,c {i}",
    "100% sure? yes! {i}",
    "semi;colon=key/slash\\back {i}",
    "日本 富士山 {i}",
    "<b>tag</b> &amp; {i}",
    "plain place {i}",
    'it\'s "both" \' and " {i}',
    "%2C not a comma {i}",
    "tab\u00a0nbsp {i}",
)


def tricky_location(i: int) -> str:
    return _LOCATION_TEMPLATES[i % len(_LOCATION_TEMPLATES)].format(i=i)


def sightings(n: int) -> list[tuple[str, str]]:
    """n unique (location, brightness) pairs."""
    return [(tricky_location(i), str(i) if i % 3 else f"{i}.5") for i in range(n)]


# --- SPUC's file -------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    count: bytes
    time: bytes
    location: bytes
    brightness: bytes
    units: bytes


def read_records(data: bytes) -> tuple[list[Record], list[bytes]]:
    """SPUC's file as records, and the lines that are not records.

    Lines are unquoted: count and time are the first two fields, brightness
    and units the last two, the location is everything in between (it may
    hold commas). The header must open the file and appear nowhere else;
    when racing writers truncate each other, leftovers of overwritten lines
    show up as broken lines.
    """
    assert data.startswith(HEADER), data[:200]
    records, broken = [], []
    for line in data[len(HEADER) :].split(b"\n"):
        fields = line.split(b",")
        if len(fields) < 5 or not fields[0].isdigit() or line + b"\n" == HEADER:
            broken.append(line)
            continue
        records.append(
            Record(fields[0], fields[1], b",".join(fields[2:-2]), fields[-2], fields[-1])
        )
    if broken[-1:] == [b""]:  # after the final newline
        broken.pop()
    return records, broken


def assert_holds_exactly(data_file: Path, sent: list[tuple[str, str]]) -> None:
    """The file holds each sent sighting once, byte-exact, counted 1..N in order."""
    data = data_file.read_bytes()
    assert data.endswith(b"\n"), data[-200:]
    assert data.count(HEADER) == 1
    records, broken = read_records(data)
    assert broken == []
    assert len(records) == len(sent)
    assert [r.count for r in records] == [str(n).encode() for n in range(1, len(sent) + 1)]
    for record in records:
        datetime.fromisoformat(record.time.decode("ascii"))
        assert record.units == b"iuhc"
    got = Counter((r.location, r.brightness) for r in records)
    want = Counter((loc.encode("utf-8"), bright.encode("utf-8")) for loc, bright in sent)
    assert got == want, (
        f"missing: {list((want - got).elements())[:5]}, "
        f"unexpected: {list((got - want).elements())[:5]}"
    )


def is_clean(data_file: Path, sent: list[tuple[str, str]]) -> bool:
    """Whether the file is a clean 1..N holding every sent location once."""
    if not data_file.exists():
        return False
    data = data_file.read_bytes()
    if not data.startswith(HEADER):
        return False
    records, broken = read_records(data)
    counts = [r.count for r in records]
    locations = Counter(r.location for r in records)
    return (
        not broken
        and counts == [str(n).encode() for n in range(1, len(sent) + 1)]
        and locations == Counter(loc.encode("utf-8") for loc, _ in sent)
    )


# --- driving SPUCSVi like 8 browsers -----------------------------------------


def submit_concurrently(
    url: str, sent: list[tuple[str, str]], *, clients: int = CLIENTS, deadline: float
) -> list[int | str]:
    """Each client: its own session, GET / as a browser opens the page, then
    POST its share of `sent` to /sightings; all clients start together.

    Returns one status code (or exception text) per submission, in `sent`'s order.
    """
    results: list[int | str] = ["not sent"] * len(sent)
    barrier = threading.Barrier(clients)

    def client(k: int) -> None:
        with requests.Session() as browser:
            with browser.get(f"{url}/", timeout=REQUEST_TIMEOUT) as page:
                assert page.status_code == 200, page.status_code
            barrier.wait(timeout=REQUEST_TIMEOUT)
            for i in range(k, len(sent), clients):
                if time.monotonic() > deadline:
                    return
                location, brightness = sent[i]
                form = {"location": location, "brightness": brightness}
                try:
                    # A connection for each, so that the kernel spreads the
                    # submissions over both workers (kept alive, one worker
                    # could take every client's connection).
                    with browser.post(
                        f"{url}/sightings",
                        data=form,
                        headers={"Sec-Fetch-Site": "same-origin", "Connection": "close"},
                        allow_redirects=False,
                        timeout=REQUEST_TIMEOUT,
                    ) as answer:
                        results[i] = answer.status_code
                except requests.RequestException as exc:
                    results[i] = f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client, k) for k in range(clients)]
        for future in futures:
            future.result(timeout=max(1.0, deadline - time.monotonic() + REQUEST_TIMEOUT))
    return results


def test_gunicorn_loses_no_sighting_under_concurrent_submissions(tmp_path):
    started = time.monotonic()
    deadline = started + TEST_BUDGET - 20  # leaves time to stop gunicorn and check
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    sent = sightings(SUBMISSIONS)
    with EmulatorServer(data_file, write_delay=WRITE_DELAY) as spuc:
        assert not data_file.exists()
        served = gunicorn(tmp_path, spuc.url, workers=2, threads=4)
        with running(served):
            workers = served.workers()
            before = {pid: cpu_seconds(pid) for pid in workers}
            results = submit_concurrently(served.url, sent, deadline=deadline)
            busy = {pid: cpu_seconds(pid) - before[pid] for pid in workers}
        output = served.output()
    assert served.popen.returncode == 0, output[-4000:]
    assert Counter(results) == {303: SUBMISSIONS}, [r for r in results if r != 303][:5]
    assert_holds_exactly(data_file, sent)
    assert "Traceback" not in output, output[-4000:]
    # Both workers served a share (an idle one uses next to no CPU), so the
    # lock was tested across processes, not only across threads of one.
    assert len(busy) == 2 and min(busy.values()) >= 0.05, busy
    assert time.monotonic() - started < TEST_BUDGET


# --- the control: straight at the emulator, the race loses records -----------


def test_control_concurrent_puts_straight_at_spuc_lose_records(tmp_path):
    """16 PUTs from 8 threads released together, no file yet: not a clean 1..16.

    Each thread first opens a keep-alive connection (GET /export, which does
    not create the file), so after the barrier the 8 first PUTs reach SPUC
    within a millisecond or so, far inside the 20 ms window: every one of
    them sees no file, and each truncates what the others wrote.
    """
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    sent = sightings(16)
    barrier = threading.Barrier(CLIENTS)

    def client(k: int, url: str) -> list[int]:
        statuses = []
        with requests.Session() as session:
            with session.get(f"{url}/export", timeout=REQUEST_TIMEOUT) as warm:
                assert warm.json() == {"message": "No unicorn sightings yet!"}
            barrier.wait(timeout=REQUEST_TIMEOUT)
            for location, brightness in sent[k::CLIENTS]:
                with session.put(
                    f"{url}/unicorn_spotted",
                    params={"location": location, "brightness": brightness},
                    timeout=REQUEST_TIMEOUT,
                ) as answer:
                    statuses.append(answer.status_code)
        return statuses

    with EmulatorServer(data_file, write_delay=WRITE_DELAY) as spuc:
        assert not data_file.exists()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            futures = [pool.submit(client, k, spuc.url) for k in range(CLIENTS)]
            statuses = [s for future in futures for s in future.result(timeout=60)]
    # SPUC says yes to every one of them...
    assert statuses == [200] * len(sent)
    # ...and yet they are not all there, counted 1..16.
    assert not is_clean(data_file, sent), data_file.read_text(encoding="utf-8")


# --- in-process, without gunicorn: the lock is what makes the difference ------


class _NoLock:
    """Stands in for filelock.FileLock: no protection at all."""

    def __init__(self, *args, **kwargs):
        pass

    def acquire(self, *args, **kwargs):
        return self

    def release(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


@pytest.mark.parametrize("protected", [True, False], ids=["with-lock", "without-lock"])
def test_in_process_the_submit_lock_is_what_prevents_the_loss(protected, tmp_path, monkeypatch):
    if not protected:
        monkeypatch.setattr(spucsvi.shared_state, "FileLock", _NoLock)
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    sent = sightings(48)
    with EmulatorServer(data_file, write_delay=WRITE_DELAY) as spuc:
        app = make_app(spuc.url, tmp_path, SPUC_READ_TIMEOUT="10")
        with spucsvi_in_process(app) as url:
            results = submit_concurrently(url, sent, deadline=time.monotonic() + 60)
        app.extensions["spuc_client"].close()
    assert Counter(results) == {303: len(sent)}
    if protected:
        assert_holds_exactly(data_file, sent)
    else:
        assert not is_clean(data_file, sent), data_file.read_text(encoding="utf-8")
