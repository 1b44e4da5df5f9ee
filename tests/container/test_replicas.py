"""Three SPUCSVi replicas behind nginx (compose.replicas.yml) lose no sighting.

SPUC loses records when submissions arrive at once while its file does not
exist yet. Each replica's workers already take turns through a file lock;
across replicas the lock file sits on a volume they share, so all of them
take turns. The stack starts with an empty volume, the race's worst case.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.container.engine_helpers import (
    COMPOSE_FILE,
    REPLICAS_FILE,
    clean_env,
    record_tail,
    records,
    stack_for_module,
    visit_and_submit,
)

REPLICAS = 3
VISITORS = 24
LOCK = "/run/spucsvi/submit.lock"


@pytest.fixture(scope="module")
def replicas(docker, compose_bin, spucsvi_image, stand_ins, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("replicas")
    publish = tmp / "publish-proxy.yml"
    publish.write_text('services:\n  proxy:\n    ports: !override\n      - "127.0.0.1::80"\n')
    with stack_for_module(
        docker,
        compose_bin,
        tmp,
        "replicas",
        COMPOSE_FILE,
        REPLICAS_FILE,
        publish,
    ) as stack:
        stack("up", "--detach", "--wait", "--scale", f"spucsvi={REPLICAS}", timeout=600)
        yield stack


def test_replicas_are_healthy_and_only_the_proxy_is_published(replicas):
    containers = replicas.containers("spucsvi")
    assert len(containers) == REPLICAS
    for container in containers:
        assert container["Health"] == "healthy", container
        assert not any(p.get("PublishedPort") for p in container.get("Publishers") or []), container
    url = replicas.url("proxy", 80)
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{url}/readyz", timeout=5).status_code == 200


def test_the_replicas_share_one_lock_file(replicas):
    """While one replica holds the lock, another cannot take it: it is one lock."""
    for index in range(1, REPLICAS + 1):
        env = replicas(
            "exec", "-T", "--index", str(index), "spucsvi", "printenv", "SPUCSVI_SUBMIT_LOCK"
        )
        assert env.stdout.decode().strip() == LOCK
    hold = (
        "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); "
        "lock.acquire(); print('held', flush=True); time.sleep(4)"
    )
    try_it = (
        "import sys; from filelock import FileLock, Timeout\n"
        "try:\n    FileLock(sys.argv[1], timeout=0.5).acquire(); print('acquired')\n"
        "except Timeout:\n    print('busy')"
    )
    with subprocess.Popen(
        replicas.argv("exec", "-T", "--index", "1", "spucsvi", "python", "-c", hold, LOCK),
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(**replicas.env),
        cwd=replicas.files[0].parent,
    ) as holder:
        assert holder.stdout.readline().strip() == "held"
        for index in range(2, REPLICAS + 1):
            out = replicas(
                "exec", "-T", "--index", str(index), "spucsvi", "python", "-c", try_it, LOCK
            )
            assert out.stdout.decode().strip() == "busy", index
        holder.wait(timeout=30)
    out = replicas("exec", "-T", "--index", "2", "spucsvi", "python", "-c", try_it, LOCK)
    assert out.stdout.decode().strip() == "acquired"


def test_many_new_visitors_through_the_proxy_lose_no_sighting(replicas):
    # No sightings file yet: SPUC's first-write race is open.
    assert replicas.exec("spuc", "ls", "-A", "/spuc/output") == b""
    url = replicas.url("proxy", 80)
    sightings = [(f"replica test {i}, à & # + {i}", str(i)) for i in range(VISITORS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda s: visit_and_submit(url, *s), sightings))

    found = records(replicas.sightings_file())
    assert sorted(record_tail(r) for r in found) == sorted(
        f"{loc},{b},iuhc\n".encode() for loc, b in sightings
    )
    # One at a time, so SPUC's counter never raced either.
    assert [int(r.split(b",", 1)[0]) for r in found] == list(range(1, VISITORS + 1))

    # The proxy spread the submissions over the replicas.
    logs = replicas("logs", "--no-color", "spucsvi").stdout.decode()
    posts = Counter(
        m.group(1) for m in re.finditer(r'^(\S+)\s+\|.*request="POST /sightings', logs, re.M)
    )
    assert sum(posts.values()) == VISITORS, posts
    assert len(posts) == REPLICAS, posts
