#!/usr/bin/env python3
"""Slow clients against SPUCSVi: does a normal visitor still get an answer?

    .venv/bin/python -m benchmarks.slow_clients [--sightings 100000] [--seconds 20]
        [--workers 2] [--threads 4] [--servers gthread,patient,waitress,waitress-1000]
        [--scenarios "issue 13,all kinds,front-loaded bodies,lingering close,download readers"]
        [--nice 19] [--servers patient+nginx --nginx-config deploy/nginx.conf]

Issues 13 and 20. SPUC's emulator holds --sightings sightings; SPUCSVi
runs under gunicorn with the project's gunicorn.conf.py (2 workers x 4
threads, as in the container), once with gunicorn's own gthread worker and
once with the project's PatientWorker (spucsvi/server/worker.py); then under
waitress (one process, as many threads), which buffers requests and answers
in its own event loop, with its default limit of 100 connections and with
1,000. A name with `+nginx` (patient+nginx, gthread+nginx) puts Debian's
nginx in front, with --nginx-config (deploy/nginx.conf, its addresses
changed). Every server starts at a soft limit of 1,024 open files, as a
shell gives. The scenarios (--scenarios), each for --seconds, attackers from
tests/support/attackers.py opening a new connection whenever the server cuts
one: issue 13's (50 slow-header, 50 silent and 8 slow-body connections); all
kinds (the same with 8 slow readers of /sightings.csv and 8 clients that do
not close after `Connection: close`); then issue 20's, from 30 local
addresses: front-loaded bodies (2,100 POSTs with all but the last byte of a
64 KB body, finding 1); lingering close (40 clients that never close their
side after `Connection: close` and ask again at once, with 600 silent
connections, finding 3); download readers (18 readers of /sightings.json at
6 KB/s, finding 7; the visitor also downloads a filtered CSV, from 8 s on).
Meanwhile a visitor, in a process of its own, asks for /healthz and / in
turn, each on a new connection, up to four times a second. It prints each
answer's latency (median, worst), the failures, the visitor's longest
answer inside a request thread (the access log's duration: the rest of a
wait was for a connection slot or a core), how often the server cut each
kind of slow client, the workers' resident memory after the attack and how
many workers were started during it (a worker that died); then the target:
every answer within 1 s throughout. The attackers share this machine's
cores with the server, which a real attacker does not: --nice 19 gives them
only the CPU the server and the visitor leave. A benchmark, not a test:
exit 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.bench import UNITS, write_sightings
from tests.support.attackers import KINDS, Attack
from tests.support.nginx import nginx
from tests.support.servers import (
    ServerProcess,
    emulator,
    free_port,
    gunicorn,
    rss_kib,
    running,
    waitress,
)

ROOT = Path(__file__).resolve().parent.parent

SCENARIOS = {
    "issue 13": {"slow_header": 50, "silent": 50, "slow_body": 8},
    "all kinds": {"slow_header": 50, "silent": 50, "slow_body": 8, "slow_reader": 8, "lingerer": 8},
    "front-loaded bodies": {"front_loaded": 2100},
    "lingering close": {"never_closer": 40, "silent": 600},
    "download readers": {"steady_reader": 18},
}
# Issue 20's attackers come from many addresses, each under a worker's cap.
SOURCES = {"issue 13": (), "all kinds": ()}
MANY_SOURCES = [f"127.0.1.{i}" for i in range(1, 31)]
VISITS = {"download readers": ("/healthz", "/", "/sightings.csv?location=Vesta")}
# Seconds before the visitor starts: the readers' own files are made two at a
# time first (a visitor's download meanwhile may be told to retry, 503).
SETTLE = {"download readers": 8.0}
OPEN_FILES_SOFT = 1024
# nginx as the stand-in image runs it (tests/container/nginx): Debian's 768
# connections a worker, a worker a core; here one process holds both shares.
NGINX_CONNECTIONS = 2 * 768
WORKER_CLASSES = {"gthread": "gthread", "patient": "spucsvi.server.worker.PatientWorker"}
TARGET_SECONDS = 1.0
# The visitor's requests, told apart from the warm-up's in the access log.
VISITOR = {"User-Agent": "slow-clients-visitor"}


@dataclass
class Visits:
    """What the normal visitor saw, per path."""

    paths: tuple[str, ...] = ("/healthz", "/")
    seconds: dict[str, list[float]] = field(init=False)
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seconds = {path: [] for path in self.paths}

    def visit(self, url: str, until: float) -> None:
        while time.monotonic() < until:
            for path in self.seconds:
                started = time.monotonic()
                try:
                    with requests.get(url + path, headers=VISITOR, timeout=60) as answer:
                        answer.raise_for_status()
                    self.seconds[path].append(time.monotonic() - started)
                except requests.RequestException as exc:
                    self.failures.append(f"{path}: {type(exc).__name__}")
                time.sleep(0.125)


def visited(paths: tuple[str, ...], url: str, until: float) -> Visits:
    visits = Visits(paths)
    visits.visit(url, until)
    return visits


def attack(url: str, scenario: str, seconds: float, nice: int = 0) -> tuple[Visits, Attack]:
    """The visitor in a process of its own, as on a machine of its own: in this
    one it would wait for the interpreter behind thousands of attacking threads.
    The attackers' threads at `nice` (they inherit it from the thread starting them)."""
    read_path = "/sightings.json" if scenario == "download readers" else "/sightings.csv"
    sources = SOURCES.get(scenario, MANY_SOURCES)
    attack = Attack(url, SCENARIOS[scenario], seconds=seconds, read_path=read_path, sources=sources)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as visitor:
        visitor.submit(time.sleep, 0).result()  # started, before any attacker
        until = time.monotonic() + seconds  # one clock for both processes
        starter = threading.Thread(target=_start, args=(attack, nice))
        starter.start()
        starter.join()
        try:
            time.sleep(SETTLE.get(scenario, 0))
            paths = VISITS.get(scenario, Visits.paths)
            visits = visitor.submit(visited, paths, url, until).result()
        finally:
            attack.__exit__(None, None, None)
    return visits, attack


