"""The submission limit's counters: found by index, bounded, and keyed per IPv6 /64."""

from __future__ import annotations

import pytest

from spucsvi.web import ratelimit
from spucsvi.web.ratelimit import SqliteStorage
from tests.support.apps import make_app, post_sighting


@pytest.fixture
def storage(tmp_path):
    return SqliteStorage(f"{ratelimit.SCHEME}://{tmp_path / 'rates.sqlite'}")


def test_expired_counters_are_found_through_an_index_not_a_full_scan(storage):
    storage.incr("someone", 60)
    plan = (
        storage._db()
        .execute("EXPLAIN QUERY PLAN DELETE FROM counters WHERE expires <= ?", (0.0,))
        .fetchall()
    )
    assert any("counters_expires" in row[-1] for row in plan), plan


def test_the_counters_are_bounded_dropping_those_closest_to_expiring(storage, monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_COUNTERS", 100)
    for number in range(150):
        storage.incr(f"client-{number}", 3600 + number)
    monkeypatch.setattr(ratelimit, "BOUND_EVERY", 0.0)
    assert storage.incr("newest", 7200) == 1
    (rows,) = storage._db().execute("SELECT count(*) FROM counters").fetchone()
    assert rows == 100
    assert storage.get("newest") == 1
    assert storage.get("client-149") == 1
    assert storage.get("client-0") == 0


def test_one_ipv6_64_shares_one_limit_and_another_64_has_its_own(spuc, tmp_path):
    client = make_app(spuc.url, tmp_path, SPUCSVI_SUBMIT_RATE="2/minute").test_client()

    def send(address: str) -> int:
        return post_sighting(client, "moon", "3", environ_base={"REMOTE_ADDR": address}).status_code

    assert [send(f"2001:db8::{n:x}") for n in range(1, 4)] == [303, 303, 429]
    assert send("2001:db8:0:1::1") == 303
    assert send("::ffff:192.0.2.7") == 303
    assert send("192.0.2.7") == 303
    assert send("::ffff:192.0.2.7") == 429
