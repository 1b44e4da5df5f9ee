"""Objects made once in each process: a gunicorn worker forked from a master
that had one gets its own, never a copy of the master's (a lock that may be
held, a count, a connection's socket)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Held only while a value is made; a child gets a new one, as the parent's may
# have been held by another thread at the fork.
_making = threading.RLock()


def _after_fork_in_child() -> None:
    global _making
    _making = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class PerProcess(Generic[T]):
    """`make()` of this process (and thread, with `per_thread`), made on first call."""

    def __init__(self, make: Callable[[], T], *, per_thread: bool = False):
        self._make = make
        self._holder: Any = threading.local() if per_thread else SimpleNamespace()

    def __call__(self) -> T:
        made = self._made()
        if made is None:
            with _making:
                made = self._made()
                if made is None:
                    made = (os.getpid(), self._make())
                    self._holder.made = made
        return made[1]

    def existing(self) -> T | None:
        """This process's value if it was made (in this thread, with `per_thread`)."""
        made = self._made()
        return None if made is None else made[1]

    def _made(self) -> tuple[int, T] | None:
        made = getattr(self._holder, "made", None)
        return made if made is not None and made[0] == os.getpid() else None
