"""Each worker's background refresher: views never wait for SPUC or a rebuild.

Once a freshness window it revalidates the records with SPUC and, when they
changed, renders the default page for the new data version before views see
that version, so the first view after a new sighting costs what any cached
view costs. A submission through SPUCSVi still revalidates on the next view,
so the visitor who made it sees it at once.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from spucsvi.data.query import Query
from spucsvi.data.store import Snapshot
from spucsvi.spuc.client import SpucError
from spucsvi.web import services

log = logging.getLogger(__name__)

MIN_INTERVAL = 0.25


def start(app: Flask) -> threading.Event:
    """Start the refresher for `app` in a daemon thread (one per worker process).

    Setting the returned event stops it.
    """
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(app, stop), name="spucsvi-refresher", daemon=True)
    thread.start()
    return stop


def run(app: Flask, stop: threading.Event) -> None:
    from spucsvi.web.pages import shared_page

    with app.app_context():
        interval = max(services.settings().freshness_seconds, MIN_INTERVAL)
        store = services.store()

    def prepare(snapshot: Snapshot) -> None:
        with app.test_request_context("/"):
            shared_page(snapshot, Query())

    while not stop.is_set():
        try:
            store.refresh(prepare)
        except SpucError:
            pass  # views show the reason; the next round tries again
        except Exception:
            log.exception("Background refresh failed")
        stop.wait(interval)
