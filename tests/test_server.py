"""gunicorn serves the app with the project's settings; the banner appears once."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SPUCSVI = [sys.executable, "-m", "spucsvi"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with requests.get(f"{url}/healthz", timeout=1) as response:
                if response.status_code == 200:
                    return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    return output


@pytest.mark.slow
def test_demo_serves_the_page_with_the_banner_once(tmp_path):
    port = free_port()
    env = {**os.environ, "WEB_CONCURRENCY": "2"}
    env.pop("SPUC_URL", None)
    process = subprocess.Popen(
        [*SPUCSVI, "demo", "--bind", f"127.0.0.1:{port}", "--data-file", str(tmp_path / "d.txt")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        with requests.Session() as browser:
            page = browser.get(url, timeout=5)
            assert page.status_code == 200
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            # Several requests, so that both workers answer at least some of them.
            for i in range(4):
                answer = browser.post(
                    f"{url}/sightings",
                    data={"location": f"crater {i}", "brightness": "3", "csrf_token": token},
                    timeout=5,
                )
                assert answer.status_code == 200 and "Unicorn sighting recorded!" in answer.text
    finally:
        output = stop(process)
    assert output.count("SPUC Super Visualizer serving on 127.0.0.1:" + str(port)) == 0
    assert output.count("SPUC Super Visualizer serving on localhost:" + str(port)) == 1
    assert output.count(".-'''-. .-------.") == 1
    assert "using SPUC at http://127.0.0.1:" in output
    lines = (tmp_path / "d.txt").read_text().splitlines()
    assert [ln.split(",")[2] for ln in lines[1:]] == [f"crater {i}" for i in range(4)]


@pytest.mark.slow
def test_gunicorn_reads_the_top_level_config(tmp_path):
    port = free_port()
    env = {**os.environ, "SPUCSVI_BIND": f"127.0.0.1:{port}", "SPUC_URL": "http://127.0.0.1:9"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "spucsvi:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process)
        with requests.get(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status_code == 503
            assert "SPUC could not be reached at http://127.0.0.1:9" in page.text
    finally:
        output = stop(process)
    assert output.count("SPUC Super Visualizer serving on localhost:") == 1
    # The access log goes to stdout, one key=value line per request with its request id.
    assert re.search(r'request="GET / HTTP/1.1" status=503 .* request_id=[0-9a-f]{32} ', output)
    assert re.search(r"level=INFO logger=spucsvi request_id=- SPUCSVi .* using SPUC at", output)


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [("serve", "SPUC_URL", "notaurl"), ("demo", "SPUC_READ_TIMEOUT", "soon")],
)
def test_bad_setting_fails_at_start_with_one_line(command, variable, value, tmp_path):
    env = {**os.environ, variable: value}
    result = subprocess.run(
        [*SPUCSVI, command, "--bind", "127.0.0.1:0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"spucsvi: {variable}={value!r}")
