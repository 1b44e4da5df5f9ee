"""Worker memory does not grow with what clients ask for (issue 20), over real HTTP.

SPUCSVi under gunicorn as the image runs it (gunicorn.conf.py: PatientWorker,
2 workers) on a SPUC holding 20,000 distinct locations. After a warm-up (the
page, a few table pages, every asset in every encoding), each worker's
resident memory is read from /proc; then 1,000 other spellings of an asset's
path and 200 distinct page numbers, each on a new connection so both workers
take a share; then each worker's memory again, which must stay within 20 %.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.records import export_of_locations
from tests.support.servers import ROOT, ServerProcess, emulator, gunicorn, rss_kib, running
from tests.test_encoding import spellings

pytestmark = pytest.mark.slow

DISTINCT = 20_000
SPELLINGS = 1000
PAGE_NUMBERS = 200
GROWTH = 1.2
ENCODINGS = ("gzip", "br", "zstd", "identity")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("memory")
    data_file = workdir / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    data_file.write_text(export_of_locations(DISTINCT), encoding="utf-8", newline="")
    with running(spuc := emulator(data_file, workdir)):
        served = gunicorn(workdir, spuc.url, workers=2, config=ROOT / "gunicorn.conf.py")
        with running(served):
            yield served


def get(server: ServerProcess, path: str, accept: str = "gzip") -> tuple[int, bytes]:
    """One request on a connection of its own (the kernel picks the worker)."""
    port = int(server.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": accept})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def get_all(server: ServerProcess, paths: list[str], accept: str = "gzip") -> list[int]:
    with ThreadPoolExecutor(4) as pool:
        return [status for status, _ in pool.map(lambda p: get(server, p, accept), paths)]


def test_asset_spellings_and_page_numbers_leave_worker_memory_where_it_was(server):
    status, page = get(server, "/", "identity")
    assert status == 200
    assets = sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+)"', page.decode())))
    plotly = next(path for path in assets if "plotly" in path)
    # Warm-up: what any visitor makes each worker keep, twice over.
    for _ in range(2):
        for accept in ENCODINGS:
            assert set(get_all(server, assets * 4, accept)) == {200}
        assert set(get_all(server, ["/", *(f"/?page={n}" for n in range(2, 10))] * 2)) == {200}
    workers = server.workers()
    assert len(workers) == 2
    before = [rss_kib(pid) for pid in workers]

    odd = list(spellings(plotly, SPELLINGS))
    numbered = [f"/?page={n}" for n in range(10, 10 + PAGE_NUMBERS)]
    assert set(get_all(server, odd, "gzip, br, zstd")) == {404}
    assert set(get_all(server, numbered)) == {200}

    assert server.workers() == workers  # none died and was replaced
    after = [rss_kib(pid) for pid in workers]
    for was, now in zip(before, after, strict=True):
        assert now <= was * GROWTH, f"worker memory {before} KiB -> {after} KiB"
