"""GET /metrics over real HTTP: gunicorn with two workers on the SPUC emulator,
and Debian's Prometheus scraping it.

The server's counting folder is made in the folder XDG_RUNTIME_DIR names, so a
test can look at each worker's file; nothing else in the server is told about it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from spucsvi.settings import SettingsError
from tests.support.apps import make_app
from tests.support.fakes import FakeRequest, FakeSpuc, json_response
from tests.support.servers import (
    ROOT,
    ServerProcess,
    child_env,
    emulator,
    free_port,
    gunicorn,
    running,
    spucsvi_in_process,
    spucsvi_serve,
    waitress,
)
from tests.test_container import (  # the compose tools, found as that file finds them
    COMPOSE_FILE,
    compose_bin,  # noqa: F401 - a fixture
    empty_env_file,  # noqa: F401 - a fixture
    resolved_model,
)
from tests.test_server import flask_run

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
METRICS_FILE = ROOT / "compose.metrics.yml"
HEALTHZ = ("spucsvi_http_request_duration_seconds_count", "/healthz", "GET", "200")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """/metrics, read as Prometheus reads it: every sample by name and labels."""
    with requests.get(f"{url}/metrics", timeout=10) as answer:
        assert answer.status_code == 200, answer.text[:500]
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape_until(url: str, wanted, seconds: float = 10.0) -> Samples:
    """Scrape until `wanted(samples)`; the last scrape fails the test's next assertion."""
    deadline = time.monotonic() + seconds
    samples = scrape(url)
    while not wanted(samples) and time.monotonic() < deadline:
        time.sleep(0.2)
        samples = scrape(url)
    assert wanted(samples), samples
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def requests_counted(samples: Samples, route: str, method: str = "GET", status: str = "200"):
    return value(samples, HEALTHZ[0], route=route, method=method, status=status)


def request_series(samples: Samples) -> set[frozenset]:
    return {labels for name, labels in samples if name == HEALTHZ[0]}


def get_many(url: str, paths: list[str], clients: int = 8, method: str = "GET") -> list[int]:
    """Each path asked for once, by `clients` threads, each request on a new connection."""
    statuses: list[int] = []
    lock = threading.Lock()
    todo = iter(paths)

    def client() -> None:
        while True:
            with lock:
                path = next(todo, None)
            if path is None:
                return
            with requests.request(method, f"{url}{path}", timeout=10) as answer, lock:
                statuses.append(answer.status_code)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def counting_folder(runtime: Path, server: ServerProcess) -> Path:
    """The folder the server counts in: one, named after its master."""
    folders = list((runtime / "spucsvi").glob("metrics-*"))
    assert [f.name.split("-")[1] for f in folders] == [str(server.pid)], folders
    return folders[0]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path, ServerProcess]]:
    """gunicorn, 2 sync workers (one request at a time each: both get some), on
    the emulator; its URL, its XDG_RUNTIME_DIR and the server."""
    workdir = tmp_path_factory.mktemp("metrics")
    runtime = workdir / "run"
    runtime.mkdir(mode=0o700)
    # A folder of a server long gone, under the name the app gives its folders.
    (runtime / "spucsvi").mkdir(mode=0o700)
    (runtime / "spucsvi" / "metrics-999999999-1").mkdir()
    spuc = emulator(workdir / "spuc" / "unicorn_sightings.txt", workdir)
    app = gunicorn(workdir, spuc.url, workers=2, threads=1, env={"XDG_RUNTIME_DIR": str(runtime)})
    with running(spuc, app):
        yield app.url, runtime, app


