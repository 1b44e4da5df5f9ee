"""Helpers for the container tests: the docker CLI, Compose stacks, visitors.

Imported by conftest.py and the test modules in this folder.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
REPLICAS_FILE = ROOT / "compose.replicas.yml"
IN_CI = os.environ.get("CI") == "true"
SPUCSVI_IMAGE = "spucsvi:latest"
SIGHTINGS_FILE = "/spuc/output/unicorn_sightings.txt"

# The shell must not change a result: the compose files interpolate these,
# and Compose and the docker CLI read COMPOSE_* and DOCKER_* settings.
_ISOLATED_ENV = ("SPUC_UNITS", "SPUC_URL", "SPUC_HOST")


def need(reason: str) -> None:
    """Skip when the engine or a tool is absent; in CI that is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run installs and starts the engine)", pytrace=False)
    pytest.skip(reason)


def docker_cli() -> str | None:
    """Debian's 20.10 CLI (/usr/bin/docker) builds with BuildKit without the
    buildx plugin, which newer CLIs demand; prefer it. SPUCSVI_DOCKER overrides."""
    if os.environ.get("SPUCSVI_DOCKER"):
        return os.environ["SPUCSVI_DOCKER"]
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    return shutil.which("docker")


# Where the engine is stays the caller's choice.
_ENGINE_ENV = (
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _ISOLATED_ENV
        and (k in _ENGINE_ENV or not k.startswith(("COMPOSE_", "DOCKER_")))
    }
    cli = docker_cli()
    if cli:  # Compose calls `docker` for some steps: the same CLI as the tests.
        env["PATH"] = f"{Path(cli).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DOCKER_BUILDKIT"] = "1"
    env.update(extra)
    return env


def run(args: Sequence[str], *, timeout: float = 300, check: bool = True, **kw):
    out = subprocess.run(
        list(args), capture_output=True, timeout=timeout, env=kw.pop("env", clean_env()), **kw
    )
    if check and out.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {out.returncode}\n"
            f"stdout: {out.stdout.decode(errors='replace')[-3000:]}\n"
            f"stderr: {out.stderr.decode(errors='replace')[-3000:]}"
        )
    return out


def image_size(docker: str, name: str) -> int:
    out = run([docker, "image", "inspect", "--format", "{{.Size}}", name])
    return int(out.stdout)


def base_image_name() -> str:
    names = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.upper().startswith("FROM ")
    }
    (name,) = names
    return name


# --------------------------------------------------------------------------
# Stacks


@dataclass
class Stack:
    """One compose project: ``stack("ps")`` runs ``docker compose -p NAME -f ... ps``."""

    compose_bin: Path
    docker: str
    project: str
    files: list[Path]
    env_file: Path
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        command = [str(self.compose_bin), "-p", self.project, "--env-file", str(self.env_file)]
        for file in self.files:
            command += ["-f", str(file)]
        return [*command, *args]

    def __call__(self, *args: str, timeout: float = 300, check: bool = True, **env: str):
        return run(
            self.argv(*args),
            timeout=timeout,
            check=check,
            env=clean_env(**{**self.env, **env}),
            cwd=self.files[0].parent,
        )

    def up(self, *args: str, **env: str):
        return self("up", "--detach", "--wait", *args, **env)

    def down(self) -> None:
        """Remove the stack; its last log lines go to the captured output first,
        which pytest shows when a test of the stack failed."""
        out = self("logs", "--no-color", "--tail", "80", check=False)
        print(f"--- last log lines of {self.project} ---\n{out.stdout.decode(errors='replace')}")
        self("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)

    def containers(self, service: str, *, all: bool = True) -> list[dict]:
        args = ["ps", "--format", "json", *(["--all"] if all else []), service]
        out = self(*args).stdout.decode().strip()
        if not out:
            return []
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines()]

    def inspect(self, service: str) -> dict:
        (container,) = self.containers(service)
        out = run([self.docker, "inspect", container["ID"]])
        return json.loads(out.stdout)[0]

    def url(self, service: str, port: int, index: int = 1) -> str:
        out = self("port", "--index", str(index), service, str(port)).stdout.decode().strip()
        host, _, published = out.rpartition(":")
        assert host == "127.0.0.1", f"{service} is published on {out}, not on 127.0.0.1"
        return f"http://127.0.0.1:{published}"

    def exec(self, service: str, *command: str) -> bytes:
        return self("exec", "-T", service, *command).stdout

    def sightings_file(self, service: str = "spuc") -> bytes:
        """SPUC's file, read inside SPUC's container."""
        return self.exec(service, "cat", SIGHTINGS_FILE)

    def logs(self, service: str) -> str:
        return self("logs", "--no-color", "--no-log-prefix", service).stdout.decode()

    def volume(self, name: str) -> str:
        return f"{self.project}_{name}"


