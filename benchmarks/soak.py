#!/usr/bin/env python3
"""Soak SPUCSVi under gunicorn against the in-process SPUC emulator, bounded.

    python benchmarks/soak.py --seconds 60 --clients 8

Starts the SPUC emulator (127.0.0.1, free port, temporary data file, optionally
pre-filled with --sightings N records) and `python -m spucsvi serve` under
gunicorn (127.0.0.1, free port, started by tests/servers.py as the tests start
it), then N client threads drive a mix of page views (GET /, 80 %),
submissions (form POSTs with `Sec-Fetch-Site: same-origin`, as a browser sends
them, 10 %) and GET /healthz (10 %) until --seconds have passed or
--max-requests were sent.

Prints per kind: count, errors (status not 2xx/3xx, or an exception),
p50/p90/p99/max latency and requests/s; the resident memory of each gunicorn
worker before and after; and whether every submission answered 303 is in
SPUC's export. Exits 1 on any error or lost submission, 130 on Ctrl-C (after
shutting everything down and reporting what was measured so far).

Only the standard library and requests, plus spucsvi itself (the emulator) and
tests/servers.py.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.records import HEADER
from tests.support.servers import ServerProcess, cpu_seconds, rss_kib, spucsvi_serve

ROOT = Path(__file__).resolve().parent.parent

# What a browser sends with a form posted from the page itself.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
KINDS = ("page", "submit", "healthz")
WEIGHTS = (80, 10, 10)
REQUEST_TIMEOUT = 10


# --- measurements ------------------------------------------------------------


@dataclass
class ClientStats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # submissions answered 303

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{kind}: {what}")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil
    return sorted_values[int(rank) - 1]


class Budget:
    """A shared cap on the number of requests, and a stop flag."""

    def __init__(self, max_requests: int, deadline: float):
        self.left = max_requests
        self.deadline = deadline
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            return False
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


# --- the load ----------------------------------------------------------------


def run_client(k: int, url: str, budget: Budget, stats: ClientStats, seed: int) -> None:
    rng = random.Random(seed * 1000 + k)  # noqa: S311 - a load mix, not a secret
    serial = 0
    with requests.Session() as browser:
        while budget.take():
            kind = rng.choices(KINDS, WEIGHTS)[0]
            started = time.perf_counter()
            try:
                if kind == "page":
                    with browser.get(f"{url}/", timeout=REQUEST_TIMEOUT) as answer:
                        status = answer.status_code
                elif kind == "healthz":
                    with browser.get(f"{url}/healthz", timeout=REQUEST_TIMEOUT) as answer:
                        status = answer.status_code
                else:
                    serial += 1
                    location = f"soak c{k} n{serial}, ünïcörn & co #{seed} + 🦄"
                    brightness = str(rng.randint(0, 100))
                    form = {"location": location, "brightness": brightness}
                    with browser.post(
                        f"{url}/sightings",
                        data=form,
                        headers=SAME_ORIGIN,
                        allow_redirects=False,
                        timeout=REQUEST_TIMEOUT,
                    ) as answer:
                        status = answer.status_code
                    if status == 303:
                        stats.acknowledged.append((location, brightness))
            except requests.RequestException as exc:
                stats.latencies[kind].append(time.perf_counter() - started)
                stats.error(kind, f"{type(exc).__name__}: {exc}")
                continue
            stats.latencies[kind].append(time.perf_counter() - started)
            if kind == "submit" and status != 303:
                stats.error(kind, f"HTTP {status} instead of 303")
            elif not 200 <= status < 400:
                stats.error(kind, f"HTTP {status}")


# --- processes ---------------------------------------------------------------


def prefill(data_file: Path, n: int, seed: int) -> None:
    """n records in SPUC's format: count,YYYY-mm-dd HH:MM:SS.ffffff,location,brightness,iuhc"""
    rng = random.Random(seed)  # noqa: S311 - made-up sightings
    start = datetime(2026, 1, 1, 0, 0, 0, 1)
    with data_file.open("wb") as out:
        out.write(HEADER.encode())
        for i in range(1, n + 1):
            when = start + timedelta(seconds=37 * i, microseconds=rng.randint(1, 999_999))
            line = f"{i},{when:%Y-%m-%d %H:%M:%S.%f},prefill place {i},{rng.randint(0, 100)},iuhc\n"
            out.write(line.encode())


