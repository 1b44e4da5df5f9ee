"""`GET /metrics`: what an operator watches, in Prometheus' text format.

Counts (requests, submissions, revalidations) are prometheus_client's multiprocess
metrics: each process writes its own file in one folder per server and a scrape,
whichever worker answers it, adds them all up. The folder is the operator's
PROMETHEUS_MULTIPROC_DIR when set, else one the app makes in its private folder
(`settings.private_dir`, mode 0700) per server: keyed by the process that forked
the workers (the gunicorn master), or by the process itself when nothing forked
it (waitress, `flask run`), so that no server configuration file is needed and
two servers never add up each other's counts. Folders of servers that are gone
are removed when a new one is made. The files of a worker that died stay: its
counts are part of the server's totals, which must never go down.

What the store knows (sightings per unit, the copy's age, whether SPUC answered)
is not counted but read at scrape time from the worker that answers (`StoreFacts`):
multiprocess gauges would keep the values of dead workers unless a server hook
marked them dead, and would add up or pick among copies that differ only by a
moment. Label values are bounded: routes are the app's URL rules (an unknown
path is `unmatched`), methods the usual ones, units the most sighted few.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request

from spucsvi.per_process import PerProcess
from spucsvi.settings import SettingsError, UnsafeFolder, private_dir
from spucsvi.spuc.client import SpucError

if TYPE_CHECKING:
    from prometheus_client import Histogram
    from prometheus_client.core import Counter as PromCounter
    from prometheus_client.metrics_core import Metric

    from spucsvi.data.store import SightingsStore, Snapshot

log = logging.getLogger(__name__)

blueprint = Blueprint("metrics", __name__)

ENV = "PROMETHEUS_MULTIPROC_DIR"
# The folders the app makes itself: metrics-<server pid>-<its start time>.
OWN_FOLDER = re.compile(r"metrics-(\d+)-(\d+)")
# The environ key where a request's route is noted for the timing middleware.
ROUTE_KEY = "spucsvi.metrics.route"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# Units shown one by one, the most sighted first; the others are added up as OTHER_UNITS.
UNIT_SERIES = 10
OTHER_UNITS = "(other)"
UNIT_LABEL_CHARS = 64
# Why a submission was refused; the response's status says it but for a 5xx.
REASONS = (
    "invalid",
    "rate_limited",
    "cross_origin",
    "spuc_down",
    "busy",
    "unavailable",
    "error",
)
SUBMIT_ENDPOINTS = ("pages.submit", "api.create_sighting")
# The text format every Prometheus reads; prometheus_client's newer default (1.0.0)
# is for Prometheus 3's UTF-8 names, which these metrics do not need.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_NOTED = "spucsvi_metrics_refusal"

T = TypeVar("T")


# --- the folder of a server ------------------------------------------------------------


def started(pid: int) -> int | None:
    """When a process started (clock ticks since boot): with its pid, which the
    system reuses, it names one process; None when there is no such process."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _is_fork_of_parent() -> bool:
    """Whether this process is its parent's fork, not a program it ran: a worker of
    a pre-forking server (gunicorn) has its master's executable and command line."""
    try:
        here, parent = Path("/proc/self"), Path(f"/proc/{os.getppid()}")
        return os.readlink(here / "exe") == os.readlink(parent / "exe") and (
            (here / "cmdline").read_bytes() == (parent / "cmdline").read_bytes()
        )
    except OSError:
        return False


def _is_own(folder: Path) -> bool:
    return OWN_FOLDER.fullmatch(folder.name) is not None and folder.parent.name.startswith(
        "spucsvi"
    )


def multiprocess_dir() -> Path:
    """The folder this server's processes count in (see the module's docstring)."""
    given = os.environ.get(ENV, "")
    # One of ours, inherited from another server's process, is not the operator's.
    if given and not _is_own(Path(given)):
        folder = Path(given)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder
    server = os.getppid() if _is_fork_of_parent() else os.getpid()
    base = private_dir()
    folder = base / f"metrics-{server}-{started(server) or 0}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        return folder
    _remove_gone(base)
    return folder