@pytest.mark.slow
def test_the_counts_of_both_workers_add_up(served):
    url, runtime, server = served
    before = requests_counted(scrape(url), "/healthz") or 0
    sent = 0
    for _ in range(10):  # until both workers answered some (at once, as a rule)
        statuses = get_many(url, ["/healthz"] * 100)
        assert statuses == [200] * 100
        sent += 100
        folder = counting_folder(runtime, server)
        per_worker = {
            pid: requests_counted(own_counts(folder, pid), "/healthz") for pid in server.workers()
        }
        if all(per_worker.values()):
            break
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker
    # Every scrape, whichever worker answers it, tells the server's total.
    for _ in range(6):
        assert requests_counted(scrape(url), "/healthz") == before + sent
    # The sum of every worker's file, a worker killed earlier included.
    pids = {int(f.stem.rsplit("_", 1)[1]) for f in folder.glob("*.db")}
    assert pids >= set(per_worker)
    assert sum(requests_counted(own_counts(folder, pid), "/healthz") or 0 for pid in pids) == (
        before + sent
    )
    # The long-gone server's folder was removed when this one's was made; this
    # one's is closed to other users.
    assert not (runtime / "spucsvi" / "metrics-999999999-1").exists()
    assert folder.stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_a_killed_workers_counts_stay_in_the_totals(served):
    """gunicorn replaces a worker killed outright; the server's counts never go down."""
    url, _, server = served
    assert get_many(url, ["/healthz"] * 20) == [200] * 20
    before = requests_counted(scrape(url), "/healthz")
    workers = server.workers()
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = server.workers()
        if len(now) == 2 and workers[0] not in now:
            break
        time.sleep(0.1)
    assert len(now) == 2 and workers[0] not in now, now
    assert get_many(url, ["/healthz"] * 30) == [200] * 30
    for _ in range(6):
        assert requests_counted(scrape(url), "/healthz") == before + 30


def own_counts(folder: Path, pid: int) -> Samples:
    """What one worker counted: its own files in the server's folder."""
    files = [str(f) for f in folder.glob(f"*_{pid}.db")]
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in MultiProcessCollector.merge(files)
        for sample in family.samples
    }


@pytest.mark.slow
def test_a_thousand_unknown_paths_add_no_series(served):
    url = served[0]
    get_many(url, ["/no/such/page"])
    get_many(url, ["/no/such/page"], method="BREW")
    before = scrape(url)
    paths = [f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}?q={n}" for n in range(1000)]
    statuses = get_many(url, paths[:900]) + get_many(url, paths[900:], method="BREW")
    assert Counter(statuses) == {404: 1000}
    after = scrape(url)
    assert request_series(after) == request_series(before)
    assert requests_counted(after, "unmatched", status="404") == 900 + (
        requests_counted(before, "unmatched", status="404") or 0
    )
    assert requests_counted(after, "unmatched", "other", "404") == 100 + (
        requests_counted(before, "unmatched", "other", "404") or 0
    )
    assert not any(path.split("/")[1] in str(after) for path in paths)


@pytest.mark.slow
def test_submissions_are_counted_by_what_became_of_them(tmp_path):
    """Accepted, invalid, cross-origin, SPUC down and rate-limited, as the visitor's
    answers said, over two workers; and the store's facts follow SPUC."""
    spuc = emulator(tmp_path / "spuc" / "unicorn_sightings.txt", tmp_path)
    app = gunicorn(
        tmp_path, spuc.url, workers=2, threads=1, env={"SPUCSVI_SUBMIT_RATE": "6/minute"}
    )
    with running(spuc, app):
        url = app.url

        def post(brightness: str = "7", headers: dict | None = None) -> int:
            with requests.post(
                f"{url}/sightings",
                data={"location": "moon, crater", "brightness": brightness},
                headers=headers or SAME_SITE,
                allow_redirects=False,
                timeout=10,
            ) as answer:
                return answer.status_code

        statuses = [post(), post("bright"), post(headers={"Sec-Fetch-Site": "cross-site"})]
        with requests.post(
            f"{url}/api/sightings", json={"location": "venus", "brightness": 3}, timeout=10
        ) as answer:
            statuses.append(answer.status_code)
        assert statuses == [303, 422, 403, 201]
        # The worker answering a scrape may show its copy from before the last
        # sighting while it checks SPUC (as a page view does): wait for it to follow.
        facts = scrape_until(url, lambda facts: value(facts, "spucsvi_sightings", unit="iuhc") == 2)
        assert value(facts, "spucsvi_spuc_up") == 1
        assert 0 <= value(facts, "spucsvi_export_age_seconds") < 60
        spuc.stop()
        while 429 not in statuses and len(statuses) < 20:
            statuses.append(post())
        assert set(statuses[4:]) <= {503, 429} and statuses[4] == 503, statuses
        # Down: the scrapes that follow say so (each worker once it checked again).
        # (Two workers: the scrape read is one whose worker has checked since.)
        samples = scrape_until(url, lambda s: value(s, "spucsvi_spuc_up") == 0, seconds=20)
        assert value(samples, "spucsvi_revalidation_duration_seconds_count", result="failed")
        told = Counter(statuses)
    refused = {
        reason: value(samples, "spucsvi_submissions_refused_total", reason=reason)
        for reason in ("invalid", "cross_origin", "spuc_down", "rate_limited", "busy", "error")
    }
    assert value(samples, "spucsvi_submissions_accepted_total") == told[303] + told[201] == 2
    assert refused == {
        "invalid": told[422],
        "cross_origin": told[403],
        "spuc_down": told[503],
        "rate_limited": told[429],
        "busy": 0,
        "error": 0,
    }


