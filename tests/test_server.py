"""The app is correct however it is served: gunicorn with or without
gunicorn.conf.py, any number of workers, --preload, waitress, `flask run`,
a path prefix; no secret to share and no server hook to run.

Each server is a real process on 127.0.0.1 (tests/servers.py); visitors are
new `requests` sessions, each on its own connection, sending what a browser
on the page sends (`Sec-Fetch-Site: same-origin`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.servers import (
    ROOT,
    ServerProcess,
    child_env,
    free_port,
    gunicorn,
    running,
    waitress,
)

SPUCSVI = [sys.executable, "-m", "spucsvi"]
VISITORS = 12


def visit_and_submit(url: str, location: str, brightness: str = "4") -> requests.Response:
    """A new visitor: opens the page, submits the form, lands on the confirmation."""
    with requests.Session() as browser:
        assert browser.get(f"{url}/", timeout=10).status_code == 200
        return browser.post(
            f"{url}/sightings",
            data={"location": location, "brightness": brightness},
            headers={"Sec-Fetch-Site": "same-origin", "Origin": url},
            timeout=10,
        )


def assert_every_visitor_is_accepted(url: str, spuc: EmulatorServer, prefix: str) -> None:
    for i in range(VISITORS):
        answer = visit_and_submit(url, f"{prefix} {i}, crater & co")
        assert answer.status_code == 200, answer.text[:500]
        assert "Unicorn sighting recorded!" in answer.text
        assert f"{prefix} {i}, crater &amp; co" in answer.text
        assert 'class="just-added"' in answer.text
        # Shown once: the next view is the page every visitor gets.
        again = requests.get(f"{url}/", timeout=10)
        assert "Unicorn sighting recorded!" not in again.text
    lines = spuc.data_file.read_text().splitlines()[1:]
    assert [line.split(",", 2)[2].rsplit(",", 2)[0] for line in lines] == [
        f"{prefix} {i}, crater & co" for i in range(VISITORS)
    ]


def assert_a_sighting_sent_to_spuc_appears(url: str, spuc: EmulatorServer) -> None:
    requests.put(
        f"{spuc.url}/unicorn_spotted", params={"location": "straight", "brightness": "1"}, timeout=5
    ).raise_for_status()
    deadline = time.monotonic() + 5  # the freshness window is 1 s
    while time.monotonic() < deadline:
        if ">straight<" in requests.get(f"{url}/", timeout=10).text:
            return
        time.sleep(0.2)
    raise AssertionError("a sighting sent straight to SPUC never appeared")


@pytest.fixture
def spuc(tmp_path):
    with EmulatorServer(tmp_path / "spuc" / "unicorn_sightings.txt") as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "threads", "extra"),
    [(4, 1, ()), (2, 4, ()), (2, 4, ("--preload",))],
    ids=["sync-4-workers", "gthread-2x4", "preload"],
)
def test_plain_gunicorn_without_config_or_secret(tmp_path, spuc, workers, threads, extra):
    """The README's command from a folder without gunicorn.conf.py and no SECRET_KEY."""
    server = gunicorn(tmp_path, spuc.url, workers=workers, threads=threads, extra_argv=extra)
    with running(server):
        assert_every_visitor_is_accepted(server.url, spuc, "gunicorn")
        assert_a_sighting_sent_to_spuc_appears(server.url, spuc)


def flask_run(workdir: Path, spuc_url: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "flask", "--app", "spucsvi:create_app()", "run"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        url=f"http://127.0.0.1:{port}",
        log=workdir / "flask-run.log",
        env=child_env(SPUC_URL=spuc_url, SPUCSVI_SUBMIT_LOCK=str(workdir / "lock")),
        cwd=workdir,
    ).wait_until_up()


@pytest.mark.slow
@pytest.mark.parametrize("name, start", [("waitress", waitress), ("flask-run", flask_run)])
def test_other_wsgi_servers(tmp_path, spuc, name, start):
    server = start(tmp_path, spuc.url)
    with running(server):
        assert_every_visitor_is_accepted(server.url, spuc, name)
        assert_a_sighting_sent_to_spuc_appears(server.url, spuc)


