"""The store fetches SPUC's export incrementally and stays correct when it changes."""

import threading

import pytest
from fakes import FakeSpuc, http_response

from spucsvi.data.store import SightingsStore
from spucsvi.spuc.client import SpucClient, SpucUnreachable
from spucsvi.spuc.emulator import EmulatorServer

HEADER = "count,time,location,brightness,units\n"


def line(count, location, brightness=5, units="iuhc"):
    return f"{count},2026-11-27 18:02:{count % 60:02d}.000001,{location},{brightness},{units}\n"


class RecordingClient(SpucClient):
    """The real client, remembering what each export request asked and got."""

    def __init__(self, url):
        super().__init__(url)
        self.calls = []

    def fetch_export(self, **kwargs):
        answer = super().fetch_export(**kwargs)
        self.calls.append((kwargs, answer.status, len(answer.body)))
        return answer


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def data_file(tmp_path):
    return tmp_path / "spuc" / "unicorn_sightings.txt"


@pytest.fixture
def spuc(data_file):
    with EmulatorServer(data_file) as server:
        yield server


@pytest.fixture
def client(spuc):
    return RecordingClient(spuc.url)


def locations(store):
    return [s.location for s in store.current().sightings]


def test_no_file_yet_is_empty(spuc, client):
    snapshot = SightingsStore(client, freshness_seconds=0).current()
    assert snapshot.sightings == () and snapshot.skipped == 0


def test_appended_lines_are_fetched_by_range(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
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


def test_unchanged_export_costs_only_the_overlap_and_keeps_the_version(data_file, client):
    # Werkzeug, which serves SPUC's export, answers a satisfiable Range before it
    # looks at If-None-Match: an unchanged file comes back as its last 64 bytes.
    data_file.parent.mkdir(parents=True, exist_ok=True)
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
        store = SightingsStore(SpucClient(fake.url), freshness_seconds=0)
        first = store.current()
        assert store.current() is first
        assert [s.location for s in first.sightings] == ["venus"]
    assert [r.headers.get("If-None-Match") for r in fake.requests] == [None, '"v1"']


def test_shrunk_file_triggers_a_full_fetch(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + "".join(line(i, f"place {i}") for i in range(1, 20)))
    store = SightingsStore(client, freshness_seconds=0)
    assert len(locations(store)) == 19
    data_file.write_text(HEADER + line(1, "fresh start"))
    assert locations(store) == ["fresh start"]
    assert [status for _, status, _ in client.calls[-2:]] == [416, 200]


def test_rewritten_file_of_larger_size_triggers_a_full_fetch(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    assert locations(store) == ["venus"]
    data_file.write_text(HEADER + line(1, "saturn") + line(2, "jupiter"))
    assert locations(store) == ["saturn", "jupiter"]
    assert [status for _, status, _ in client.calls[-2:]] == [206, 200]


def test_deleted_file_empties_the_store(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=0)
    assert locations(store) == ["venus"]
    data_file.unlink()
    assert locations(store) == []


def test_partial_last_line_waits_for_its_end(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + line(1, "venus") + "2,2026-11-27 18:02:02,ma")
    store = SightingsStore(client, freshness_seconds=0)
    assert locations(store) == ["venus"]
    with data_file.open("a") as f:
        f.write("rs,3,iuhc\n")
    assert locations(store) == ["venus", "mars"]
    assert store.current().skipped == 0


def test_broken_lines_are_counted(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + "1,2026-11-27 18:02:00,mars\nforged,5,iuhc\n" + line(2, "venus"))
    snapshot = SightingsStore(client, freshness_seconds=0).current()
    assert [s.location for s in snapshot.sightings] == ["venus"]
    assert snapshot.skipped == 2


def test_views_within_the_freshness_window_share_one_fetch(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + line(1, "venus"))
    clock = Clock()
    store = SightingsStore(client, freshness_seconds=1.0, clock=clock)
    store.current()
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    assert locations(store) == ["venus"]
    clock.now = 1.5
    assert locations(store) == ["venus", "mars"]
    assert len(client.calls) == 2


def test_invalidate_makes_the_next_view_fetch(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + line(1, "venus"))
    store = SightingsStore(client, freshness_seconds=60, clock=Clock())
    store.current()
    with data_file.open("a") as f:
        f.write(line(2, "mars"))
    store.invalidate()
    assert locations(store) == ["venus", "mars"]


def test_concurrent_views_trigger_one_fetch(data_file, client):
    data_file.parent.mkdir(parents=True, exist_ok=True)
    data_file.write_text(HEADER + "".join(line(i, f"p{i}") for i in range(1, 2000)))
    store = SightingsStore(client, freshness_seconds=60, clock=Clock())
    barrier = threading.Barrier(8)
    results = []

    def view():
        barrier.wait()
        results.append(len(store.current().sightings))

    threads = [threading.Thread(target=view) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1999] * 8
    assert len(client.calls) == 1


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
        clock.now = 2.0
        assert locations(store) == ["venus"]
