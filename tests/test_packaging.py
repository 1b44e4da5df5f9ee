"""A wheel installed (not editable) in a fresh venv serves the page from anywhere."""

import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RENDER = textwrap.dedent(
    """
    import pathlib, sys, tempfile
    import spucsvi
    from spucsvi import create_app
    from spucsvi.spuc.emulator import EmulatorServer

    assert pathlib.Path(spucsvi.__file__).is_relative_to(sys.prefix), spucsvi.__file__
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(pathlib.Path(tmp) / "s.txt") as spuc:
        client = create_app({"SPUC_URL": spuc.url, "SECRET_KEY": "x"}).test_client()
        page = client.get("/")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, page.status_code
        assert "I saw a unicorn!" in html
        css = html.split('rel="stylesheet" href="')[1].split('"')[0]
        assert client.get(css).status_code == 200, css
        print("rendered", spucsvi.__version__)
    """
)


@pytest.mark.slow
def test_wheel_installs_and_renders_from_any_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(wheels.glob("spucsvi-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies come from this test run's environment, so the check needs no network;
    # the wheel itself is unpacked the way pip installs it.
    Path(site, "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, wheel],
        check=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [python, "-c", RENDER], cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rendered 1.")