SERVERS = {
    "gunicorn --preload": lambda workdir, url: gunicorn(
        workdir, url, workers=2, threads=2, extra_argv=["--preload"]
    ),
    "spucsvi serve": lambda workdir, url: spucsvi_serve(workdir, url, workers=3, threads=2),
    "waitress": lambda workdir, url: waitress(workdir, url),
    "flask run": flask_run,
}


@pytest.mark.slow
@pytest.mark.parametrize("serve", SERVERS.values(), ids=SERVERS.keys())
def test_each_server_counts_all_its_own_requests_and_none_of_anothers(tmp_path, serve):
    """However it is served: beside it, a waitress started by the same parent (this
    test) counts in a folder of its own."""
    spuc = emulator(tmp_path / "spuc" / "unicorn_sightings.txt", tmp_path)
    server = serve(tmp_path / "server", spuc.url)
    beside = waitress(tmp_path / "beside", spuc.url)
    with running(spuc, server, beside):
        before = [requests_counted(scrape(s.url), "/healthz") or 0 for s in (server, beside)]
        assert get_many(server.url, ["/healthz"] * 60) == [200] * 60
        assert get_many(beside.url, ["/healthz"] * 7) == [200] * 7
        for _ in range(6):  # whichever worker answers
            assert requests_counted(scrape(server.url), "/healthz") == before[0] + 60
        assert requests_counted(scrape(beside.url), "/healthz") == before[1] + 7


def _hang_on_put(request: FakeRequest, connection: socket.socket) -> None:
    """A SPUC with no sightings yet whose every PUT hangs (answered by nothing)."""
    if request.path == "/export":
        connection.sendall(json_response(200, '{"message": "No unicorn sightings yet!"}'))


@pytest.mark.slow
def test_submissions_refused_while_spuc_is_slow_are_counted_busy(tmp_path):
    """One submission hangs at SPUC; those waiting behind it are told to try again
    (busy), and the one at SPUC ends in a timeout (SPUC down)."""
    with FakeSpuc(_hang_on_put) as fake:
        app = make_app(fake.url, tmp_path, SPUC_READ_TIMEOUT="4")
        with spucsvi_in_process(app) as url:
            before = scrape(url)

            def post(_: int) -> int:
                with requests.post(
                    f"{url}/sightings",
                    data={"location": "moon", "brightness": "3"},
                    headers=SAME_SITE,
                    timeout=20,
                ) as answer:
                    return answer.status_code

            with ThreadPoolExecutor(4) as pool:
                told = Counter(pool.map(post, range(4)))
            after = scrape(url)
    assert told == {504: 1, 503: 3}

    def added(reason: str) -> float:
        name, labels = "spucsvi_submissions_refused_total", {"reason": reason}
        return value(after, name, **labels) - value(before, name, **labels)

    assert (added("busy"), added("spuc_down")) == (3, 1)


def test_metrics_off_is_a_404_and_a_bad_switch_is_named(spuc, tmp_path):
    app = make_app(spuc.url, tmp_path, SPUCSVI_METRICS="off")
    with spucsvi_in_process(app) as url:
        assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{url}/metrics", timeout=5).status_code == 404
    with spucsvi_in_process(make_app(spuc.url, tmp_path, SPUCSVI_METRICS="on")) as url:
        assert (
            "spucsvi_submissions_accepted_total" in requests.get(f"{url}/metrics", timeout=5).text
        )
    with pytest.raises(SettingsError, match="SPUCSVI_METRICS"):
        make_app(spuc.url, tmp_path, SPUCSVI_METRICS="maybe")


