"""The view cache keeps the two newest data versions' views, bounded in number."""

from spucsvi.data.derived import ViewCache


def test_cached_value_is_computed_once_per_version_and_key():
    cache, calls = ViewCache(), []

    def compute():
        calls.append(1)
        return len(calls)

    assert cache.get(1, "a", compute) == 1
    assert cache.get(1, "a", compute) == 1
    assert cache.get(1, "b", compute) == 2
    assert len(calls) == 2


def test_the_previous_version_is_kept_and_older_ones_dropped():
    cache = ViewCache()
    cache.get(1, "a", lambda: "one")
    cache.get(1, "b", lambda: "one")
    cache.get(2, "a", lambda: "two")
    # Views still on version 1 while 2 is prepared hit the cache.
    assert cache.get(1, "a", lambda: "recomputed") == "one"
    assert len(cache) == 3
    cache.get(3, "a", lambda: "three")
    assert len(cache) == 2
    assert cache.get(1, "a", lambda: "recomputed") == "recomputed"


def test_a_late_answer_for_an_old_version_is_not_stored():
    cache = ViewCache()
    cache.get(3, "a", lambda: "new")
    assert cache.get(1, "a", lambda: "stale") == "stale"
    assert cache.get(1, "a", lambda: "stale again") == "stale again"
    assert len(cache) == 1


def test_the_number_of_entries_is_bounded():
    cache = ViewCache(size=3)
    for key in range(10):
        cache.get(1, key, lambda key=key: key)
    assert len(cache) == 3
    assert cache.get(1, 9, lambda: "missing") == 9
    assert cache.get(1, 0, lambda: "evicted") == "evicted"
