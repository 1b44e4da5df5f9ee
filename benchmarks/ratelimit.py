"""What a submission's rate count costs when the counter file is large.

    .venv/bin/python -m benchmarks.ratelimit [--rows 300000] [--trials 50]

Fills the submission limit's SQLite file with live counters (one per client
address seen within the hour) and prints the median time of one more count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from spucsvi.web.ratelimit import SCHEME, SqliteStorage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        storage = SqliteStorage(f"{SCHEME}://{Path(folder) / 'rates.sqlite'}")
        storage.incr("first", 3600)
        db, now = storage._db(), time.time()
        rows = ((f"client-{n}", 1, now + 3600) for n in range(args.rows))
        with db:  # one transaction, not one a row
            db.execute("BEGIN")
            db.executemany("INSERT INTO counters VALUES (?, ?, ?)", rows)
        seconds = []
        for trial in range(args.trials):
            started = time.perf_counter()
            storage.incr(f"new-{trial}", 3600)
            seconds.append(time.perf_counter() - started)
    print(f"{args.rows:,} counters: median count {statistics.median(seconds) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
