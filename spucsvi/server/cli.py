"""The `spucsvi` command: serve, demo (with the built-in SPUC emulator), emulator."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from gunicorn.app.base import BaseApplication

from spucsvi.server import gunicorn_settings
from spucsvi.settings import SettingsError, from_env
from spucsvi.spuc.emulator import EmulatorServer, serve

DEFAULT_DEMO_DATA = Path(".spucsvi-demo") / "unicorn_sightings.txt"


class GunicornServer(BaseApplication):
    """gunicorn with the project's settings, started from Python."""

    def __init__(self, overrides: dict[str, object]):
        self.overrides = overrides
        super().__init__()

    def load_config(self) -> None:
        for name in dir(gunicorn_settings):
            if name in self.cfg.settings:
                self.cfg.set(name, getattr(gunicorn_settings, name))
        # Any other gunicorn setting from GUNICORN_CMD_ARGS, as the gunicorn command reads it.
        env_args = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        for name, value in vars(env_args).items():
            if value is not None and name != "args":
                self.cfg.set(name.lower(), value)
        for name, value in self.overrides.items():
            self.cfg.set(name, value)

    def load(self):
        from spucsvi import create_app

        return create_app()


def run_gunicorn(bind: str, workers: int | None) -> None:
    try:
        from_env()
    except SettingsError as exc:
        sys.exit(f"spucsvi: {exc}")
    overrides: dict[str, object] = {"bind": [bind]}
    if workers:
        overrides["workers"] = workers
    GunicornServer(overrides).run()


def cmd_serve(args: argparse.Namespace) -> None:
    run_gunicorn(args.bind, args.workers)


def cmd_demo(args: argparse.Namespace) -> None:
    """SPUC's emulator on a free 127.0.0.1 port, and SPUCSVi pointed at it."""
    emulator = EmulatorServer(args.data_file, units=args.units).start()
    logging.getLogger("spucsvi.demo").warning(
        "SPUC emulator at %s, sightings kept in %s", emulator.url, args.data_file.resolve()
    )
    os.environ["SPUC_URL"] = emulator.url
    os.environ.pop("SPUC_HOST", None)
    try:
        run_gunicorn(args.bind, args.workers)
    finally:
        emulator.stop()


def cmd_emulator(args: argparse.Namespace) -> None:
    try:
        serve(
            args.host,
            args.port,
            args.data_file,
            export_enabled=not args.no_export,
            units=args.units,
            allow_public=args.allow_public,
        )
    except ValueError as exc:
        sys.exit(f"spucsvi emulator: {exc}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spucsvi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="serve SPUCSVi against SPUC_URL")
    serve_parser.add_argument("--bind", default=gunicorn_settings.bind)
    serve_parser.add_argument("--workers", type=int)
    serve_parser.set_defaults(handler=cmd_serve)

    demo = commands.add_parser("demo", help="serve SPUCSVi on a built-in SPUC emulator")
    demo.add_argument("--bind", default="127.0.0.1:8322")
    demo.add_argument("--workers", type=int)
    demo.add_argument("--data-file", type=Path, default=DEFAULT_DEMO_DATA)
    demo.add_argument("--units", default="iuhc", choices=["iuhc", "iulu"])
    demo.set_defaults(handler=cmd_demo)

    emulator = commands.add_parser("emulator", help="run only the SPUC emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8321)
    emulator.add_argument("--data-file", type=Path, default=DEFAULT_DEMO_DATA)
    emulator.add_argument("--units", default="iuhc", choices=["iuhc", "iulu"])
    emulator.add_argument("--no-export", action="store_true", help="answer 404 on /export")
    emulator.add_argument(
        "--allow-public",
        action="store_true",
        help="allow a --host that is not loopback (in a container, for example)",
    )
    emulator.set_defaults(handler=cmd_emulator)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