@contextmanager
def stack_for_module(
    docker: str,
    compose_bin: Path,
    tmp_path: Path,
    name: str,
    *files: Path,
    unique: bool = True,
    **env: str,
):
    """The module-scoped version of make_stack. The project is named
    spucsvi-test-NAME, plus a random suffix unless unique=False (for a file
    whose fixed container names allow only one copy anyway)."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    stack = Stack(
        compose_bin,
        docker,
        f"spucsvi-test-{name}" + (f"-{secrets.token_hex(3)}" if unique else ""),
        list(files),
        env_file,
        env,
    )
    try:
        yield stack
    finally:
        stack.down()


def publish_locally(tmp_path: Path, service: str = "spucsvi", port: int = 8322) -> Path:
    """An override that publishes SERVICE's PORT on an ephemeral port of 127.0.0.1 only."""
    path = tmp_path / f"publish-{service}.yml"
    path.write_text(f'services:\n  {service}:\n    ports: !override\n      - "127.0.0.1::{port}"\n')
    return path


# --------------------------------------------------------------------------
# Visitors


def visit_and_submit(base_url: str, location: str, brightness: str) -> str:
    """One new visitor: its own session and connection, the page, then the form,
    posted as a browser on the page posts it. Returns the final page."""
    with requests.Session() as visitor:
        page = visitor.get(f"{base_url}/", timeout=15)
        assert page.status_code == 200, page.status_code
        answer = visitor.post(
            f"{base_url}/sightings",
            data={"location": location, "brightness": brightness},
            headers={"Sec-Fetch-Site": "same-origin", "Origin": base_url},
            timeout=30,
            allow_redirects=False,
        )
        assert answer.status_code in (200, 303), (answer.status_code, answer.text[:2000])
        if answer.status_code == 303:
            answer = visitor.get(
                requests.compat.urljoin(f"{base_url}/", answer.headers["Location"]), timeout=15
            )
        assert answer.status_code == 200, answer.status_code
        assert "Unicorn sighting recorded!" in answer.text, answer.text[:2000]
        return answer.text


def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_until_serving(base_url: str, timeout: float = 30, in_a_row: int = 12) -> None:
    """Wait until the page answers 200 IN_A_ROW times, each on a new connection.

    Every gunicorn worker keeps its own copy of the records, refreshed in the
    background, so after an outage of SPUC the workers recover a moment apart:
    one 200 does not mean the next request (maybe another worker) gets one.
    """

    def serving() -> bool:
        return all(
            requests.get(f"{base_url}/", timeout=10).status_code == 200 for _ in range(in_a_row)
        )

    wait_for(serving, timeout=timeout, what=f"{base_url}/ to answer 200 {in_a_row} times in a row")


def docker_time(text: str) -> datetime:
    """A time as the engine writes it (RFC 3339, nanoseconds, Z or an offset), in UTC."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    assert match, text
    whole, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(
        f"{whole}.{(fraction or '0')[:6].ljust(6, '0')}{'+00:00' if zone == 'Z' else zone}"
    )
    return stamp.astimezone(UTC)


def records(file: bytes) -> list[bytes]:
    """The file's records after the header; each still ends in its newline."""
    lines = file.splitlines(keepends=True)
    assert lines and lines[0] == b"count,time,location,brightness,units\n", lines[:1]
    return lines[1:]


def record_tail(record: bytes) -> bytes:
    """A record without its count and time: ``location,brightness,units\\n``."""
    return record.split(b",", 2)[2]
