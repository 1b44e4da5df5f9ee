"""The store fetches SPUC's export incrementally, stays correct when it changes, and
serves stale-while-revalidate: one background revalidation at a time per process."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
import weakref
from dataclasses import dataclass

import pytest
import requests

from spucsvi.data import derived
from spucsvi.data import store as store_module
from spucsvi.data.query import SightingFilter
from spucsvi.data.store import Memo, SightingsStore, Snapshot, StillLoading
from spucsvi.spuc.client import SpucClient, SpucTimeout, SpucUnreachable
from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import make_app
from tests.support.fakes import FakeSpuc, http_response
from tests.support.records import HEADER, every_sighting
from tests.support.servers import gunicorn, spucsvi_in_process

WAIT = 10.0  # seconds a test waits for a background revalidation before failing


def line(count, location, brightness=5, units="iuhc"):
    return f"{count},2026-11-27 18:02:{count % 60:02d}.000001,{location},{brightness},{units}\n"


class RecordingClient(SpucClient):
    """The real client, remembering what each export request asked and got.

    While `gate` is cleared, each fetch in this process waits for it (the test
    holds a revalidation in flight)."""

    def __init__(self, url):
        super().__init__(url)
        self.calls = []
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()
        self.pid = os.getpid()

    def fetch_export(self, **kwargs):
        if os.getpid() == self.pid and not self.gate.is_set():
            self.waiting.set()
            assert self.gate.wait(WAIT)
        answer = super().fetch_export(**kwargs)
        self.calls.append((kwargs, answer.status, len(answer.body)))
        return answer


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def wait_for_revalidation(store: SightingsStore) -> None:
    """Wait, bounded, for the background revalidation the store started."""
    thread = store._running
    assert thread is not None, "no revalidation was started"
    thread.join(WAIT)
    assert not thread.is_alive(), "the revalidation did not finish"


def revalidating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "spucsvi-revalidate" and t.is_alive()]


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "spuc" / "unicorn_sightings.txt"
    path.parent.mkdir(parents=True)
    return path


@pytest.fixture
def spuc(data_file):
    with EmulatorServer(data_file) as server:
        yield server


@pytest.fixture
def client(spuc):
    client = RecordingClient(spuc.url)
    yield client
    client.gate.set()
    client.close()


def locations(store, **kwargs):
    return [s.location for s in every_sighting(store.current(**kwargs))]


# --- reading SPUC's file incrementally (freshness 0: every view revalidates first) -----


def test_no_file_yet_is_empty(spuc, client):
    snapshot = SightingsStore(client, freshness_seconds=0).current()
    assert every_sighting(snapshot) == [] and snapshot.skipped == 0
    assert (snapshot.length, len(snapshot)) == (0, 0)


def test_appended_lines_are_fetched_by_range(data_file, client):
    data_file.write_text(HEADER + line(1, "moon, crater") + line(2, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    assert locations(store) == ["moon, crater", "venus"]
    size = data_file.stat().st_size
    with data_file.open("a") as f:
        f.write(line(3, "mars"))
    assert locations(store) == ["moon, crater", "venus", "mars"]
    kwargs, status, body_length = client.calls[-1]
    assert status == 206
    assert kwargs["offset"] == size - 64
    assert body_length == 64 + len(line(3, "mars"))


def test_a_new_snapshot_shares_the_columns_and_the_old_one_keeps_its_rows(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    first = store.current()
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    second = store.current()
    assert second.columns is first.columns
    assert (first.length, second.length) == (1, 2)
    assert (first.version, second.version) == (1, 2)
    assert [s.location for s in every_sighting(first)] == ["venus"]
    with pytest.raises(IndexError):
        first.sighting(1)
    assert second.sighting(1).location == "mars"


def test_unchanged_export_costs_only_the_overlap_and_keeps_the_version(data_file, client):
    # Werkzeug, which serves SPUC's export, answers a satisfiable Range before it
    # looks at If-None-Match: an unchanged file comes back as its last 64 bytes.
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    first = store.current()
    second = store.current()
    assert client.calls[-1][1:] == (206, 64)
    assert second is first and second.version == 1


def test_304_keeps_the_data(tmp_path):
    body = (HEADER + line(1, "venus")).encode()

    def respond(request, connection):
        if request.headers.get("If-None-Match") == '"v1"':
            connection.sendall(http_response(304, b"", {"ETag": '"v1"'}))
        else:
            connection.sendall(
                http_response(200, body, {"ETag": '"v1"', "Content-Type": "text/plain"})
            )

    with FakeSpuc(respond) as fake:
        fake.release.set()
        store = SightingsStore(SpucClient(fake.url), freshness_seconds=0)
        first = store.current()
        assert store.current() is first
        assert [s.location for s in every_sighting(first)] == ["venus"]
    assert [r.headers.get("If-None-Match") for r in fake.requests] == [None, '"v1"']


def test_shrunk_file_triggers_a_full_fetch(data_file, client):
    data_file.write_text(HEADER + "".join(line(i, f"place {i}") for i in range(1, 20)))
    store = SightingsStore(client, freshness_seconds=0)
    assert len(locations(store)) == 19
    data_file.write_text(HEADER + line(1, "fresh start"))
    assert locations(store) == ["fresh start"]
    assert [status for _, status, _ in client.calls[-2:]] == [416, 200]


def test_rewritten_file_of_larger_size_triggers_a_full_fetch(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    first = store.current()
    assert [s.location for s in every_sighting(first)] == ["venus"]
    data_file.write_text(HEADER + line(1, "saturn") + line(2, "jupiter"))
    assert locations(store) == ["saturn", "jupiter"]
    assert [status for _, status, _ in client.calls[-2:]] == [206, 200]
    # The old snapshot still shows what it showed: the new file got new columns.
    assert [s.location for s in every_sighting(first)] == ["venus"]


def test_deleted_file_empties_the_store(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    assert locations(store) == ["venus"]
    data_file.unlink()
    assert locations(store) == []
    assert store.current().version == 2


def test_partial_last_line_waits_for_its_end(data_file, client):
    data_file.write_text(HEADER + line(1, "venus") + "2,2026-11-27 18:02:02,ma")
    store = SightingsStore(client, freshness_seconds=0)
    assert locations(store) == ["venus"]
    with data_file.open("a") as f:
        f.write("rs,3,iuhc\n")
    assert locations(store) == ["venus", "mars"]
    assert store.current().skipped == 0


def test_broken_lines_are_counted(data_file, client):
    data_file.write_text(HEADER + "1,2026-11-27 18:02:00,mars\nforged,5,iuhc\n" + line(2, "venus"))
    snapshot = SightingsStore(client, freshness_seconds=0).current()
    assert [s.location for s in every_sighting(snapshot)] == ["venus"]
    assert snapshot.skipped == 2


def test_a_count_beyond_64_bits_is_an_unreadable_line_not_a_broken_store(data_file, client):
    # The columns keep counts as 64-bit integers; a forged line must not stop the store
    # (nor, failing half-way through a batch, add the rows before it twice).
    data_file.write_text(
        HEADER
        + line(1, "venus")
        + f"{2**63},2026-11-27 18:02:02.000001,forged,5,iuhc\n"
        + f"{2**63 - 1},2026-11-27 18:02:03.000001,largest,5,iuhc\n"
        + line(4, "mars")
    )
    store = SightingsStore(client, freshness_seconds=0)
    snapshot = store.current()
    assert [s.location for s in every_sighting(snapshot)] == ["venus", "largest", "mars"]
    assert snapshot.sighting(1).count == 2**63 - 1
    assert snapshot.skipped == 1
    with data_file.open("a") as f:
        f.write(line(5, "jupiter"))
    assert locations(store) == ["venus", "largest", "mars", "jupiter"]


def test_freshness_zero_revalidates_on_every_view(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    for expected in range(1, 4):
        store.current()
        assert store.fetches == expected
    assert revalidating_threads() == []


def venus_then_mars(data_file, client):
    """A store (1 s window, fake clock) that has seen venus; SPUC then adds mars.
    Returns the store, its clock and the snapshot it holds."""
    data_file.write_text(HEADER + line(1, "venus"))
    clock = Clock()
    store = SightingsStore(client, freshness_seconds=1.0, clock=clock)
    first = store.current()
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    return store, clock, first


# --- the freshness window: stale-while-revalidate ---------------------------------------


def test_views_within_the_freshness_window_share_one_fetch(data_file, client):
    store, clock, _ = venus_then_mars(data_file, client)
    assert locations(store) == ["venus"]
    clock.now = 0.9
    assert locations(store) == ["venus"]
    assert store.fetches == 1
    clock.now = 1.5
    client.gate.clear()  # hold the revalidation, so this view cannot race it
    # Stale: answered at once with what is known, revalidated in the background.
    assert locations(store) == ["venus"]
    client.gate.set()
    wait_for_revalidation(store)
    assert locations(store) == ["venus", "mars"]
    assert store.fetches == len(client.calls) == 2


def test_a_stale_view_answers_at_once_and_starts_one_revalidation(data_file, client):
    store, clock, first = venus_then_mars(data_file, client)
    clock.now = 1.5  # stale, but less than two windows old
    client.gate.clear()  # the revalidation will wait in its fetch
    for _ in range(5):
        assert store.current() is first  # at once, though stale
    assert client.waiting.wait(WAIT)
    assert len(revalidating_threads()) == 1
    assert store.fetches == 2  # the first load and the one revalidation in flight
    client.gate.set()
    wait_for_revalidation(store)
    assert [s.location for s in every_sighting(store.current())] == ["venus", "mars"]
    assert store.fetches == 2


@pytest.mark.parametrize("age", [2.0, 60.0])
def test_a_copy_two_windows_old_is_revalidated_before_it_is_shown(data_file, client, age):
    """A quiet process answers with what SPUC has now while SPUC is well, so that
    views landing on another worker never go back to older records."""
    assert store_module.STALE_WINDOWS == 2
    store, clock, _ = venus_then_mars(data_file, client)
    clock.now = age
    assert locations(store) == ["venus", "mars"]  # waited for the check it started
    assert store.fetches == 2


def test_a_copy_is_shown_at_once_while_spuc_hangs_and_marked_once_overdue(data_file, client):
    store, clock, first = venus_then_mars(data_file, client)
    clock.now = 60.0  # a quiet process: the first view waits a little for SPUC
    client.gate.clear()  # the check will hang in its fetch
    started = time.monotonic()
    assert store.current() is first
    assert store_module.QUIET_WAIT <= time.monotonic() - started < 2
    assert store.stale() is None  # a check under way, not overdue yet
    started = time.monotonic()
    for _ in range(5):
        assert store.current() is first  # at once: a check is under way
    assert time.monotonic() - started < 0.1
    clock.now = 60.0 + store_module.OVERDUE_CHECK + 0.5
    assert store.current() is first
    stale = store.stale()
    assert stale is not None and stale.age == 60.0 + store_module.OVERDUE_CHECK + 0.5
    assert isinstance(stale.error, SpucTimeout)
    client.gate.set()
    wait_for_revalidation(store)
    assert locations(store) == ["venus", "mars"]
    assert store.stale() is None
    assert store.fetches == 2


def test_a_failed_check_keeps_the_copy_marked_with_its_age(data_file, client, spuc):
    store, clock, first = venus_then_mars(data_file, client)
    spuc.stop()
    clock.now = 3.0
    assert store.current() is first
    wait_for_revalidation(store)
    clock.now = 4.0
    assert store.current() is first  # within the window after the failed check: no new one
    stale = store.stale()
    assert stale is not None and stale.age == 4.0
    assert isinstance(stale.error, SpucUnreachable)
    assert store.fetches == 2


def test_fresh_waits_for_spuc_a_few_seconds_at_most_then_answers_from_the_copy(
    data_file, client, monkeypatch
):
    monkeypatch.setattr(store_module, "FIRST_LOAD_WAIT", 0.2)
    store, clock, first = venus_then_mars(data_file, client)
    client.gate.clear()  # SPUC hangs
    started = time.monotonic()
    assert store.current(fresh=True) is first
    assert 0.2 <= time.monotonic() - started < 2
    clock.now = 2.0
    assert isinstance(store.stale().error, SpucTimeout)
    client.gate.set()
    wait_for_revalidation(store)
    assert locations(store, fresh=True) == ["venus", "mars"]


def test_fresh_revalidates_first_even_within_the_window(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=60, clock=Clock())
    store.current()
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    assert locations(store) == ["venus"]
    assert locations(store, fresh=True) == ["venus", "mars"]
    assert store.fetches == 2


def test_concurrent_first_views_trigger_one_fetch(data_file, client):
    data_file.write_text(HEADER + "".join(line(i, f"p{i}") for i in range(1, 2000)))
    store = SightingsStore(client, freshness_seconds=60, clock=Clock())
    barrier = threading.Barrier(8)
    results = []

    def view():
        barrier.wait()
        results.append(len(every_sighting(store.current())))

    threads = [threading.Thread(target=view) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert results == [1999] * 8
    assert len(client.calls) == 1


def test_the_first_load_waits_a_while_then_says_it_is_still_loading(data_file, client, monkeypatch):
    data_file.write_text(HEADER + line(1, "venus"))
    monkeypatch.setattr(store_module, "FIRST_LOAD_WAIT", 0.05)
    store = SightingsStore(client, freshness_seconds=60, clock=Clock())
    client.gate.clear()
    with pytest.raises(StillLoading) as caught:
        store.current()
    assert caught.value.status == 503
    assert "still reading SPUC's sightings for the first time" in str(caught.value)
    client.gate.set()
    wait_for_revalidation(store)
    assert locations(store) == ["venus"]
    assert store.fetches == 1


def test_a_down_spuc_is_asked_once_per_window_and_recovers(tmp_path):
    data_file = tmp_path / "later" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    data_file.write_text(HEADER + line(1, "venus"))
    with EmulatorServer(data_file) as spuc:
        port_url = spuc.url
    client = RecordingClient(port_url)
    clock = Clock()
    store = SightingsStore(client, freshness_seconds=1.0, clock=clock)
    for _ in range(3):
        with pytest.raises(SpucUnreachable):
            store.current()
    assert store.fetches == 1
    port = int(port_url.rsplit(":", 1)[1])
    with EmulatorServer(data_file, port=port):
        clock.now = 1.5  # stale, but less than two windows old
        client.gate.clear()  # hold the revalidation the next view starts
        with pytest.raises(SpucUnreachable):  # meanwhile the last answer stands
            store.current()
        client.gate.set()
        wait_for_revalidation(store)
        assert locations(store) == ["venus"]
        assert store.fetches == 2
    client.close()


# --- prepare: derived before other views see a snapshot -----------------------------------


def wait_for_preparing(store: SightingsStore) -> None:
    thread = store._preparing
    assert thread is not None, "nothing was prepared"
    thread.join(WAIT)
    assert not thread.is_alive(), "preparing did not finish"


def test_prepare_derives_the_default_view_before_other_views_see_the_snapshot(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    seen, release = [], threading.Event()

    def prepare(snapshot):
        seen.append((snapshot.version, store.current()))  # what other views get meanwhile
        if snapshot.version == 2:
            assert release.wait(WAIT)
        derived.prepare(snapshot)

    store = SightingsStore(client, freshness_seconds=60, clock=Clock(), prepare=prepare)
    first = store.current()
    wait_for_preparing(store)
    assert ("overview", SightingFilter()) in first.memo
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    second = store.current(fresh=True)  # the reader who waited: not held by prepare
    assert second.version == 2 and store.current() is first
    release.set()
    wait_for_preparing(store)
    assert store.current() is second
    assert ("overview", SightingFilter()) in second.memo
    assert seen == [(1, first), (2, first)]  # the first: nothing older to show


def test_a_failing_prepare_never_loses_a_version(data_file, client, caplog):
    data_file.write_text(HEADER + line(1, "venus"))
    calls = []

    def prepare(snapshot):
        calls.append(snapshot.version)
        if len(calls) == 2:
            raise RuntimeError("prepare broke")
        derived.prepare(snapshot)

    store = SightingsStore(client, freshness_seconds=0, prepare=prepare)
    assert locations(store) == ["venus"]
    wait_for_preparing(store)
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    with caplog.at_level(logging.ERROR, logger="spucsvi.data.store"):
        snapshot = store.current()
        wait_for_preparing(store)
    assert [s.location for s in every_sighting(snapshot)] == ["venus", "mars"]
    assert snapshot.version == 2
    assert "Preparing the data of a new version failed" in caplog.text
    # Views derive what prepare did not.
    summary, _ = derived.overview(snapshot, SightingFilter())
    assert summary.total == 2 and summary.latest.location == "mars"
    with data_file.open("a") as f:
        f.write(line(3, "jupiter"))
    later = store.current()
    wait_for_preparing(store)
    assert [s.location for s in every_sighting(later)] == ["venus", "mars", "jupiter"]
    assert ("overview", SightingFilter()) in later.memo
    assert calls == [1, 2, 3]


# --- per process --------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_revalidates_though_the_parent_was_mid_revalidation(data_file, client):
    """A store made before a fork (gunicorn --preload) works in the child, even when
    the fork copied a revalidation lock the parent held."""
    store, clock, _ = venus_then_mars(data_file, client)
    clock.now = 1.5
    client.gate.clear()  # the parent's revalidation holds its lock, waiting
    store.current()
    assert client.waiting.wait(WAIT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: its fetches do not wait (the gate is the parent's)
        status = 1
        try:
            signal.alarm(int(WAIT))  # a deadlock kills the child, failing the test
            found = [s.location for s in every_sighting(store.current(fresh=True))]
            status = 0 if found == ["venus", "mars"] else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    client.gate.set()
    wait_for_revalidation(store)
    assert os.waitstatus_to_exitcode(status) == 0


# --- warm: pages built after publication, off the thread that asked ------------------


def test_views_see_a_version_once_warm_is_done_and_whoever_waited_at_once(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    release, warmed = threading.Event(), []

    def warm(snapshot):
        if snapshot.version == 2:
            assert release.wait(WAIT)
        warmed.append(snapshot.version)

    store = SightingsStore(client, freshness_seconds=60, clock=Clock(), warm=warm)
    first = store.current()
    wait_for_preparing(store)
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    second = store.current(fresh=True)  # a submitter reading back: not held by warm
    assert second.version == 2
    assert store.current() is first  # the others: the version whose pages are built
    release.set()
    wait_for_preparing(store)
    assert store.current() is second
    assert warmed == [1, 2]


def test_a_version_is_freed_when_the_one_after_next_comes_while_nobody_holds_it(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=60, clock=Clock(), prepare=derived.prepare)
    first = store.current()
    wait_for_preparing(store)
    memo, held = first.memo, weakref.ref(first)
    assert len(memo) > 0
    del first
    for count, place in ((2, "mars"), (3, "jupiter")):
        with data_file.open("a") as f:
            f.write(line(count, place))
        store.current(fresh=True)
        wait_for_preparing(store)
        if count == 2:  # shown until just now: kept while its first views may run
            assert held() is not None and len(memo) > 0
    assert held() is None and len(memo) == 0


# --- Memo ---------------------------------------------------------------------------------


def test_memo_computes_each_key_once_and_drops_the_least_recently_used():
    memo = Memo(2)
    computed = []

    def value(key):
        return lambda: computed.append(key) or key.upper()

    assert memo.get("a", value("a")) == "A"
    assert memo.get("b", value("b")) == "B"
    assert memo.get("a", value("a")) == "A"  # "a" is now the most recently used
    assert memo.get("c", value("c")) == "C"  # drops "b"
    assert ("a" in memo, "b" in memo, "c" in memo, len(memo)) == (True, False, True, 2)
    assert memo.get("b", value("b")) == "B"
    assert computed == ["a", "b", "c", "b"]


def test_memo_computes_a_value_once_while_threads_ask_for_it_at_once():
    memo, computed = Memo(), []
    barrier = threading.Barrier(4)

    def slow():
        computed.append(1)
        time.sleep(0.1)
        return "page"

    def ask():
        barrier.wait()
        assert memo.get("key", slow) == "page"

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert computed == [1]


@dataclass
class Body:
    body: bytes


def test_pages_are_bounded_by_bytes_however_many_are_asked_for():
    pages = Snapshot().pages
    megabyte = 1024 * 1024
    for number in range(200):  # 200 page numbers of 1 MB each
        pages.get(("page", number), lambda: Body(b"x" * megabyte))
    assert pages.currsize <= store_module.PAGE_BYTES
    assert len(pages) == store_module.PAGE_BYTES // (2 * megabyte)  # counted with copies
    huge = Body(b"x" * store_module.PAGE_BYTES)
    assert pages.get("huge", lambda: huge) is huge  # over the budget: given, not kept
    assert "huge" not in pages and pages.currsize <= store_module.PAGE_BYTES


# --- over HTTP: a broken SPUC, many pages ---------------------------------------------

ANSWER_BOUND = 1.0  # seconds within which every view and /healthz must answer


class BrokenExport:
    """A SPUC whose export answers whole until `mode` says otherwise: "trickle"
    sends the head, then a byte every 2 s; "hang" sends nothing."""

    def __init__(self, body: bytes):
        self.body, self.mode = body, "whole"
        self.fake = FakeSpuc(self.respond)

    def respond(self, request, connection):
        if self.mode == "whole":
            connection.sendall(http_response(200, self.body, {"Content-Type": "text/plain"}))
            return
        if self.mode == "trickle":
            answer = http_response(200, self.body, {"Content-Type": "text/plain"})
            head = answer[: -len(self.body)]
            connection.sendall(head)
            for byte in self.body:
                if self.fake.release.wait(2.0):
                    return
                connection.sendall(bytes([byte]))


def wait_until(condition) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def timed_get(url: str) -> tuple[float, requests.Response]:
    started = time.monotonic()
    answer = requests.get(url, timeout=10)
    return time.monotonic() - started, answer


@pytest.mark.parametrize("mode", ["trickle", "hang"])
def test_a_slow_or_hung_export_never_holds_a_view_that_has_a_copy(tmp_path, mode):
    body = (HEADER + line(1, "venus") + line(2, "mars")).encode()
    broken = BrokenExport(body)
    with broken.fake as fake:
        env = {"SPUCSVI_FRESHNESS": "0.5", "SPUC_READ_TIMEOUT": "3"}
        with gunicorn(tmp_path, fake.url, workers=1, env=env) as served:
            wait_until(lambda: requests.get(served.url, timeout=10).status_code == 200)
            broken.mode = mode
            time.sleep(0.6)  # past the freshness window: the next view starts a check
            slowest, marked = 0.0, False
            started = time.monotonic()
            while time.monotonic() - started < 3.0:
                for path in ("/", "/api/summary", "/healthz"):
                    took, answer = timed_get(served.url + path)
                    assert answer.status_code == 200, (path, answer.status_code)
                    slowest = max(slowest, took)
                    if path == "/":
                        assert 'data-testid="total">2<' in answer.text
                        marked |= 'data-testid="stale"' in answer.text
                time.sleep(0.2)
            assert slowest < ANSWER_BOUND
            assert marked, "the copy was never marked with its age"
            assert len([r for r in fake.requests if r.path == "/export"]) <= 3


def test_many_page_numbers_keep_the_pages_within_their_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "PAGE_BYTES", 512 * 1024)
    data_file = tmp_path / "spuc.txt"
    data_file.write_text(HEADER + "".join(line(i, f"place {i % 40}") for i in range(1, 2001)))
    with EmulatorServer(data_file) as spuc:
        app = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="60")
        with spucsvi_in_process(app) as url, requests.Session() as session:
            for page in range(1, 201):
                assert session.get(f"{url}/?page={page}", timeout=10).status_code == 200
        pages = app.extensions["sightings_store"].current().pages
        assert pages.currsize <= store_module.PAGE_BYTES
        assert 0 < len(pages) < 200  # the oldest went
        app.extensions["spuc_client"].close()
