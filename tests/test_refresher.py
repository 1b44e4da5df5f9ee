"""The background refresher keeps a worker's records and default page ready."""

import time

import requests
from conftest import make_app

from spucsvi import refresher
from spucsvi.data.query import Query
from spucsvi.spuc.client import SpucError
from spucsvi.spuc.emulator import EmulatorServer


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_sighting_made_at_spuc_is_ready_before_anyone_asks(spuc, tmp_path):
    app = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="0.25")
    store, cache = app.extensions["sightings_store"], app.extensions["view_cache"]
    stop = refresher.start(app)
    try:
        assert wait_for(lambda: store.fetches >= 1)
        with requests.put(
            f"{spuc.url}/unicorn_spotted",
            params={"location": "venus", "brightness": "7"},
            timeout=5,
        ):
            pass
        assert wait_for(lambda: len(store.current().sightings) == 1)
        version = store.current().version
        assert wait_for(lambda: len(cache) > 0)
        page = cache.get(version, ("page", Query()), lambda: None)
        assert page is not None and b"venus" in page.head
    finally:
        stop.set()


def test_views_leave_revalidation_to_the_refresher_until_a_submission(spuc, tmp_path):
    app = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="0")
    store = app.extensions["sightings_store"]
    store.refresh()
    fetches = store.fetches
    for _ in range(5):
        store.current()
    assert store.fetches == fetches
    store.invalidate()
    store.current()
    assert store.fetches == fetches + 1


def test_the_refresher_survives_a_spuc_outage_and_recovers(tmp_path):
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    with EmulatorServer(data_file) as spuc:
        url = spuc.url
    app = make_app(url, tmp_path, SPUCSVI_FRESHNESS="0.25")
    store = app.extensions["sightings_store"]
    stop = refresher.start(app)
    try:
        assert wait_for(lambda: store.fetches >= 2)
        port = int(url.rsplit(":", 1)[1])
        with EmulatorServer(data_file, port=port) as back:
            with requests.put(
                f"{back.url}/unicorn_spotted",
                params={"location": "mars", "brightness": "3"},
                timeout=5,
            ):
                pass
            assert wait_for(lambda: _total(store) == 1)
    finally:
        stop.set()


def _total(store):
    try:
        return len(store.current().sightings)
    except SpucError:
        return None


def test_the_new_version_is_prepared_before_views_see_it(spuc, tmp_path):
    app = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="0")
    store = app.extensions["sightings_store"]
    seen_by_prepare = []

    def prepare(snapshot):
        # Views still see the old version while the new one is prepared.
        seen_by_prepare.append((snapshot.version, store._snapshot.version))

    with requests.put(
        f"{spuc.url}/unicorn_spotted", params={"location": "venus", "brightness": "7"}, timeout=5
    ):
        pass
    assert store.refresh(prepare).version == 1
    assert seen_by_prepare == [(1, 0)]
