"""The SPUC emulator answers like SPUC (docs/spuc.md), over real HTTP, quirks included."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.records import HEADER

MISSING = {"ERROR": "Missing data: Need location and brightness."}
RECORDED = {"message": "Unicorn sighting recorded!"}
NO_SIGHTINGS = {"message": "No unicorn sightings yet!"}
TRICKY_LOCATION = "moon, crater & co #1 + ünïcörn"

StartSpuc = Callable[..., EmulatorServer]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """In a directory that does not exist yet: the server must create it."""
    return tmp_path / "output" / "unicorn_sightings.txt"


@pytest.fixture
def start_spuc(data_file: Path) -> Iterator[StartSpuc]:
    """Start emulators on `data_file` with any options; all are stopped afterwards."""
    servers: list[EmulatorServer] = []

    def start(**options: Any) -> EmulatorServer:
        server = EmulatorServer(data_file, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def spuc(start_spuc: StartSpuc) -> EmulatorServer:
    return start_spuc()


def put(spuc: EmulatorServer, **params: str) -> requests.Response:
    return requests.put(f"{spuc.url}/unicorn_spotted", params=params, timeout=5)


def export(spuc: EmulatorServer, **headers: str) -> requests.Response:
    return requests.get(f"{spuc.url}/export", headers=headers, timeout=5)


def records(spuc: EmulatorServer) -> list[str]:
    """The export's lines after the header."""
    body = export(spuc).content.decode("utf-8")
    assert body.startswith(HEADER)
    return body[len(HEADER) :].splitlines()


def put_concurrently(spuc: EmulatorServer, locations: list[str]) -> list[int]:
    """One PUT per location, all released together; their status codes."""
    barrier = threading.Barrier(len(locations))

    def submit(location: str) -> int:
        barrier.wait(timeout=5)
        return put(spuc, location=location, brightness="5").status_code

    with ThreadPoolExecutor(max_workers=len(locations)) as pool:
        return list(pool.map(submit, locations))


# --- PUT /unicorn_spotted ----------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"location": "moon"},
        {"brightness": "5"},
        {"location": "", "brightness": "5"},
        {"location": "moon", "brightness": ""},
        {"location": "", "brightness": ""},
    ],
    ids=["none", "no-brightness", "no-location", "empty-location", "empty-brightness", "empty"],
)
def test_missing_data_is_rejected(spuc: EmulatorServer, data_file: Path, params: dict) -> None:
    response = put(spuc, **params)
    assert (response.status_code, response.json()) == (400, MISSING)
    assert not data_file.exists()


@pytest.mark.parametrize(
    ("options", "units"),
    [({}, "iuhc"), ({"units": "iulu"}, "iulu")],
    ids=["default-units", "iulu"],
)
def test_sightings_are_exported_byte_exact(
    start_spuc: StartSpuc, options: dict, units: str
) -> None:
    spuc = start_spuc(**options)
    sent = [(TRICKY_LOCATION, "100"), ("venus", "7.5"), ("mars", "lots")]
    for location, brightness in sent:
        response = put(spuc, location=location, brightness=brightness)
        assert (response.status_code, response.json()) == (200, RECORDED)

    body = export(spuc).content
    times = [line.split(",", 2)[1] for line in body.decode("utf-8").splitlines()[1:]]
    expected = HEADER + "".join(
        f"{count},{time},{location},{brightness},{units}\n"
        for count, time, (location, brightness) in zip([1, 2, 3], times, sent, strict=True)
    )
    assert body == expected.encode("utf-8")
    parsed = [datetime.fromisoformat(time) for time in times]
    assert parsed == sorted(parsed)


# --- GET /export and other paths ----------------------------------------------


def test_export_before_first_sighting_is_a_json_message(spuc: EmulatorServer) -> None:
    response = export(spuc)
    assert (response.status_code, response.json()) == (200, NO_SIGHTINGS)


def test_export_sends_the_file_as_flask_does(spuc: EmulatorServer) -> None:
    put(spuc, location="moon", brightness="5")
    response = export(spuc)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=unicorn_sightings.txt"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"]
    assert response.headers["Last-Modified"]


def test_export_disabled_is_404_while_put_still_records(
    start_spuc: StartSpuc, data_file: Path
) -> None:
    spuc = start_spuc(export_enabled=False)
    assert put(spuc, location="moon", brightness="5").status_code == 200
    response = export(spuc)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert data_file.read_text(encoding="utf-8").startswith(HEADER + "1,")


@pytest.mark.parametrize("path", ["/", "/stats", "/unicorn_spotted/extra", "/export/"])
def test_unknown_path_is_404(spuc: EmulatorServer, path: str) -> None:
    assert requests.get(f"{spuc.url}{path}", timeout=5).status_code == 404


# --- HTTP caching -----------------------------------------------------------------


def test_matching_etag_is_304_not_modified(spuc: EmulatorServer) -> None:
    put(spuc, location="moon", brightness="5")
    etag = export(spuc).headers["ETag"]
    response = export(spuc, **{"If-None-Match": etag})
    assert (response.status_code, response.content) == (304, b"")
    assert response.headers["ETag"] == etag


