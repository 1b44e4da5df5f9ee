"""One content coding and ETag path for every kind of answer, over real HTTP.

Each kind (the page, an asset of each type, the plotly bundle, the API's JSON,
a CSV download) is asked for with the Accept-Encoding headers browsers and
tools send, and read raw: a refused encoding is never sent (`gzip;q=0`), what
was sent decodes to the plain answer, and the ETag of what was sent answers
304 (but for a download, which is streamed as it is made and has no ETag).
Asset paths are served only as the asset table spells them.
"""

from __future__ import annotations

import gzip
import http.client
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest
import requests

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.records import DATA
from tests.support.servers import ROOT, ServerProcess, gunicorn, rss_kib, running

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

pytestmark = pytest.mark.slow

STATIC = ROOT / "static"
DECODE = {
    None: lambda body: body,
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": zstd.decompress,
}
# Accept-Encoding -> what a compressible answer is sent as (None: as it is).
NEGOTIATION = {
    "gzip;q=0": None,
    "identity": None,
    "": None,
    "*;q=0": None,
    "gzip;q=0, *": "zstd",
    "br;q=0, gzip;q=0, *;q=0": None,
    "gzip;q=0, br;q=0.5": "br",
    "gzip": "gzip",
    "br": "br",
    "zstd": "zstd",
    "gzip, deflate, br, zstd": "zstd",
    "gzip, br;q=0.5": "gzip",
    "gzip;q=0.5, identity": None,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("encoding")
    data_file = workdir / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    more = "".join(
        f"{i},2026-11-28 11:{i % 60:02d}:00,crater {i % 9},{i % 13},iuhc\n" for i in range(7, 300)
    )
    data_file.write_text(DATA + more, encoding="utf-8")
    with EmulatorServer(data_file) as spuc:
        served = gunicorn(workdir, spuc.url, workers=1, threads=2)
        with running(served):
            yield served


@pytest.fixture(scope="module")
def kinds(server) -> dict[str, tuple[str, bytes | None]]:
    """Each kind of answer: its path and, for an asset, the file's bytes."""
    page = requests.get(f"{server.url}/", timeout=10).text
    assets = dict.fromkeys(re.findall(r'(?:href|src)="(/assets/[^"]+)"', page))
    by_suffix = {Path(url).suffix: url for url in assets if "plotly" not in url}
    plotly = next(url for url in assets if "plotly" in url)
    return {
        "js": (by_suffix[".js"], _static_bytes(by_suffix[".js"])),
        "css": (by_suffix[".css"], _static_bytes(by_suffix[".css"])),
        "svg": (by_suffix[".svg"], _static_bytes(by_suffix[".svg"])),
        "plotly": (plotly, _static_bytes(plotly)),
        "page": ("/", None),
        "json": ("/api/sightings", None),
        "csv": ("/sightings.csv", None),
    }


def _static_bytes(url: str) -> bytes:
    return (STATIC / url.split("/", 3)[3]).read_bytes()


def get_raw(url: str, headers: dict[str, str]) -> tuple[requests.Response, bytes]:
    """The answer and its body exactly as sent (not decoded)."""
    with requests.get(url, headers=headers, timeout=10, stream=True) as response:
        return response, response.raw.read(decode_content=False)


@pytest.mark.parametrize("kind", ["js", "css", "svg", "plotly", "page", "json", "csv"])
@pytest.mark.parametrize("accept", list(NEGOTIATION))
def test_every_kind_is_sent_only_as_the_client_accepts(server, kinds, kind, accept):
    path, file_bytes = kinds[kind]
    plain_answer, plain = get_raw(f"{server.url}{path}", {"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain_answer.headers
    assert file_bytes is None or plain == file_bytes
    response, body = get_raw(f"{server.url}{path}", {"Accept-Encoding": accept})
    assert response.status_code == 200
    sent = response.headers.get("Content-Encoding")
    expected = NEGOTIATION[accept] if len(plain) >= 500 else None
    assert sent == expected, (path, accept)
    assert DECODE[sent](body) == plain
    if len(plain) >= 500:  # smaller answers are always sent as they are
        assert "accept-encoding" in response.headers.get("Vary", "").lower()


@pytest.mark.parametrize("kind", ["js", "css", "svg", "plotly", "page", "json"])
@pytest.mark.parametrize("accept", ["gzip", "br", "zstd", "identity", "gzip;q=0"])
def test_the_etag_of_what_was_sent_answers_304(server, kinds, kind, accept):
    url = f"{server.url}{kinds[kind][0]}"
    first, _ = get_raw(url, {"Accept-Encoding": accept})
    etag = first.headers["ETag"]
    again, body = get_raw(url, {"Accept-Encoding": accept, "If-None-Match": etag})
    assert (again.status_code, body, again.headers["ETag"]) == (304, b"", etag)
    # Another encoding is another representation: not the one the client holds.
    other = "identity" if first.headers.get("Content-Encoding") else "gzip, br, zstd"
    changed, _ = get_raw(url, {"Accept-Encoding": other, "If-None-Match": etag})
    if changed.headers.get("Content-Encoding") != first.headers.get("Content-Encoding"):
        assert changed.status_code == 200 and changed.headers["ETag"] != etag


def spellings(canonical: str, count: int) -> Iterator[str]:
    """Other spellings of an asset's path, each different, that name the same file."""
    head, _, rest = canonical.partition("/vendor/")
    for i in range(count):
        yield (
            f"{head}/vendor/x{i}/../{rest}",
            f"{head}/vendor/{'./' * (i % 50 + 1)}{rest}",
            f"{head}/vendor{'/' * (i % 50 + 2)}{rest}",
            f"{head}/./vendor/y{i}/.././{rest}",
        )[i % 4]


def test_an_asset_spelled_otherwise_is_a_404_and_costs_no_memory(server, kinds):
    plotly = kinds["plotly"][0]
    port = int(server.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def status_of(path: str, accept: str) -> int:
        connection.request("GET", path, headers={"Accept-Encoding": accept})
        answer = connection.getresponse()
        answer.read()
        return answer.status

    # Every encoding of the bundle made once, then memory measured.
    for accept in ("gzip", "br", "zstd", "identity"):
        assert status_of(plotly, accept) == 200
    (worker,) = server.workers()
    before = rss_kib(worker)
    statuses = [status_of(path, "gzip, br, zstd") for path in spellings(plotly, 1000)]
    after = rss_kib(worker)
    connection.close()
    assert set(statuses) == {404}
    assert after < before * 1.2, (before, after)
