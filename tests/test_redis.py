"""Replicas on several hosts share one Redis (SPUCSVI_REDIS_URL): one submission
limit and one submit lock for all of them, and a Redis that does not answer
refuses submissions (503, values kept, nothing sent to SPUC) while pages work.

Two gunicorn servers with lock files of their own stand for two hosts (no
shared kernel lock between them); a real redis-server (Debian's package) runs
on a free port of 127.0.0.1 without persistence. Each shared-Redis test has its
control without Redis, where the two hosts do not hold together.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests

from spucsvi.settings import SettingsError, from_env
from spucsvi.spuc.emulator import EmulatorServer
from tests.support.servers import ServerProcess, child_env, free_port, gunicorn, running
from tests.test_load import assert_holds_exactly, is_clean, sightings

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(REDIS_SERVER).exists(),
        reason="needs Debian's redis-server: apt-get install redis-server",
    ),
]
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
FORM = {"location": "Redis crater", "brightness": "7"}
# SPUC's timeouts make the Redis lock's: 0.5 + 1 + shared_state.LOCK_MARGIN (5) s.
QUICK_SPUC = {"SPUC_CONNECT_TIMEOUT": "0.5", "SPUC_READ_TIMEOUT": "1"}


def redis_server(workdir: Path, port: int | None = None) -> ServerProcess:
    """redis-server on 127.0.0.1, keeping nothing on disk, once it answers PING."""
    port = port or free_port()
    argv = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
    argv += ["--appendonly", "no", "--dir", str(workdir)]
    server = ServerProcess(
        argv,
        url=f"redis://127.0.0.1:{port}/0",
        log=workdir / "redis.log",
        env=child_env(),
        cwd=workdir,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(server.url, socket_timeout=1).ping():
                return server
        except redis.RedisError:
            time.sleep(0.05)
    server.stop()
    raise AssertionError(f"redis-server did not answer in 20 s:\n{server.output()}")


@pytest.fixture
def shared_redis(tmp_path) -> Iterator[ServerProcess]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    with redis_server(workdir) as server:
        yield server


def hosts(tmp_path: Path, spuc_url: str, redis_url: str | None, **env: str) -> list[ServerProcess]:
    """Two servers of 2 workers each, each with its own lock file and counts (its
    own host), sharing `redis_url` when given."""
    shared = {"SPUCSVI_REDIS_URL": redis_url} if redis_url else {}
    servers = []
    for name in ("host-a", "host-b"):
        folder = tmp_path / name
        folder.mkdir()
        servers.append(gunicorn(folder, spuc_url, workers=2, env={**shared, **env}))
    return servers


def post(url: str, form: dict[str, str] = FORM, path: str = "/sightings") -> requests.Response:
    return requests.post(
        f"{url}{path}", data=form, headers=SAME_SITE, allow_redirects=False, timeout=10
    )


# --- the setting ---------------------------------------------------------------


def test_the_redis_url_is_checked_at_start_without_showing_its_password():
    url = "redis://:s3cret@redis:6379/0"
    assert from_env({"SPUCSVI_REDIS_URL": f" {url} "}).redis_url == url
    assert from_env({}).redis_url is None
    for bad in ("http://:s3cret@redis:6379", "redis://", "redis://redis:port"):
        with pytest.raises(SettingsError, match="SPUCSVI_REDIS_URL") as error:
            from_env({"SPUCSVI_REDIS_URL": bad})
        assert "s3cret" not in str(error.value)


# --- one limit, one lock across hosts -------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["one-redis", "control-no-redis"])
def test_two_hosts_count_one_limit_together(shared, tmp_path, spuc, shared_redis):
    servers = hosts(
        tmp_path, spuc.url, shared_redis.url if shared else None, SPUCSVI_SUBMIT_RATE="5/minute"
    )
    with running(*servers):
        # One visitor (127.0.0.1), its submissions spread over both hosts, by
        # form and by the JSON API.
        statuses = [
            post(servers[n % 2].url).status_code if n % 3 else _post_json(servers[n % 2].url)
            for n in range(8)
        ]
    accepted = sum(status in (201, 303) for status in statuses)
    assert accepted == (5 if shared else 8), statuses
    assert statuses.count(429) == 8 - accepted, statuses


def _post_json(url: str) -> int:
    with requests.post(f"{url}/api/sightings", json=FORM, headers=SAME_SITE, timeout=10) as answer:
        return answer.status_code


@pytest.mark.parametrize("shared", [True, False], ids=["one-redis", "control-no-redis"])
def test_two_hosts_send_one_sighting_at_a_time(shared, tmp_path, shared_redis):
    """SPUC's file missing at the start, 48 submissions from 8 browsers, half to each
    host: with one Redis lock, SPUC's file holds each once, counted 1..48."""
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    sent = sightings(48)
    with EmulatorServer(data_file, write_delay=0.02) as spuc:
        servers = hosts(tmp_path, spuc.url, shared_redis.url if shared else None)
        with running(*servers):
            results = _submit_concurrently([s.url for s in servers], sent)
        outputs = "".join(server.output() for server in servers)
    assert Counter(results) == {303: len(sent)}, results
    assert "Traceback" not in outputs, outputs[-4000:]
    if shared:
        assert_holds_exactly(data_file, sent)
    else:
        assert not is_clean(data_file, sent), data_file.read_text(encoding="utf-8")