def test_etag_changes_when_a_sighting_is_added(spuc: EmulatorServer) -> None:
    put(spuc, location="moon", brightness="5")
    etag = export(spuc).headers["ETag"]
    put(spuc, location="venus", brightness="7")
    response = export(spuc, **{"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.text.endswith(",venus,7,iuhc\n")


@pytest.mark.parametrize("offset", [0, 1, len(HEADER), len(HEADER) + 1])
def test_range_from_offset_is_206_with_the_rest(spuc: EmulatorServer, offset: int) -> None:
    put(spuc, location="moon", brightness="5")
    full = export(spuc).content
    response = export(spuc, Range=f"bytes={offset}-")
    assert response.status_code == 206
    assert response.content == full[offset:]
    assert response.headers["Content-Range"] == f"bytes {offset}-{len(full) - 1}/{len(full)}"


@pytest.mark.parametrize("past_end", [0, 1, 1000], ids=["at-end", "one-past", "far-past"])
def test_range_starting_at_or_past_the_end_is_416(spuc: EmulatorServer, past_end: int) -> None:
    """At the end exactly is 416 too: "nothing new" is not an empty 206."""
    put(spuc, location="moon", brightness="5")
    size = len(export(spuc).content)
    response = export(spuc, Range=f"bytes={size + past_end}-")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


def test_range_wins_over_a_matching_etag(spuc: EmulatorServer) -> None:
    put(spuc, location="moon", brightness="5")
    full = export(spuc)
    response = export(spuc, Range="bytes=1-", **{"If-None-Match": full.headers["ETag"]})
    assert (response.status_code, response.content) == (206, full.content[1:])


# --- restart ------------------------------------------------------------------------


def test_restart_continues_the_count(start_spuc: StartSpuc) -> None:
    first = start_spuc()
    put(first, location="moon", brightness="5")
    put(first, location="venus", brightness="7")
    first.stop()
    second = start_spuc(units="iulu")
    put(second, location="mars", brightness="9")
    assert [line.split(",")[0] for line in records(second)] == ["1", "2", "3"]
    assert records(second)[-1].endswith(",mars,9,iulu")


@pytest.mark.parametrize(
    ("existing", "next_count"),
    [
        (b"", "0"),
        (HEADER.encode(), "1"),
        (HEADER.encode() + b"1,2026-11-27 18:02:00.027188,moon,5,iuhc\n", "2"),
        (HEADER.encode() + b"4,2026-11-27 18:02:00.027188,new\nline,5,iuhc\n", "3"),
        (HEADER.encode() + b"1,2026-11-27 18:02:00.027188,mo\ron,5,iuhc\n", "3"),
        (
            HEADER.encode() + b"2,2026-11-27 18:02:00,moon,5,iuhc\n\xff\xfe junk\n7,not a time\n",
            "4",
        ),
    ],
    ids=["empty-file", "header-only", "clean", "broken-record", "carriage-return", "junk-after"],
)
def test_the_count_after_a_start_is_the_files_lines_as_spuc_counts_them(
    start_spuc: StartSpuc, data_file: Path, existing: bytes, next_count: str
) -> None:
    """SPUC's source: on the first sighting after a start, `count = num_lines - 1`,
    lines as Python's text mode reads them; then the count goes up by one."""
    data_file.parent.mkdir()
    data_file.write_bytes(existing)
    spuc = start_spuc()
    assert put(spuc, location="mars", brightness="9").status_code == 200
    last_line = data_file.read_bytes().splitlines()[-1].decode("utf-8")
    assert last_line.split(",")[0] == next_count


def test_a_file_deleted_while_running_starts_the_count_again(
    start_spuc: StartSpuc, data_file: Path
) -> None:
    spuc = start_spuc()
    put(spuc, location="moon", brightness="5")
    put(spuc, location="venus", brightness="7")
    data_file.unlink()  # `docker compose down -v` under a running SPUC, say
    put(spuc, location="mars", brightness="9")
    assert data_file.read_text().splitlines()[1].startswith("1,")


# --- SPUC's race, reproduced on purpose ------------------------------------------------


def test_concurrent_first_sightings_lose_records(start_spuc: StartSpuc) -> None:
    """Every thread sees no file during the delay, so each truncates the others'."""
    spuc = start_spuc(write_delay=0.05)
    statuses = put_concurrently(spuc, [f"spot-{i}" for i in range(8)])
    assert statuses == [200] * 8
    counts = [line.split(",")[0] for line in records(spuc)]
    assert counts != [str(count) for count in range(1, 9)]


def test_concurrent_appends_lose_no_lines(start_spuc: StartSpuc) -> None:
    spuc = start_spuc(write_delay=0.05)
    put(spuc, location="first", brightness="1")
    locations = [f"spot-{i}" for i in range(8)]
    statuses = put_concurrently(spuc, locations)
    assert statuses == [200] * 8
    written = [line.split(",")[2] for line in records(spuc)]
    assert sorted(written) == sorted(["first", *locations])


# --- binding ------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])  # noqa: S104
def test_non_loopback_host_is_refused(data_file: Path, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        EmulatorServer(data_file, host=host)


def test_url_has_the_bound_port_and_no_trailing_slash(spuc: EmulatorServer) -> None:
    assert spuc.url.startswith("http://127.0.0.1:")
    assert int(spuc.url.rsplit(":", 1)[1]) > 0


def test_cli_refuses_a_public_host_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "spucsvi",
            "emulator",
            "--host",
            "0.0.0.0",  # noqa: S104 - the address being refused
            "--port",
            "0",
            "--data-file",
            str(tmp_path / "f.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "--allow-public" in result.stderr and "Traceback" not in result.stderr
