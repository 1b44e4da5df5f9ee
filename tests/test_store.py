"""The store fetches SPUC's export incrementally, stays correct when it changes, and
serves stale-while-revalidate: one background revalidation at a time per process."""

from __future__ import annotations

import logging
import os
import signal
import threading
import warnings

import pytest

from spucsvi.data import derived
from spucsvi.data import store as store_module
from spucsvi.data.query import SightingFilter
from spucsvi.data.store import Memo, SightingsStore, StillLoading
from spucsvi.spuc.client import SpucClient, SpucUnreachable
from spucsvi.spuc.emulator import EmulatorServer
from tests.support.fakes import FakeSpuc, http_response
from tests.support.records import HEADER, every_sighting

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
    """A quiet process never answers with records older than STALE_WINDOWS windows."""
    assert store_module.STALE_WINDOWS == 2
    store, clock, _ = venus_then_mars(data_file, client)
    clock.now = age
    assert locations(store) == ["venus", "mars"]  # at once: revalidated in this call
    assert store._running is None or not store._running.is_alive()
    assert store.fetches == 2
    assert revalidating_threads() == []


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


# --- prepare: derived before a snapshot is published ------------------------------------


def test_prepare_derives_the_default_view_before_the_snapshot_is_shown(data_file, client):
    data_file.write_text(HEADER + line(1, "venus"))
    seen = []

    def prepare(snapshot):
        seen.append((snapshot.version, store._snapshot))  # what views see meanwhile
        derived.prepare(snapshot)

    store = SightingsStore(client, freshness_seconds=0, prepare=prepare)
    first = store.current()
    assert ("overview", SightingFilter()) in first.memo
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    second = store.current()
    assert ("overview", SightingFilter()) in second.memo
    assert seen == [(1, None), (2, first)]


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
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    with caplog.at_level(logging.ERROR, logger="spucsvi.data.store"):
        snapshot = store.current()
    assert [s.location for s in every_sighting(snapshot)] == ["venus", "mars"]
    assert snapshot.version == 2
    assert "Preparing the views of a new version failed" in caplog.text
    # Views derive what prepare did not.
    summary, _ = derived.overview(snapshot, SightingFilter())
    assert summary.total == 2 and summary.latest.location == "mars"
    with data_file.open("a") as f:
        f.write(line(3, "jupiter"))
    later = store.current()
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


# --- Memo ---------------------------------------------------------------------------------


def test_memo_computes_each_key_once_and_drops_the_least_recently_used():
    memo = Memo(size=2)
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
