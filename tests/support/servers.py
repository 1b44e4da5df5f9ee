"""Real servers on 127.0.0.1, started one way for the tests and the benchmarks.

SPUCSVi under gunicorn (exactly as a user types it, from any folder, with or
without gunicorn.conf.py) or `spucsvi serve`, and the SPUC emulator as its
own process. Each runs in its own session with its output in a log file (a
pipe nobody reads would fill and block it), is up once its health URL
answers and every worker has loaded the app, and is stopped with SIGTERM,
then SIGKILL of its whole process group.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from spucsvi.settings import NAMES

ROOT = Path(__file__).resolve().parents[2]
# Every setting in the developer's shell would change what a server does.
_UNSET = NAMES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """This environment without SPUCSVi's own variables, plus `extra`; the
    checkout on PYTHONPATH so a child imports this source tree. The submission
    limit is off (tests and benchmarks submit many sightings from 127.0.0.1)
    unless `extra` sets SPUCSVI_SUBMIT_RATE."""
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env["SPUCSVI_SUBMIT_RATE"] = "off"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


class ServerProcess:
    """A server started from `argv` in `cwd`, answering at `url`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        url: str,
        log: Path,
        env: Mapping[str, str],
        cwd: Path,
        open_files: tuple[int, int] | None = None,
    ):
        """`open_files`: its limits of open files, soft and hard (RLIMIT_NOFILE)."""
        self.url, self.log = url, log
        # With --preload the master loads the app once, before forking.
        self.loads = 1 if "--preload" in argv else None
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(
                    (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files))
                    if open_files
                    else None
                ),
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def workers(self) -> list[int]:
        """The master's children (gunicorn's workers)."""
        with contextlib.suppress(OSError):
            return sorted(
                int(child)
                for task in Path(f"/proc/{self.pid}/task").iterdir()
                for child in (task / "children").read_text().split()
            )
        return []

    def wait_until_up(
        self, path: str = "/healthz", *, workers: int = 0, status: int = 200, seconds: float = 60
    ) -> ServerProcess:
        """Until `path` answers `status` and `workers` workers have loaded the app."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.url} exited:\n{self.output()[-4000:]}")
            try:
                with requests.get(f"{self.url}{path}", timeout=1) as answer:
                    if answer.status_code == status and self._booted(workers):
                        time.sleep(0.2)  # from "app loaded" to accepting in every worker
                        return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"{self.url} did not come up in {seconds} s:\n{self.output()[-4000:]}")

    def _booted(self, workers: int) -> bool:
        if not workers:
            return True
        loaded = self.output().count("using SPUC at")
        return len(self.workers()) >= workers and loaded >= (self.loads or workers)

    def stop(self, grace: float = 20) -> str:
        """SIGTERM, then SIGKILL of the whole session; returns the output."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        return self.output()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def gunicorn(
    workdir: Path,
    spuc_url: str,
    *,
    workers: int = 2,
    threads: int = 4,
    cwd: Path | None = None,
    config: Path | None = None,
    extra_argv: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    prefix: str = "",
    name: str = "gunicorn",
    open_files: tuple[int, int] | None = None,
) -> ServerProcess:
    """`gunicorn -w N --threads T 'spucsvi:create_app()'` as a user runs it, from
    `cwd` (default `workdir`, a folder without gunicorn.conf.py): gunicorn reads
    a gunicorn.conf.py there, or the `config` file it is given. A `prefix` serves
    the app under that path (SCRIPT_NAME), as behind a proxy."""
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--threads", str(threads), "--no-control-socket"]
    argv += ["--config", str(config)] if config else []
    argv += [*extra_argv, "spucsvi:create_app()"]
    return ServerProcess(
        argv,
        url=f"http://127.0.0.1:{port}",
        log=workdir / f"{name}.log",
        env=child_env(
            SPUC_URL=spuc_url, SPUCSVI_SUBMIT_LOCK=str(workdir / "submit.lock"), SCRIPT_NAME=prefix
        )
        | dict(env or {}),
        cwd=cwd or workdir,
        open_files=open_files,
    ).wait_until_up(f"{prefix}/healthz", workers=workers)


def spucsvi_serve(
    workdir: Path,
    spuc_url: str,
    *,
    workers: int = 2,
    threads: int = 4,
    env: Mapping[str, str] | None = None,
    open_files: tuple[int, int] | None = None,
    prefix: str = "",
) -> ServerProcess:
    """`spucsvi serve`, the project's own gunicorn settings included (others from
    GUNICORN_CMD_ARGS in `env`); `open_files`: its soft and hard limits of open files;
    a `prefix` serves the app under that path (SCRIPT_NAME)."""
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "spucsvi", "serve", "--bind", f"127.0.0.1:{port}"],
        url=f"http://127.0.0.1:{port}",
        log=workdir / "spucsvi-serve.log",
        env=child_env(
            SPUC_URL=spuc_url,
            WEB_CONCURRENCY=str(workers),
            SPUCSVI_THREADS=str(threads),
            SPUCSVI_SUBMIT_LOCK=str(workdir / "submit.lock"),
            SCRIPT_NAME=prefix,
        )
        | dict(env or {}),
        cwd=workdir,
        open_files=open_files,
    ).wait_until_up(f"{prefix}/healthz", workers=workers)


def waitress(
    workdir: Path,
    spuc_url: str,
    *,
    threads: int = 4,
    extra_argv: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """`waitress-serve --call spucsvi:create_app`: another WSGI server (one process)."""
    port = free_port()
    argv = [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}"]
    argv += ["--threads", str(threads), *extra_argv, "--call", "spucsvi:create_app"]
    return ServerProcess(
        argv,
        url=f"http://127.0.0.1:{port}",
        log=workdir / "waitress.log",
        env=child_env(SPUC_URL=spuc_url, SPUCSVI_SUBMIT_LOCK=str(workdir / "submit.lock"))
        | dict(env or {}),
        cwd=workdir,
    ).wait_until_up()


def emulator(data_file: Path, workdir: Path, *, units: str = "iuhc") -> ServerProcess:
    """The SPUC emulator in its own process (not sharing this one's GIL)."""
    port = free_port()
    argv = [sys.executable, "-m", "spucsvi", "emulator", "--port", str(port)]
    argv += ["--data-file", str(data_file), "--units", units]
    return ServerProcess(
        argv,
        url=f"http://127.0.0.1:{port}",
        log=workdir / "emulator.log",
        env=child_env(),
        cwd=workdir,
    ).wait_until_up("/", status=404)  # SPUC has no page at /: a quick 404 says it is up


@contextlib.contextmanager
def running(*servers: ServerProcess) -> Iterator[None]:
    """Stop these servers when the block ends, however it ends."""
    try:
        yield
    finally:
        for server in reversed(servers):
            server.stop()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextlib.contextmanager
def spucsvi_in_process(app) -> Iterator[str]:
    """The app on werkzeug's threaded server: one process, a thread per request,
    so a test can look at the app's state between requests over HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
