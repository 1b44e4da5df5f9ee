#!/usr/bin/env python3
"""Slow clients against SPUCSVi: does a normal visitor still get an answer?

    .venv/bin/python -m benchmarks.slow_clients [--sightings 100000] [--seconds 20]
        [--workers 2] [--threads 4] [--servers gthread,patient,waitress,waitress-1000]
        [--scenarios "issue 13,all kinds,front-loaded bodies,lingering close,download readers"]

Issues 13 and 20. SPUC's emulator holds --sightings sightings; SPUCSVi
runs under gunicorn with the project's gunicorn.conf.py (2 workers x 4
threads, as in the container), once with gunicorn's own gthread worker and
once with the project's PatientWorker (spucsvi/server/worker.py); then under
waitress (one process, as many threads), which buffers requests and answers
in its own event loop, with its default limit of 100 connections and with
1,000. Every server starts at a soft limit of 1,024 open files, as a shell
gives. The scenarios (--scenarios), each for --seconds, attackers from
tests/support/attackers.py opening a new connection whenever the server cuts
one: issue 13's (50 slow-header, 50 silent and 8 slow-body connections); all
kinds (the same with 8 slow readers of /sightings.csv and 8 clients that do
not close after `Connection: close`); then issue 20's, from 30 local
addresses: front-loaded bodies (2,100 POSTs with all but the last byte of a
64 KB body, finding 1); lingering close (40 clients that never close their
side after `Connection: close` and ask again at once, with 600 silent
connections, finding 3); download readers (18 readers of /sightings.json at
6 KB/s, finding 7; the visitor also downloads a filtered CSV, from 8 s on).
Meanwhile a visitor asks for /healthz and / in turn, each on a new
connection, up to four times a second. It prints each answer's latency
(median, worst), the failures, how often the server cut each kind of slow
client, the workers' resident memory after the attack and how many workers
were started during it (a worker that died); then the target: every answer
within 1 s throughout. A benchmark, not a test: exit 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.bench import UNITS, write_sightings
from tests.support.attackers import KINDS, Attack
from tests.support.servers import (
    ServerProcess,
    emulator,
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
WORKER_CLASSES = {"gthread": "gthread", "patient": "spucsvi.server.worker.PatientWorker"}
TARGET_SECONDS = 1.0


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
                    with requests.get(url + path, timeout=60) as answer:
                        answer.raise_for_status()
                    self.seconds[path].append(time.monotonic() - started)
                except requests.RequestException as exc:
                    self.failures.append(f"{path}: {type(exc).__name__}")
                time.sleep(0.125)


def attack(url: str, scenario: str, seconds: float) -> tuple[Visits, Attack]:
    visits = Visits(VISITS.get(scenario, Visits.paths))
    read_path = "/sightings.json" if scenario == "download readers" else "/sightings.csv"
    sources = SOURCES.get(scenario, MANY_SOURCES)
    counts = SCENARIOS[scenario]
    until = time.monotonic() + seconds
    with Attack(url, counts, seconds=seconds, read_path=read_path, sources=sources) as attack:
        time.sleep(SETTLE.get(scenario, 0))
        visitor = threading.Thread(target=visits.visit, args=(url, until))
        visitor.start()
        visitor.join()
    return visits, attack


def report(name: str, visits: Visits, attack: Attack, rss: list[int], booted: int) -> bool:
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
    print(f"  worker memory after: {', '.join(f'{kib / 1024:.0f} MB' for kib in rss)}")
    print(f"  workers started during the attack: {booted}")
    passed = not visits.failures and all(visits.seconds.values()) and worst_of_all < TARGET_SECONDS
    print(f"  target (every answer within {TARGET_SECONDS:.0f} s): {'PASS' if passed else 'FAIL'}")
    return passed


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spucsvi-slow-") as folder:
        workdir = Path(folder)
        data_file = workdir / "spuc" / "unicorn_sightings.txt"
        data_file.parent.mkdir(parents=True)
        write_sightings(data_file, args.sightings)
        with running(spuc := emulator(data_file, workdir, units=UNITS)):
            for name in args.servers.split(","):
                with running(served := serve(name, workdir, spuc.url, args)):
                    for _ in range(4 * args.workers):  # every worker has loaded the data
                        requests.get(f"{served.url}/", timeout=600).raise_for_status()
                    size = len(requests.get(f"{served.url}/sightings.csv", timeout=600).content)
                    print(f"{name}: /sightings.csv is {size / 1e6:.1f} MB", flush=True)
                    for scenario in args.scenarios.split(","):
                        boots = served.output().count("Booting worker")
                        visits, done = attack(served.url, scenario, args.seconds)
                        rss = [rss_kib(pid) for pid in served.workers() or [served.pid]]
                        booted = served.output().count("Booting worker") - boots
                        report(f"{name}, {scenario}", visits, done, rss, booted)
                        time.sleep(3)  # the last attackers' connections are gone
    return 0


if __name__ == "__main__":
    sys.exit(main())
