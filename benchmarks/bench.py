#!/usr/bin/env python3
"""Benchmark SPUCSVi as a new user serves it, at 100,000 to 10,000,000 sightings.

    .venv/bin/python -m benchmarks.bench [--sizes 100000,1000000] [--seconds 5]
        [--trials 8] [--workers 2] [--threads 4]

For each size N it writes SPUC's file with N sightings (SPUC's exact format),
starts the SPUC emulator on it in its own process, and serves SPUCSVi with
`gunicorn -w 2 --threads 4 'spucsvi:create_app()'` from a folder without
gunicorn.conf.py (tests/servers.py starts both, as the tests do). Measured,
everything on 127.0.0.1:

- start: seconds from gunicorn's start to the first 200 for /;
- memory: resident memory of each worker, and per sighting beyond the
  workers of an empty SPUC (measured first, in the same run);
- cached view: latency of GET / on a kept-alive connection, nothing new;
- first view after a new sighting: a sighting PUT straight at SPUC, then
  views of / until one shows it: the latency of the first view after the PUT
  (it answers at once and starts the revalidation) and of the first view
  that shows the sighting, against the cached one;
- throughput of / and /healthz with wrk (one thread, --clients connections,
  gzip as a browser asks; the best of three alternating runs, since gunicorn
  may put all of a run's connections on one worker), when wrk is installed;
- views nobody asked for yet: wrk asking for random table pages of /
  (`/?page=N`, N of thousands, so nearly every view is built for its asker),
  its requests per second and the workers' CPU time per view.

It ends with the targets of issue 10, PASS or FAIL with the ratios measured
in this run. A benchmark, not a test: exit 0 whatever the numbers, 1 when a
size could not be measured. The clients share the 2 cores with the server:
compare ratios within one run, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path

import requests

from tests.support.records import HEADER
from tests.support.servers import cpu_seconds, emulator, gunicorn, rss_kib, running

ROOT = Path(__file__).resolve().parent.parent

UNITS = "iulu"  # as SPUC runs in the lesson's compose file (--units iulu)
TOTAL = re.compile(rb'data-testid="total">([\d,]+)<')  # with thousands separators
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""
# Each request a random page of the table: views nobody asked for yet.
WRK_RANDOM_PAGES = """
request = function()
  return wrk.format(nil, "/?page=" .. math.random(2, %d))