def start_server(workdir: Path, spuc_url: str, args: argparse.Namespace) -> ServerProcess:
    """`spucsvi serve`, up with all its workers. Ctrl-C and SIGTERM are held
    until it is: interrupted while starting, it would leave its server running
    with nobody to stop it."""
    held: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda caught, frame: held.append(caught))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        server = spucsvi_serve(workdir, spuc_url, workers=args.workers, threads=args.threads)
    except AssertionError as exc:  # it exited or did not come up; the message has its output
        sys.exit(str(exc))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if held:
        server.stop()
        raise KeyboardInterrupt
    return server


def usage_of(pid: int) -> tuple[int | None, float | None]:
    """Resident memory (KiB) and CPU seconds of a process; None, None once it is gone."""
    try:
        return rss_kib(pid), cpu_seconds(pid)
    except OSError:
        return None, None


def export_records(spuc_url: str) -> list[tuple[bytes, bytes]]:
    """(location, brightness) of every record in SPUC's export, as bytes.

    Fields are unquoted: count and time first, brightness and units last,
    the location is everything in between.
    """
    with requests.get(f"{spuc_url}/export", timeout=30) as answer:
        answer.raise_for_status()
        if "json" in answer.headers.get("Content-Type", ""):
            return []
        body = answer.content
    records = []
    for line in body.split(b"\n")[1:]:
        fields = line.split(b",")
        if len(fields) >= 5:
            records.append((b",".join(fields[2:-2]), fields[-2]))
    return records


# --- the report --------------------------------------------------------------


@dataclass
class WorkerUsage:
    rss_before: int | None = None  # KiB
    rss_after: int | None = None
    cpu_before: float | None = None  # seconds
    cpu_after: float | None = None


def measure_after(server: ServerProcess, usage: dict[int, WorkerUsage]) -> None:
    for pid in server.workers():  # a replaced worker shows up as new
        usage.setdefault(pid, WorkerUsage())
    for pid, u in usage.items():
        u.rss_after, u.cpu_after = usage_of(pid)