def _remove_gone(base: Path) -> None:
    """Remove the folders of servers that are no longer running (told by /proc)."""
    if started(os.getpid()) is None:
        return
    for folder in base.glob("metrics-*"):
        match = OWN_FOLDER.fullmatch(folder.name)
        if match and started(int(match[1])) != int(match[2]):
            shutil.rmtree(folder, ignore_errors=True)


# --- the counts, one set per process ---------------------------------------------------


@dataclass(frozen=True)
class Counts:
    requests: Histogram
    accepted: PromCounter
    refused: PromCounter
    revalidations: Histogram
    folder: Path


def _make_counts() -> Counts:
    """This process's metrics, writing to its server's folder.

    prometheus_client picks multiprocess mode when it is first imported, from
    PROMETHEUS_MULTIPROC_DIR: should anything have imported it before the folder
    was chosen, the mode is set here, before any metric of ours exists."""
    folder = multiprocess_dir()
    os.environ[ENV] = str(folder)
    from prometheus_client import Counter as PromCounter
    from prometheus_client import Histogram, values

    if not values.ValueClass._multiprocess:
        values.ValueClass = values.MultiProcessValue()
    counts = Counts(
        requests=Histogram(
            "spucsvi_http_request_duration_seconds",
            "Requests by route (the app's URL rule), method and status, and their seconds "
            "until the answer's body was ready",
            ["route", "method", "status"],
            registry=None,
        ),
        accepted=PromCounter(
            "spucsvi_submissions_accepted",
            "Sightings sent to SPUC and recorded (form, its old path and the JSON API)",
            registry=None,
        ),
        refused=PromCounter(
            "spucsvi_submissions_refused",
            "Submissions refused, by reason: nothing was sent to SPUC, or SPUC failed",
            ["reason"],
            registry=None,
        ),
        revalidations=Histogram(
            "spucsvi_revalidation_duration_seconds",
            "Seconds each check of SPUC's export took, by result (ok, failed)",
            ["result"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=None,
        ),
        folder=folder,
    )
    counts.accepted.inc(0)
    for reason in REASONS:  # every reason a series from the start, at 0
        counts.refused.labels(reason).inc(0)
    return counts


_counts = PerProcess(_make_counts)


def _recorded(record: Callable[[Counts], object]) -> None:
    """Count something; a failure to (a folder removed under us) is logged, never
    the request's failure."""
    try:
        record(_counts())
    except (OSError, UnsafeFolder, ValueError):
        log.exception("Cannot record a metric")


# --- what the app reports --------------------------------------------------------------


def install(app: Flask) -> None:
    """Serve /metrics and count the app's requests, submissions and revalidations,
    unless SPUCSVI_METRICS is off. Call after the other WSGI middleware is set up,
    so that the timing includes it."""
    if not app.config["SPUCSVI_SETTINGS"].metrics:
        return
    if not os.environ.get(ENV):
        try:
            private_dir()
        except UnsafeFolder as exc:
            raise SettingsError(f"{exc} (or set {ENV}, or SPUCSVI_METRICS=off)") from None
    app.register_blueprint(blueprint)
    app.after_request(_after_request)
    app.wsgi_app = Timed(app.wsgi_app)  # type: ignore[method-assign]
    app.extensions["sightings_store"].on_check = revalidated


def revalidated(seconds: float, error: SpucError | None) -> None:
    """The store's `on_check`: one check of SPUC's export ended."""
    result = "ok" if error is None else "failed"
    _recorded(lambda counts: counts.revalidations.labels(result).observe(seconds))


def noting_refusal(submit: Callable[..., T]) -> Callable[..., T]:
    """Wraps the submission: a SpucError it raises is noted for this request, so that
    its refusal is counted by reason (busy, SPUC down) whatever view answers it."""

    @functools.wraps(submit)
    def noted(*args: Any, **kwargs: Any) -> T:
        try:
            return submit(*args, **kwargs)
        except SpucError as exc:
            if has_request_context():
                setattr(g, _NOTED, exc)
            raise

    return noted


def refusal_reason(status: int, noted: SpucError | None) -> str | None:
    """Why a submission answered `status` was refused; None: it was accepted."""
    from spucsvi.sightings.submission import SubmissionsBusy, SubmissionsUnavailable

    if status < 400:
        return None
    if status == 403:  # the only 403: web/security.py's cross-origin check
        return "cross_origin"
    if status == 429:
        return "rate_limited"
    if status < 500:
        return "invalid"
    if isinstance(noted, SubmissionsBusy):
        return "busy"
    if isinstance(noted, SubmissionsUnavailable):
        return "unavailable"
    return "spuc_down" if noted is not None else "error"


def _after_request(response: Response) -> Response:
    rule = request.url_rule
    request.environ[ROUTE_KEY] = rule.rule if rule is not None else UNMATCHED
    if request.endpoint in SUBMIT_ENDPOINTS and request.method == "POST":
        reason = refusal_reason(response.status_code, g.get(_NOTED))
        if reason is None:
            _recorded(lambda counts: counts.accepted.inc())
        else:
            _recorded(lambda counts: counts.refused.labels(reason).inc())
    return response


class Timed:
    """WSGI middleware: each request's seconds until its answer's body is ready,
    by route (noted by `_after_request`; `unmatched` for any other path), bounded
    method and status."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        begun = time.perf_counter()
        status = "500"

        def starting(line: str, headers: list, exc_info: Any = None) -> Callable:
            nonlocal status
            status = line[:3]
            return start_response(line, headers, exc_info)

        try:
            return self.wsgi_app(environ, starting)
        finally:
            seconds = time.perf_counter() - begun
            method = environ.get("REQUEST_METHOD", "")
            labels = (
                environ.get(ROUTE_KEY, UNMATCHED),
                method if method in METHODS else "other",
                status,
            )
            _recorded(lambda counts: counts.requests.labels(*labels).observe(seconds))


# --- the scrape ------------------------------------------------------------------------


class StoreFacts:
    """A collector of what the answering worker's store knows, read at scrape time."""

    def __init__(self, store: SightingsStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        store = self.store
        with contextlib.suppress(SpucError):  # no copy yet: no sightings to tell
            snapshot = store.current()
            sightings = GaugeMetricFamily(
                "spucsvi_sightings",
                "Sightings in the copy of SPUC's export the answering worker holds, by unit "
                f"(the {UNIT_SERIES} most sighted; the rest as {OTHER_UNITS})",
                labels=["unit"],
            )
            for unit, count in units_shown(snapshot):
                sightings.add_metric([unit], count)
            yield sightings
            yield GaugeMetricFamily(
                "spucsvi_export_unreadable_lines",
                "Lines of SPUC's export that are not a record (skipped)",
                value=snapshot.skipped,
            )
        checked = store.last_check()
        if checked is None:
            return
        age, error = checked
        yield GaugeMetricFamily(
            "spucsvi_spuc_up",
            "1 when SPUC answered the last check of its export, else 0",
            value=1 if error is None else 0,
        )
        if age is not None:
            yield GaugeMetricFamily(
                "spucsvi_export_age_seconds",
                "Seconds since SPUC last confirmed the copy of its export the answering "
                "worker shows",
                value=age,
            )


def units_shown(snapshot: Snapshot) -> list[tuple[str, int]]:
    """Sightings per unit, the UNIT_SERIES most sighted by name and the rest added
    up: a hostile SPUC can write any number of units, of any length."""

    def compute() -> list[tuple[str, int]]:
        columns = snapshot.columns
        counted = Counter(columns.unit_ids[: snapshot.length]).most_common()
        shown: Counter[str] = Counter()
        for place, (unit, count) in enumerate(counted):
            name = columns.unit_name(unit)[:UNIT_LABEL_CHARS]
            shown[name if place < UNIT_SERIES else OTHER_UNITS] += count
        return sorted(shown.items())

    return snapshot.memo.get("metrics units", compute)


@blueprint.get("/metrics")
def metrics() -> Response:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(_counts().folder))
    registry.register(StoreFacts(current_app.extensions["sightings_store"]))
    response = Response(generate_latest(registry), content_type=CONTENT_TYPE)
    response.cache_control.no_store = True
    return response