end
"""
PLACES = ("moon", "Mars, Olympus Mons", "Vesta", "Tycho crater", "Ganymede", "Ceres, Occator")
SPOTS = ("", " north", " south", ", rim", ", dunes", " & rings", " — ünïcörn", " #7")


def write_sightings(path: Path, n: int, seed: int = 1, distinct: int = 0) -> int:
    """n sightings in SPUC's exact format, 48 locations of Zipf-like popularity
    (or `distinct` ones, each sighted at least once if n allows), integer
    brightness with an occasional decimal, times increasing and ending an hour
    ago; returns the file size in bytes."""
    rng = random.Random(seed)  # noqa: S311 - made-up sightings
    locations = [place + spot for place in PLACES for spot in SPOTS]
    if distinct:
        locations = [f"{locations[i % len(locations)]} {i:06d}" for i in range(distinct)]
    popularity = list(accumulate(1 / (rank + 1) for rank in range(len(locations))))
    end = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    gap = 30_000_000  # mean microseconds between sightings
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        # Steps average `gap`: starting 5 standard deviations early, the last
        # sighting comes before `end`, so new ones (stamped now) stay in time order.
        moment = end - timedelta(microseconds=gap * n + 5 * gap * int(n**0.5))
        for start in range(0, n, 100_000):
            size = min(100_000, n - start)
            steps = accumulate(rng.choices(range(1, 2 * gap), k=size))
            places = rng.choices(locations, cum_weights=popularity, k=size)
            lights = rng.choices(range(101), k=size)
            lines = []
            for i, (step, place, light) in enumerate(zip(steps, places, lights, strict=True)):
                if start + i < distinct:  # each of them once first
                    place = locations[start + i]
                when = moment + timedelta(microseconds=step)
                shown = f"{light + rng.random():.1f}" if (start + i) % 53 == 0 else str(light)
                lines.append(f"{start + i + 1},{when},{place},{shown},{UNITS}\n")
            moment = when
            out.write("".join(lines))
    return path.stat().st_size


class Probe:
    """One GET at a time with http.client (little client overhead), kept alive."""

    def __init__(self, url: str, encoding: str = "gzip"):
        host, _, port = url.removeprefix("http://").partition(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.encoding = encoding

    def get(self, path: str = "/") -> tuple[float, int, bytes]:
        """One GET; again on a new connection if the server had closed the kept-alive
        one (gunicorn closes it after `keepalive` idle seconds, 2 by default)."""
        try:
            return self._get(path)
        except (http.client.RemoteDisconnected, ConnectionResetError):
            self.conn.close()
            return self._get(path)

    def _get(self, path: str) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Accept-Encoding": self.encoding})
        answer = self.conn.getresponse()
        body = answer.read()
        return time.perf_counter() - started, answer.status, body

    def close(self) -> None:
        self.conn.close()


def total_shown(url: str) -> int:
    with requests.get(f"{url}/", headers={"Accept-Encoding": "identity"}, timeout=60) as page:
        found = TOTAL.search(page.content)
    return int(found.group(1).replace(b",", b"")) if found else 0


def wrk(
    url: str, path: str, clients: int, seconds: float, requests_script: str = ""
) -> float | None:
    """Requests per second of `path` (or of what `requests_script` asks), or None
    without wrk."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(requests_script + WRK_SCRIPT)
        script.flush()
        result = subprocess.run(  # noqa: S603 - wrk with fixed arguments
            [binary, "-t1", f"-c{clients}", f"-d{seconds:g}s", "--timeout", "10s"]
            + ["-s", script.name, "-H", "Accept-Encoding: gzip", url + path],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    found = re.search(r"^BENCH (\d+) (\d+) (\d+)$", result.stdout, re.MULTILINE)
    if not found:
        raise RuntimeError(f"wrk failed: {result.stdout}\n{result.stderr}")
    count, micros, errors = (int(x) for x in found.groups())
    if errors:
        raise RuntimeError(f"wrk saw {errors} errors on {path}")
    return count / (micros / 1e6)


def random_pages(
    url: str, workers: list[int], n: int, args: argparse.Namespace
) -> tuple[float | None, float | None]:
    """Requests/s of random table pages of / (the best of three wrk runs) and the
    workers' CPU milliseconds per such view (over all three runs)."""
    pages = max(2, n // 15)  # 15 rows a page
    best, views, cpu = None, 0.0, 0.0
    for _ in range(3):
        before = sum(cpu_seconds(pid) for pid in workers)
        rps = wrk(url, "/", args.clients, args.seconds, WRK_RANDOM_PAGES % pages)
        if rps is None:
            return None, None
        cpu += sum(cpu_seconds(pid) for pid in workers) - before
        views += rps * args.seconds
        best = rps if best is None else max(best, rps)
    return best, cpu / views * 1000


def throughput(url: str, args: argparse.Namespace) -> tuple[float | None, float | None]:
    """Requests/s of /healthz and /, the best of three alternating wrk runs each:
    gunicorn leaves kept-alive connections where they landed, so one run may put
    all of wrk's connections on one worker; the best run is the balanced one."""
    best: dict[str, float | None] = {"/healthz": None, "/": None}
    for _ in range(3):
        for path in best:
            rps = wrk(url, path, args.clients, args.seconds)
            if rps is not None and (best[path] is None or rps > best[path]):
                best[path] = rps
    return best["/healthz"], best["/"]


@dataclass
class Result:
    n: int
    file_mb: float
    start_s: float
    rss_kib: list[int]
    cached: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)  # the first view after the PUT
    first: list[float] = field(default_factory=list)  # the first view that shows it
    visible_after: list[float] = field(default_factory=list)
    page_rps: float | None = None
    healthz_rps: float | None = None
    random_rps: float | None = None  # random table pages: views nobody asked for yet
    random_cpu_ms: float | None = None  # the workers' CPU time per such view


def measure(n: int, args: argparse.Namespace, workdir: Path) -> Result:
    data_file = workdir / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir(parents=True)
    size = write_sightings(data_file, n) if n else 0
    spuc = emulator(data_file, workdir, units=UNITS)
    with running(spuc):
        started = time.monotonic()
        served = gunicorn(workdir, spuc.url, workers=args.workers, threads=args.threads)
        with running(served):
            while requests.get(f"{served.url}/", timeout=600).status_code != 200:
                time.sleep(0.5)  # 503 while the first load is under way
            for _ in range(4 * args.workers):  # new connections reach every worker
                requests.get(f"{served.url}/", timeout=600).raise_for_status()
            result = Result(n, size / 1e6, time.monotonic() - started, [])
            result.rss_kib = [rss_kib(pid) for pid in served.workers()]
            if n:
                first_views(served.url, spuc.url, args.trials, result)
                result.healthz_rps, result.page_rps = throughput(served.url, args)
                result.random_rps, result.random_cpu_ms = random_pages(
                    served.url, served.workers(), n, args
                )
    return result


def first_views(url: str, spuc_url: str, trials: int, result: Result) -> None:
    """Cached views, then per trial a sighting PUT at SPUC and views of / until
    one shows it (the workers revalidate within their 1 s freshness window)."""
    probe = Probe(url)
    for _ in range(40):
        result.cached.append(probe.get()[0])
    total = total_shown(url)
    with requests.Session() as spuc:
        for trial in range(trials):
            spuc.put(
                f"{spuc_url}/unicorn_spotted",
                params={"location": f"bench trial {trial}", "brightness": str(40 + trial)},
                timeout=30,
            ).raise_for_status()
            put_at = time.perf_counter()
            result.after.append(probe.get("/")[0])
            while time.perf_counter() < put_at + 10:
                polled_at = time.perf_counter()
                elapsed, _, body = probe.get("/")
                if total_shown_in(body) > total:
                    result.first.append(elapsed)
                    result.visible_after.append(polled_at - put_at)
                    total += 1
                    break
            time.sleep(1.2)  # past the other worker's revalidation too
    probe.close()


def total_shown_in(body: bytes) -> int:
    found = TOTAL.search(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
    return int(found.group(1).replace(b",", b"")) if found else 0


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f}" if values else "-"


def report(results: list[Result], empty: Result) -> None:
    base = statistics.mean(empty.rss_kib)
    print(
        "\n        N   file MB  start s  RSS/worker MiB  B/sighting  cached ms  after ms"
        "  shows ms  shows/cached  visible s  / req/s  /healthz req/s  ratio"
    )
    for r in results:
        rss = statistics.mean(r.rss_kib)
        per = (rss - base) * 1024 / r.n
        ratio = statistics.median(r.first) / statistics.median(r.cached) if r.first else None
        tput = r.page_rps / r.healthz_rps if r.page_rps and r.healthz_rps else None
        print(
            f"{r.n:>9,} {r.file_mb:>9.1f} {r.start_s:>8.1f} {rss / 1024:>15.1f} {per:>11.0f}"
            f" {ms(r.cached):>10} {ms(r.after):>9} {ms(r.first):>9} {ratio or 0:>13.2f}"
            f" {statistics.median(r.visible_after) if r.visible_after else 0:>10.2f}"
            f" {r.page_rps or 0:>8.0f} {r.healthz_rps or 0:>15.0f} {tput or 0:>6.2f}"
        )
    print(f"empty SPUC: RSS per worker {base / 1024:.1f} MiB")
    print("\n        N  random pages req/s  CPU ms/view")
    for r in results:
        print(f"{r.n:>9,} {r.random_rps or 0:>19.0f} {r.random_cpu_ms or 0:>12.2f}")
    print("\nTargets (issue 10):")
    for r in results:
        if r.first:
            ratio = statistics.median(r.first) / statistics.median(r.cached)
            verdict = "PASS" if ratio <= 2 else "FAIL"
            after = statistics.median(r.after) / statistics.median(r.cached)
            print(
                f"  {verdict} {r.n:,}: first view showing a new sighting {ratio:.2f}x cached"
                f" (<= 2); the first view after it {after:.2f}x"
            )
        if r.n >= 1_000_000:
            per = (statistics.mean(r.rss_kib) - base) * 1024 / r.n
            verdict = "PASS" if per <= 200 else "FAIL"
            print(f"  {verdict} {r.n:,}: {per:.0f} bytes per sighting per worker (<= 200)")
        if r.n == 100_000 and r.page_rps and r.healthz_rps:
            ratio = r.page_rps / r.healthz_rps
            verdict = "PASS" if ratio >= 0.8 else "FAIL"
            print(f"  {verdict} 100,000: / at {ratio:.2f} of /healthz throughput (>= 0.8)")
        if r.n == 100_000 and r.random_cpu_ms:
            verdict = "PASS" if r.random_cpu_ms <= 4 else "FAIL"
            print(
                f"  {verdict} 100,000: a view nobody asked for yet {r.random_cpu_ms:.2f} ms"
                " of server CPU (<= 4, issue 17)"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="spucsvi-bench-") as folder:
        empty = measure(0, args, Path(folder) / "empty")
        results = []
        for n in sizes:
            print(f"measuring {n:,} sightings...", flush=True)
            try:
                results.append(measure(n, args, Path(folder) / str(n)))
            except (AssertionError, RuntimeError, requests.RequestException) as exc:
                print(f"  {n:,}: could not be measured: {exc}")
                return 1
    report(results, empty)
    return 0


if __name__ == "__main__":
    sys.exit(main())