def _submit_concurrently(urls: list[str], sent: list[tuple[str, str]], clients: int = 8) -> list:
    """`clients` browsers starting together, browser k posting every k-th sighting
    to host k mod len(urls)."""
    results: list = ["not sent"] * len(sent)
    barrier = threading.Barrier(clients)

    def browser(k: int) -> None:
        url = urls[k % len(urls)]
        barrier.wait(timeout=20)
        for i in range(k, len(sent), clients):
            location, brightness = sent[i]
            try:
                with post(url, {"location": location, "brightness": brightness}) as answer:
                    results[i] = answer.status_code
            except requests.RequestException as exc:
                results[i] = f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(browser, k) for k in range(clients)]:
            future.result(timeout=120)
    return results


# --- Redis that does not answer ---------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("rate", ["30/minute", "off"], ids=["limit-on", "limit-off"])
@pytest.mark.parametrize("how", ["stopped", "silent"])
def test_without_redis_submissions_are_refused_and_pages_work(
    how, rate, tmp_path, spuc, shared_redis, silent_port
):
    """Redis stopped (connection refused) or silent (a timeout): the form comes back
    with the values and the reason (503), the API says it in JSON, SPUC receives
    nothing, and the pages are served. With the limit on its store fails first;
    with it off, the lock does."""
    url = shared_redis.url if how == "stopped" else f"redis://127.0.0.1:{silent_port}/0"
    server = gunicorn(
        tmp_path, spuc.url, workers=2, env={"SPUCSVI_REDIS_URL": url, "SPUCSVI_SUBMIT_RATE": rate}
    )
    with running(server):
        shared_redis.stop()
        started = time.monotonic()
        with post(server.url, {"location": "<b>kept</b> & here", "brightness": "4.5"}) as form:
            took = time.monotonic() - started
            assert form.status_code == 503, form.text[-2000:]
            assert 'value="&lt;b&gt;kept&lt;/b&gt; &amp; here"' in form.text
            assert 'value="4.5"' in form.text
            assert "Your sighting was not sent" in form.text
        with _post_api(server.url) as api:
            assert api.status_code == 503
            assert "not sent" in api.json()["error"]
        with requests.get(f"{server.url}/", timeout=10) as page:
            assert page.status_code == 200
        output = server.stop()
    assert took < 5, took
    assert not spuc.data_file.exists()  # SPUC received no sighting
    assert "Traceback" not in output, output[-4000:]


def _post_api(url: str) -> requests.Response:
    return requests.post(f"{url}/api/sightings", json=FORM, headers=SAME_SITE, timeout=10)


# --- a crashed holder -------------------------------------------------------------


HOLDER = """
from spucsvi import shared_state
from spucsvi.settings import from_env
lock = shared_state.backend(from_env()).submit_lock()
assert lock.acquire(timeout=5)
lock.mark()
print("held", flush=True)
input()
"""


def test_a_lock_held_by_a_killed_process_expires(tmp_path, spuc, shared_redis):
    env = {"SPUCSVI_REDIS_URL": shared_redis.url, "SPUC_URL": spuc.url, **QUICK_SPUC}
    server = gunicorn(tmp_path, spuc.url, workers=1, env=env)
    with running(server):
        with subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", HOLDER],
            env=child_env(**env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as holder:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            holder.kill()  # SIGKILL: it never releases the lock
        killed = time.monotonic()
        # Held by no one alive: at first the submission is told SPUCSVi is busy...
        with post(server.url) as busy:
            assert busy.status_code == 503 and "busy" in busy.text
        # ...and once the lock's timeout (0.5 + 1 + 5 s) is over, it goes through.
        while (status := post(server.url).status_code) == 503 and time.monotonic() - killed < 15:
            time.sleep(0.5)
        freed = time.monotonic() - killed
    assert status == 303
    assert 6 <= freed < 9, freed
    assert spuc.data_file.read_text(encoding="utf-8").count("Redis crater") == 1