def report(stats: list[ClientStats], elapsed: float, usage: dict[int, WorkerUsage]) -> int:
    """Print the table; return the number of errors."""
    print(
        f"{'kind':<8} {'count':>7} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'req/s':>8}"
    )
    total_count = total_errors = 0
    for kind in KINDS:
        values = sorted(v for s in stats for v in s.latencies[kind])
        errors = sum(s.errors[kind] for s in stats)
        total_count += len(values)
        total_errors += errors
        ms = [percentile(values, p) * 1000 for p in (50, 90, 99)]
        top = values[-1] * 1000 if values else float("nan")
        print(
            f"{kind:<8} {len(values):>7} {errors:>6} {ms[0]:>8.1f} {ms[1]:>8.1f} "
            f"{ms[2]:>8.1f} {top:>8.1f} {len(values) / elapsed:>8.1f}"
        )
    print(
        f"{'all':<8} {total_count:>7} {total_errors:>6} {'':>8} {'':>8} {'':>8} {'':>8} "
        f"{total_count / elapsed:>8.1f}"
    )
    samples = [e for s in stats for e in s.error_samples][:5]
    for sample in samples:
        print(f"  error: {sample}")
    print()
    print("gunicorn workers: resident memory (VmRSS) before -> after, CPU used during the run")
    for pid, u in usage.items():
        b = f"{u.rss_before / 1024:.1f} MiB" if u.rss_before else "(new)"
        a = f"{u.rss_after / 1024:.1f} MiB" if u.rss_after else "gone"
        delta = (
            f" ({(u.rss_after - u.rss_before) / 1024:+.1f} MiB)"
            if (u.rss_before and u.rss_after)
            else ""
        )
        cpu = (
            f", CPU {u.cpu_after - u.cpu_before:.1f} s"
            if u.cpu_before is not None and u.cpu_after is not None
            else ""
        )
        print(f"  worker {pid}: {b} -> {a}{delta}{cpu}")
    return total_errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument(
        "--sightings", type=int, default=0, help="pre-fill SPUC's file with this many records"
    )
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY")
    parser.add_argument("--threads", type=int, default=4, help="SPUCSVI_THREADS")
    parser.add_argument(
        "--write-delay",
        type=float,
        default=0.0,
        help="seconds the emulator sleeps inside its race window",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= 3600 and 0 < args.clients <= 64 and args.max_requests > 0):
        parser.error("need 0 < --seconds <= 3600, 0 < --clients <= 64, --max-requests > 0")

    # Ctrl-C (even when started with SIGINT ignored, as background jobs are)
    # and SIGTERM both shut down cleanly.
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)

    interrupted = False
    with tempfile.TemporaryDirectory(prefix="spucsvi-soak-") as tmp:
        workdir = Path(tmp)
        data_file = workdir / "spuc" / "unicorn_sightings.txt"
        data_file.parent.mkdir()
        if args.sightings:
            prefill(data_file, args.sightings, args.seed)
        spuc = EmulatorServer(data_file, write_delay=args.write_delay).start()
        server = None
        budget = None
        threads: list[threading.Thread] = []
        stats = [ClientStats() for _ in range(args.clients)]
        usage: dict[int, WorkerUsage] = {}
        elapsed = 0.0
        try:
            server = start_server(workdir, spuc.url, args)
            for pid in server.workers():
                rss, cpu = usage_of(pid)
                usage[pid] = WorkerUsage(rss_before=rss, cpu_before=cpu)
            print(
                f"SPUCSVi soak: {args.seconds:g} s, {args.clients} clients, at most "
                f"{args.max_requests} requests; gunicorn {args.workers} workers x "
                f"{args.threads} threads at {server.url}; SPUC emulator at {spuc.url} with "
                f"{args.sightings} sightings, write delay {args.write_delay:g} s",
                flush=True,
            )
            started = time.monotonic()
            budget = Budget(args.max_requests, started + args.seconds)
            threads = [
                threading.Thread(
                    target=run_client,
                    args=(k, server.url, budget, stats[k], args.seed),
                    name=f"soak-client-{k}",
                    daemon=True,
                )
                for k in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():  # short joins, so Ctrl-C gets through
                    thread.join(timeout=0.2)
            elapsed = time.monotonic() - started
            measure_after(server, usage)
        except KeyboardInterrupt:
            interrupted = True
            print("\ninterrupted: stopping the clients, gunicorn and the emulator", flush=True)
            if budget is not None:
                budget.stop.set()
                elapsed = time.monotonic() - (budget.deadline - args.seconds)
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT + 1)
            if server is not None and server.popen.poll() is None:
                measure_after(server, usage)
        finally:
            if server is not None:
                server.stop()
            try:
                exported = export_records(spuc.url) if server is not None else []
            finally:
                spuc.stop()
        if server is None or elapsed == 0:
            return 130 if interrupted else 1

        errors = report(stats, elapsed, usage)
        acknowledged = Counter(
            (loc.encode("utf-8"), b.encode("utf-8")) for s in stats for loc, b in s.acknowledged
        )
        in_export = Counter(exported)
        lost = acknowledged - in_export
        prefilled = args.sightings
        print()
        print(
            f"submissions answered 303: {sum(acknowledged.values())}; found in SPUC's export: "
            f"{sum((acknowledged & in_export).values())}; lost: {sum(lost.values())}; "
            f"export records: {len(exported)} ({prefilled} pre-filled)"
        )
        for (loc, b), n in list(lost.items())[:5]:
            print(f"  lost: {loc.decode('utf-8', 'replace')!r} brightness {b.decode()!r} x{n}")
        if server.popen.returncode not in (0, None):
            print(f"gunicorn exited with {server.popen.returncode}")
        gunicorn_log = server.output()
        if "Traceback" in gunicorn_log or "WORKER TIMEOUT" in gunicorn_log:
            print("gunicorn's log shows errors:\n" + "\n".join(gunicorn_log.splitlines()[-40:]))
            errors += 1
        failed = bool(errors or lost)
        print("RESULT:", "interrupted" if interrupted else "FAIL" if failed else "OK")
        if interrupted:
            return 130
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
