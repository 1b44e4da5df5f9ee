#!/usr/bin/env python3
"""Make the images the container tests need when they cannot be pulled.

    python tests/container/make_images.py            # every image, names read from the repo
    python tests/container/make_images.py spuc nginx # only some kinds

Kinds and the names they are tagged with:

- ``debian``: ``debian:bookworm-slim``, a ``debootstrap --variant=minbase`` of
  Debian bookworm with the run-time libraries CPython needs.
- ``python``: the name the Dockerfile's ``FROM`` lines use
  (``python:3.12.X-slim-bookworm``): the Debian tree above plus this
  machine's pyenv CPython 3.12, copied to the same path (its rpath points
  there) and linked into /usr/local/bin.
- ``spuc``: ``spuacv/spuc:latest``, SPUC as seen from outside (``--units`` on
  its command line, ``EXPORT``, ``/spuc/output/unicorn_sightings.txt``, port
  8321, ``curl`` for the healthcheck), served by this project's SPUC emulator
  through the shim ``spuc/spuc.py``.
- ``nginx``: the proxy image ``compose.replicas.yml`` names, built from
  Debian's ``nginx`` package and laid out like the official image.
- ``redis``: the Redis image ``deploy/stack.yml`` names, built from Debian's
  ``redis-server`` package and laid out like the official image.

Idempotent: an image that ``docker image inspect`` finds is kept, and one
that ``docker pull`` fetches is used as it is (a real image always wins).
Only stand-ins made here carry the label ``org.spucsvi.stand-in``; the SPUC,
nginx and Redis ones also carry a hash of their inputs and are rebuilt when those
change. Needs root (debootstrap), a Debian mirror and a registry for pip and
apt inside the builds; no Docker Hub.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LABEL = "org.spucsvi.stand-in"
DEBIAN_IMAGE = "debian:bookworm-slim"
SPUC_IMAGE = "spuacv/spuc:latest"
PULL_TIMEOUT = 120

# What CPython's extension modules link against (ldd of lib-dynload), plus
# what a slim python image carries: certificates, netbase, tzdata.
DEBIAN_PACKAGES = [
    "ca-certificates",
    "netbase",
    "tzdata",
    "libbz2-1.0",
    "libcrypt1",
    "libexpat1",
    "libffi8",
    "liblzma5",
    "libncursesw6",
    "libreadline8",
    "libsqlite3-0",
    "libssl3",
    "libtirpc3",
    "libnsl2",
    "libuuid1",
    "zlib1g",
]


def log(message: str) -> None:
    print(f"make_images: {message}", file=sys.stderr, flush=True)


def docker_cli() -> str:
    """Debian's 20.10 CLI builds with BuildKit without the buildx plugin; prefer it."""
    if os.environ.get("SPUCSVI_DOCKER"):
        return os.environ["SPUCSVI_DOCKER"]
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    found = shutil.which("docker")
    if not found:
        sys.exit("make_images: no docker CLI found")
    return found


DOCKER = docker_cli()


