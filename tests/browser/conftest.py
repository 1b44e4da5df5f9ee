"""Fixtures of the browser tests: Debian's Chromium and one served SPUCSVi per module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, Server, realistic_export, running_spucsvi


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright launches Debian's Chromium with these arguments."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("browser")
    with running_spucsvi(workdir, realistic_export(datetime.now() - timedelta(days=2))) as served:
        yield served
