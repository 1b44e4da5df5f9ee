"""The view cache keeps only the newest data version's views, bounded in number."""

from spucsvi.dashboard import ViewCache


def test_cached_value_is_computed_once_per_version_and_key():
    cache, calls = ViewCache(), []

    def compute():
        calls.append(1)
        return len(calls)

    assert cache.get(1, "a", compute) == 1
    assert cache.get(1, "a", compute) == 1
    assert cache.get(1, "b", compute) == 2
    assert len(calls) == 2


def test_a_newer_version_drops_the_older_entries():
    cache = ViewCache()
    cache.get(1, "a", lambda: "old")
    cache.get(1, "b", lambda: "old")
    assert cache.get(2, "a", lambda: "new") == "new"
    assert len(cache) == 1


def test_a_late_answer_for_an_older_version_is_not_stored():
    cache = ViewCache()
    cache.get(2, "a", lambda: "new")
    assert cache.get(1, "a", lambda: "stale") == "stale"
    assert cache.get(2, "a", lambda: "recomputed") == "new"
    assert len(cache) == 1


def test_the_number_of_entries_is_bounded():
    cache = ViewCache(size=3)
    for key in range(10):
        cache.get(1, key, lambda key=key: key)
    assert len(cache) == 3
    assert cache.get(1, 9, lambda: "missing") == 9
    assert cache.get(1, 0, lambda: "evicted") == "evicted"