def docker(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    return subprocess.run([DOCKER, *args], check=check, text=True, env=env, **kw)


def inspect_labels(name: str) -> dict[str, str] | None:
    """The image's labels, or None when there is no such image."""
    out = docker("image", "inspect", name, check=False, capture_output=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)[0]["Config"].get("Labels") or {}


def present_or_pulled(name: str, inputs_hash: str | None = None) -> bool:
    """True when NAME is usable as it is: present (a real one, or a current stand-in) or pulled."""
    labels = inspect_labels(name)
    if labels is not None:
        if LABEL not in labels or inputs_hash is None or labels[LABEL] == inputs_hash:
            log(f"{name}: present")
            return True
        log(f"{name}: stand-in made from older inputs, rebuilding")
        return False
    try:
        out = docker("pull", "-q", name, check=False, capture_output=True, timeout=PULL_TIMEOUT)
    except subprocess.TimeoutExpired:
        log(f"{name}: pull timed out after {PULL_TIMEOUT} s")
        return False
    if out.returncode == 0:
        log(f"{name}: pulled")
        return True
    log(f"{name}: cannot pull ({out.stderr.strip().splitlines()[-1:]}), making a stand-in")
    return False


def hash_paths(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if not path.exists():  # a layout that moved: hash what is there
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------
# Names the repository's own files use


def python_base_name() -> str:
    """The image every FROM line of the Dockerfile starts from (one name, pinned)."""
    names = set()
    stages = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words and words[0].upper() == "FROM":
            image = next(w for w in words[1:] if not w.startswith("--"))
            if image not in stages:
                names.add(image)
            if len(words) >= 4 and words[-2].upper() == "AS":
                stages.add(words[-1])
    if len(names) != 1:
        sys.exit(f"make_images: expected one base image in the Dockerfile, found {names}")
    return names.pop()


def image_name(kind: str, file: str) -> str:
    """The `kind:tag` image that the repository's `file` names."""
    text = (ROOT / file).read_text()
    match = re.search(rf"^\s+image:\s*[\"']?({kind}:[^\s\"']+)", text, re.MULTILINE)
    if not match:
        sys.exit(f"make_images: no {kind} image in {file}")
    return match.group(1)


# --------------------------------------------------------------------------
# Debian and Python, from debootstrap and pyenv


def debian_mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        match = re.search(r"^URIs:\s*(\S+/debian)\s*$", sources.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        match = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s", legacy.read_text(), re.M)
        if match:
            return match.group(1)
    return "http://deb.debian.org/debian"


def pyenv_python(minor: str) -> Path:
    """This machine's pyenv CPython ``minor`` (e.g. 3.12), newest patch release."""
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        roots.insert(0, out.stdout.strip())
    for root in filter(None, roots):
        versions = Path(root) / "versions"
        found = [
            p
            for p in versions.glob(f"{minor}.*")
            if re.fullmatch(rf"{re.escape(minor)}\.\d+", p.name) and (p / "bin/python3").exists()
        ]
        if found:
            return max(found, key=lambda p: int(p.name.rsplit(".", 1)[1]))
    sys.exit(f"make_images: no CPython {minor} under pyenv (looked in {roots})")


def debootstrap(target: Path) -> None:
    program = shutil.which("debootstrap")
    if not program:
        sys.exit("make_images: debootstrap is not installed (apt-get install debootstrap)")
    mirror = debian_mirror()
    log(f"debootstrap bookworm from {mirror} (about a minute)")
    subprocess.run(
        [
            program,
            "--variant=minbase",
            f"--include={','.join(DEBIAN_PACKAGES)}",
            "bookworm",
            str(target),
            mirror,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # Like the official slim images: no apt lists, caches or docs in the image.
    for junk in ("var/lib/apt/lists", "var/cache/apt/archives", "usr/share/doc", "usr/share/man"):
        path = target / junk
        if path.exists():
            shutil.rmtree(path)
            path.mkdir()
    (target / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (target / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    # This network's certificate bundle, so pip and apt inside builds trust it.
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", target / "etc/ssl/certs/")


def docker_import(tree: Path, name: str, changes: list[str]) -> None:
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    args += ["--change", f'LABEL {LABEL}="debootstrap"', "-", name]
    tar = subprocess.Popen(
        [shutil.which("tar") or "/bin/tar", "-C", str(tree), "-c", "."], stdout=subprocess.PIPE
    )
    docker(*args, stdin=tar.stdout, stdout=subprocess.DEVNULL)
    tar.stdout.close()
    if tar.wait() != 0:
        sys.exit("make_images: tar failed")
    log(f"{name}: imported")


def make_python(tree: Path, name: str) -> None:
    minor = re.search(r"python:(\d+\.\d+)", name)
    if not minor:
        sys.exit(f"make_images: cannot tell the Python version from {name}")
    source = pyenv_python(minor.group(1))
    inside = tree / source.relative_to("/")
    log(f"copying {source} into the image at the same path")
    shutil.copytree(
        source,
        inside,
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "test", "idlelib", "turtledemo", "tkinter"),
    )
    site = next(inside.glob("lib/python*/site-packages"))
    for pth in site.glob("_*.pth"):
        pth.unlink()
    # Only pip, as in the official image: whatever else this machine installed stays out.
    for entry in site.iterdir():
        if not entry.name.startswith("pip") and entry.name != "README.txt":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    # The image runs as an unprivileged user: every folder on the way must be readable.
    folder = inside
    while folder != tree:
        folder.chmod(0o755)
        folder = folder.parent
    bin_dir = tree / "usr/local/bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for link, target in (("python", "python3"), ("python3", "python3"), ("pip", "pip3")):
        (bin_dir / link).unlink(missing_ok=True)
        (bin_dir / link).symlink_to(source / "bin" / target)
    path = f"/usr/local/bin:{source}/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
    docker_import(
        tree,
        name,
        [f"ENV PATH={path}", "ENV LANG=C.UTF-8", 'CMD ["python3"]'],
    )


def ensure_debian_and_python(kinds: set[str], python_name: str) -> None:
    wanted = {}
    if "debian" in kinds and not present_or_pulled(DEBIAN_IMAGE):
        wanted["debian"] = DEBIAN_IMAGE
    if "python" in kinds and not present_or_pulled(python_name):
        wanted["python"] = python_name
    if not wanted:
        return
    with tempfile.TemporaryDirectory(prefix="stand-in-", dir="/var/tmp") as tmp:
        tree = Path(tmp) / "rootfs"
        debootstrap(tree)
        if "debian" in wanted:
            path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            docker_import(tree, DEBIAN_IMAGE, [f"ENV PATH={path}", 'CMD ["bash"]'])
        if "python" in wanted:
            make_python(tree, python_name)


# --------------------------------------------------------------------------
# SPUC and nginx, built with Dockerfiles on top of the images above


def build(context: Path, name: str, inputs_hash: str, *options: str) -> None:
    log(f"{name}: building the stand-in")
    docker(
        "build",
        *options,
        "--label",
        f"{LABEL}={inputs_hash}",
        "-t",
        name,
        str(context),
        stdout=subprocess.DEVNULL,
    )
    log(f"{name}: built")


def ensure_spuc(python_name: str) -> None:
    inputs = hash_paths(HERE / "spuc", ROOT / "pyproject.toml", ROOT / "spucsvi")
    if present_or_pulled(SPUC_IMAGE, inputs):
        return
    ensure_debian_and_python({"python"}, python_name)
    with tempfile.TemporaryDirectory(prefix="spuc-stand-in-") as tmp:
        context = Path(tmp)
        shutil.copytree(HERE / "spuc", context, dirs_exist_ok=True)
        # The emulator comes in this project's wheel (its CLI is `spucsvi emulator`).
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp, str(ROOT)],
            check=True,
        )
        build(context, SPUC_IMAGE, inputs, "--build-arg", f"PYTHON_IMAGE={python_name}")


def ensure_debian_package_image(kind: str, name: str) -> None:
    """nginx or Redis: Debian's package in an image laid out as the official one."""
    inputs = hash_paths(HERE / kind)
    if present_or_pulled(name, inputs):
        return
    ensure_debian_and_python({"debian"}, "")
    build(HERE / kind, name, inputs)


def main(argv: list[str] | None = None) -> None:
    kinds = ["debian", "python", "spuc", "nginx", "redis"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", help=f"any of {', '.join(kinds)} (default: all)")
    args = parser.parse_args(argv)
    if unknown := set(args.kinds) - set(kinds):
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    wanted = set(args.kinds or kinds)
    started = time.monotonic()
    python_name = python_base_name()
    ensure_debian_and_python(wanted & {"debian", "python"}, python_name)
    if "spuc" in wanted:
        ensure_spuc(python_name)
    if "nginx" in wanted:
        ensure_debian_package_image("nginx", image_name("nginx", "compose.replicas.yml"))
    if "redis" in wanted:
        ensure_debian_package_image("redis", image_name("redis", "deploy/stack.yml"))
    log(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
