"""Once per process, one way: a forked child (a gunicorn worker) makes its own
value, never using its parent's, even one being made at the fork."""

from __future__ import annotations

import os
import signal
import threading

from spucsvi.per_process import PerProcess


def in_child(check) -> int:
    """Fork; run `check()` in the child (at most 5 s); its exit status (0: True)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        signal.alarm(5)
        try:
            os._exit(0 if check() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_made_once_in_a_process_and_again_in_a_forked_child():
    made = []
    value = PerProcess(lambda: made.append(os.getpid()) or object())
    first = value()
    assert value() is first and made == [os.getpid()]
    assert value.existing() is first
    assert in_child(lambda: value() is not first and value() is value()) == 0
    assert value() is first and made == [os.getpid()]


def test_nothing_is_made_by_asking_whether_it_was():
    value = PerProcess(object)
    assert value.existing() is None
    assert in_child(lambda: value.existing() is None) == 0


def test_a_value_being_made_at_the_fork_does_not_stop_the_child():
    parent = os.getpid()
    started, release = threading.Event(), threading.Event()

    def slow():
        if os.getpid() == parent:
            started.set()
            release.wait(10)
        return object()

    slow_value = PerProcess(slow)
    maker = threading.Thread(target=slow_value)
    maker.start()
    started.wait(5)
    try:
        # The parent's thread is making it at the fork: the child makes its own.
        assert in_child(lambda: slow_value() is slow_value()) == 0
    finally:
        release.set()
        maker.join(10)


def test_per_thread_values_are_made_once_per_thread():
    value = PerProcess(object, per_thread=True)
    seen = []

    def use() -> None:
        seen.append((value(), value()))

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
        thread.join()
    assert all(first is second for first, second in seen)
    assert len({id(first) for first, _ in seen} | {id(value())}) == 4