# --- Prometheus itself ------------------------------------------------------------------


def prometheus_config(target: str) -> str:
    """deploy/prometheus.yml (compose.metrics.yml's) aimed at `target`, every second."""
    shipped = (ROOT / "deploy" / "prometheus.yml").read_text()
    assert '"spucsvi:8322"' in shipped and "scrape_interval: 15s" in shipped
    return (
        shipped.replace('"spucsvi:8322"', f'"{target}"')
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_timeout: 10s", "scrape_timeout: 1s")
    )


def prometheus(workdir: Path, target: str) -> ServerProcess:
    """Debian's prometheus on 127.0.0.1, its configuration and data in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(prometheus_config(target))
    port = free_port()
    return ServerProcess(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}"]
        + [f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        url=f"http://127.0.0.1:{port}",
        log=workdir / "prometheus.log",
        env=child_env(),
        cwd=workdir,
    ).wait_until_up("/-/ready")


def queried(prometheus_url: str, query: str) -> float | None:
    """The value of an instant query, None while it has no result."""
    with requests.get(
        f"{prometheus_url}/api/v1/query", params={"query": query}, timeout=5
    ) as answer:
        body = answer.json()
    assert body["status"] == "success", body
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(PROMETHEUS).exists(), reason="needs Debian's prometheus: apt-get install prometheus"
)
def test_prometheus_scrapes_what_spucsvi_counts(tmp_path):
    spuc = emulator(tmp_path / "spuc" / "unicorn_sightings.txt", tmp_path)
    app = gunicorn(tmp_path, spuc.url, workers=2, threads=2)
    with running(spuc, app):
        assert get_many(app.url, ["/healthz"] * 37) == [200] * 37
        with requests.post(
            f"{app.url}/api/sightings", json={"location": "mars", "brightness": 9}, timeout=10
        ) as answer:
            assert answer.status_code == 201
        ours = scrape(app.url)
        healthz = requests_counted(ours, "/healthz")  # the start's own checks too
        assert healthz is not None and healthz >= 37
        target = app.url.removeprefix("http://")
        with running(scraper := prometheus(tmp_path / "prometheus", target)):
            seen: dict[str, float | None] = {}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                seen = {
                    "healthz": queried(
                        scraper.url,
                        'sum(spucsvi_http_request_duration_seconds_count{route="/healthz"})',
                    ),
                    "accepted": queried(scraper.url, "spucsvi_submissions_accepted_total"),
                    "sightings": queried(scraper.url, 'spucsvi_sightings{unit="iuhc"}'),
                    "up": queried(scraper.url, 'up{job="spucsvi"}'),
                }
                if seen["healthz"] == healthz and seen["sightings"] == 1:
                    break
                time.sleep(0.5)
            targets = requests.get(f"{scraper.url}/api/v1/targets", timeout=5).json()
    assert seen == {"healthz": healthz, "accepted": 1, "sightings": 1, "up": 1}, json.dumps(targets)


def test_the_compose_example_scrapes_spucsvi_with_the_shipped_config(
    compose_bin: Path,  # noqa: F811 - the fixture imported above
    empty_env_file: Path,  # noqa: F811
) -> None:
    model = resolved_model(compose_bin, empty_env_file, [COMPOSE_FILE, METRICS_FILE])
    scraper = model["services"]["prometheus"]
    mounted = {Path(v["source"]) for v in scraper["volumes"] if v["type"] == "bind"}
    assert mounted == {ROOT / "deploy" / "prometheus.yml"}
    # It reaches SPUCSVi on the default network, never SPUC on the backend one, and
    # is published on this machine only.
    assert set(scraper["networks"]) == {"default"}
    assert [(p["host_ip"], p["target"]) for p in scraper["ports"]] == [("127.0.0.1", 9090)]
    assert scraper["depends_on"]["spucsvi"]["condition"] == "service_healthy"
    assert '"spucsvi:8322"' in (ROOT / "deploy" / "prometheus.yml").read_text()
    assert model["services"]["spucsvi"]["ports"][0]["target"] == 8322