def _start(attack: Attack, nice: int) -> None:
    os.setpriority(os.PRIO_PROCESS, 0, nice)  # on Linux: this thread only
    attack.__enter__()


def in_threads(log: str) -> float:
    """The visitor's longest answer in a request thread (the access log's
    duration_ms), in seconds: what of its wait was not for a connection slot."""
    return max(
        (int(m) / 1000 for m in re.findall(rf"duration_ms=(\d+) .*{VISITOR['User-Agent']}", log)),
        default=0.0,
    )


def report(
    name: str, visits: Visits, attack: Attack, rss: list[int], booted: int, log: str
) -> bool:
    print(f"\n{name}:")
    worst_of_all = 0.0
    for path, seconds in visits.seconds.items():
        if not seconds:
            print(f"  {path:<9} no answer")
            continue
        worst = max(seconds)
        worst_of_all = max(worst_of_all, worst)
        print(
            f"  {path:<9} {len(seconds):>3} answers, median {statistics.median(seconds):.3f} s,"
            f" worst {worst:.3f} s"
        )
    if visits.failures:
        print(f"  failures: {len(visits.failures)} ({', '.join(sorted(set(visits.failures)))})")
    for kind in KINDS:
        if attack.opened[kind]:
            print(f"  {kind:<12} {attack.opened[kind]:>4} opened, {attack.cut[kind]:>4} cut")
    print(f"  the longest of them in a request thread: {in_threads(log):.3f} s")
    print(f"  worker memory after: {', '.join(f'{kib / 1024:.0f} MB' for kib in rss)}")
    print(f"  workers started during the attack: {booted}")
    passed = not visits.failures and all(visits.seconds.values()) and worst_of_all < TARGET_SECONDS
    print(f"  target (every answer within {TARGET_SECONDS:.0f} s): {'PASS' if passed else 'FAIL'}")
    return passed


@contextlib.contextmanager
def serving(
    name: str, workdir: Path, spuc_url: str, args: argparse.Namespace
) -> Iterator[tuple[str, ServerProcess]]:
    """(the URL visitors and attackers use, the app's server): `patient+nginx` is
    PatientWorker behind nginx with args.nginx_config, its addresses changed."""
    app_name, _, proxy = name.partition("+")
    with running(served := serve(app_name, workdir, spuc_url, args)):
        if not proxy:
            yield served.url, served
            return
        port, site = free_port(), args.nginx_config.read_text()
        for old, new in {
            "server spucsvi:8322;": f"server {served.url.removeprefix('http://')};",
            "listen 80;": f"listen 127.0.0.1:{port};",
        }.items():
            assert site.count(old) == 1, old
            site = site.replace(old, new)
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        front = nginx(
            workdir / f"nginx-{name}",
            site,
            port,
            scheme="http",
            connections=NGINX_CONNECTIONS,
            open_files=(hard, hard),
        )
        with running(front):
            yield front.url, served


def serve(name: str, workdir: Path, spuc_url: str, args: argparse.Namespace) -> ServerProcess:
    if name.startswith("waitress"):  # waitress-1000: --connection-limit 1000
        limit = name.partition("-")[2]
        extra = ["--connection-limit", limit] if limit else []
        return waitress(workdir, spuc_url, threads=args.workers * args.threads, extra_argv=extra)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return gunicorn(
        workdir,
        spuc_url,
        workers=args.workers,
        threads=args.threads,
        config=ROOT / "gunicorn.conf.py",
        extra_argv=["--worker-class", WORKER_CLASSES[name]],
        name=name,
        open_files=(min(OPEN_FILES_SOFT, hard), hard),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sightings", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--servers", default="gthread,patient,waitress,waitress-1000")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--nginx-config", type=Path, default=ROOT / "deploy" / "nginx.conf")
    parser.add_argument(
        "--nice", type=int, default=0, help="the attackers' niceness (19: the CPU left over)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spucsvi-slow-") as folder:
        workdir = Path(folder)
        data_file = workdir / "spuc" / "unicorn_sightings.txt"
        data_file.parent.mkdir(parents=True)
        write_sightings(data_file, args.sightings)
        with running(spuc := emulator(data_file, workdir, units=UNITS)):
            for name in args.servers.split(","):
                with serving(name, workdir, spuc.url, args) as (url, served):
                    for _ in range(4 * args.workers):  # every worker has loaded the data
                        requests.get(f"{served.url}/", timeout=600).raise_for_status()
                    size = len(requests.get(f"{url}/sightings.csv", timeout=600).content)
                    print(f"{name}: /sightings.csv is {size / 1e6:.1f} MB", flush=True)
                    for scenario in args.scenarios.split(","):
                        seen = len(served.output())
                        boots = served.output().count("Booting worker")
                        visits, done = attack(url, scenario, args.seconds, args.nice)
                        rss = [rss_kib(pid) for pid in served.workers() or [served.pid]]
                        booted = served.output().count("Booting worker") - boots
                        log = served.output()[seen:]
                        report(f"{name}, {scenario}", visits, done, rss, booted, log)
                        time.sleep(3)  # the last attackers' connections are gone
    return 0


if __name__ == "__main__":
    sys.exit(main())
