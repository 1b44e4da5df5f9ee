"""SPUC's command line and environment, mapped onto `spucsvi emulator`.

The stand-in image runs this as /spuc/spuc.py, where SPUC keeps its own
entrypoint: `spuc.py --units iulu`, EXPORT=true (1 true t on yes y, any case),
sightings in /spuc/output/unicorn_sightings.txt, port 8321 on every interface.
Options SPUC has and the emulator does not need are accepted and ignored.
"""

import argparse
import os
import signal
import sys

from spucsvi.server.cli import main

EXPORT_ON = {"1", "true", "t", "on", "yes", "y"}


def _stop(signum, frame):
    # PID 1 in a container gets no default SIGTERM action: exit on `docker stop`
    # at once instead of being killed after the grace period.
    sys.exit(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="spuc.py")
    parser.add_argument("--units", default="iuhc", choices=["iuhc", "iulu"])
    args, _ignored = parser.parse_known_args()
    signal.signal(signal.SIGTERM, _stop)
    export = os.environ.get("EXPORT", "").strip().lower() in EXPORT_ON
    print(f":::: Units set to [{args.units}] ::::", flush=True)
    if export:
        print(":::: Unicorn sightings export activated! ::::", flush=True)
    argv = [
        "emulator",
        "--host",
        "0.0.0.0",  # noqa: S104 - SPUC listens on every interface of its container
        "--allow-public",
        "--port",
        "8321",
        "--data-file",
        "/spuc/output/unicorn_sightings.txt",
        "--units",
        args.units,
    ]
    main(argv if export else [*argv, "--no-export"])
