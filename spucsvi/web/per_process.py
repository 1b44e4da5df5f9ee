"""Objects made once in each process: a gunicorn worker forked from a master
that had one gets its own, not a copy of the master's (a lock or a count)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_process(make: Callable[[], T]) -> Callable[[], T]:
    """A function that returns this process's `make()`, made on first use."""
    made: dict[int, T] = {}
    lock = threading.Lock()

    def get() -> T:
        pid = os.getpid()
        with lock:
            if pid not in made:
                made[pid] = make()
            return made[pid]

    return get