@pytest.mark.slow
def test_path_prefix_links_and_posts_stay_under_it(tmp_path, spuc):
    """Served under /spucsvi (SCRIPT_NAME), every link, asset and form stays there."""
    server = gunicorn(tmp_path, spuc.url, prefix="/spucsvi")
    with running(server):
        requests.put(
            f"{spuc.url}/unicorn_spotted", params={"location": "moon", "brightness": "2"}, timeout=5
        ).raise_for_status()
        page = requests.get(f"{server.url}/spucsvi/", timeout=10).text
        paths = re.findall(r'(?:href|src|action)="(/[^"]*)"', page)
        assert paths and all(path.startswith("/spucsvi/") for path in paths), paths
        for asset in re.findall(r'(?:href|src)="(/spucsvi/assets/[^"]*)"', page):
            assert requests.get(f"{server.url}{asset}", timeout=10).status_code == 200
        answer = visit_and_submit(f"{server.url}/spucsvi", "under a prefix")
        assert answer.status_code == 200 and "Unicorn sighting recorded!" in answer.text
        assert answer.url == f"{server.url}/spucsvi/#report"  # back at the form


@pytest.mark.slow
def test_demo_serves_the_page_with_the_banner_once(tmp_path):
    port = free_port()
    server = ServerProcess(
        [*SPUCSVI, "demo", "--bind", f"127.0.0.1:{port}", "--data-file", str(tmp_path / "d.txt")],
        url=f"http://127.0.0.1:{port}",
        log=tmp_path / "demo.log",
        env=child_env(WEB_CONCURRENCY="2"),
        cwd=tmp_path,
    )
    with running(server):
        server.wait_until_up(workers=2)
        for i in range(4):
            answer = visit_and_submit(server.url, f"crater {i}", "3")
            assert answer.status_code == 200 and "Unicorn sighting recorded!" in answer.text
    output = server.output()
    assert output.count("SPUC Super Visualizer serving on 127.0.0.1:" + str(port)) == 0
    assert output.count("SPUC Super Visualizer serving on localhost:" + str(port)) == 1
    assert output.count(".-'''-. .-------.") == 1
    assert "using SPUC at http://127.0.0.1:" in output
    lines = (tmp_path / "d.txt").read_text().splitlines()
    assert [ln.split(",")[2] for ln in lines[1:]] == [f"crater {i}" for i in range(4)]


@pytest.mark.slow
def test_gunicorn_reads_the_top_level_config(tmp_path):
    """From the repository, gunicorn.conf.py adds the banner and key=value logs."""
    port = free_port()
    server = ServerProcess(
        [sys.executable, "-m", "gunicorn", "spucsvi:create_app()"],
        url=f"http://127.0.0.1:{port}",
        log=tmp_path / "gunicorn.log",
        env=child_env(SPUCSVI_BIND=f"127.0.0.1:{port}", SPUC_URL="http://127.0.0.1:9"),
        cwd=ROOT,
    )
    with running(server):
        server.wait_until_up()
        with requests.get(f"{server.url}/", timeout=5) as page:
            assert page.status_code == 503
            assert "SPUC could not be reached at http://127.0.0.1:9" in page.text
    output = server.output()
    assert output.count("SPUC Super Visualizer serving on localhost:") == 1
    # The access log goes to stdout, one key=value line per request with its request id.
    assert re.search(r'request="GET / HTTP/1.1" status=503 .* request_id=[0-9a-f]{32} ', output)
    assert re.search(r"level=INFO logger=spucsvi request_id=- SPUCSVi .* using SPUC at", output)


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [("serve", "SPUC_URL", "notaurl"), ("demo", "SPUC_READ_TIMEOUT", "soon")],
)
def test_bad_setting_fails_at_start_with_one_line(command, variable, value, tmp_path: Path):
    result = subprocess.run(
        [*SPUCSVI, command, "--bind", "127.0.0.1:0"],
        cwd=tmp_path,
        env=child_env(**{variable: value}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"spucsvi: {variable}={value!r}")
