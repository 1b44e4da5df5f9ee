"""Backend faults, injected over real HTTP on 127.0.0.1.

For each fault the page (GET /), the summary (GET /api/summary) and a
submission answer within the configured timeouts, with the right status and a
reason in plain words, or render what is valid. SPUC is a FakeSpuc scripted per
test, or the SPUC emulator where the fault is about SPUC's file.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import make_app, post_sighting
from tests.support.fakes import FakeRequest, FakeSpuc, closed_port_url, http_response, json_response
from tests.support.records import HEADER as TEXT_HEADER

HEADER = TEXT_HEADER.encode()
EMPTY = '{"message": "No unicorn sightings yet!"}'
RECORDED = '{"message": "Unicorn sighting recorded!"}'
FLASK_404 = (
    b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server. If you entered the URL manually "
    b"please check your spelling and try again.</p>\n"
)
MAY_BE_RECORDED = "The sighting may have been recorded anyway"

# Short timeouts, so that a SPUC that does not answer costs little; every answer
# must come well within a few of them.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 0.5
BOUND = 3.0


def line(count: int, location: str = "venus", brightness: str = "5", units: str = "iuhc") -> bytes:
    stamp = f"2026-11-27 18:{count // 60 % 60:02d}:{count % 60:02d}.000001"
    return f"{count},{stamp},{location},{brightness},{units}\n".encode()


def total_on_page(html: str) -> int:
    match = re.search(r'<span class="stat-number" data-testid="total">([\d,]+)</span>', html)
    assert match, "the page shows no total"
    return int(match.group(1).replace(",", ""))  # with thousands separators


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str | None] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("id") in ("location", "brightness"):
            self.values[attributes["id"]] = attributes.get("value")


def form_values(html: str) -> dict[str, str | None]:
    parser = _Inputs()
    parser.feed(html)
    return parser.values


@pytest.fixture
def apps(tmp_path):
    """Build apps with short SPUC timeouts; their SPUC sessions are closed at the end."""
    built = []

    def build(url: str, **overrides):
        settings = {
            "SPUC_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
            "SPUC_READ_TIMEOUT": str(READ_TIMEOUT),
            **overrides,
        }
        app = make_app(url, tmp_path, **settings)
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["spuc_client"].close()


def timed(call: Callable[[], object]):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@dataclass
class Views:
    """The page, the summary and a submission of one client, each timed."""

    client: object
    elapsed: dict[str, float] = field(default_factory=dict)

    def page(self, query: str = ""):
        response, self.elapsed["page"] = timed(lambda: self.client.get("/" + query))
        return response, response.get_data(as_text=True)

    def summary(self):
        response, self.elapsed["summary"] = timed(lambda: self.client.get("/api/summary"))
        return response, response.get_json()

    def submit(self, location: str = "moon, crater", brightness: str = "7"):
        response, self.elapsed["submit"] = timed(
            lambda: post_sighting(self.client, location, brightness)
        )
        return response, response.get_data(as_text=True)

    def api_submit(self, location: str = "moon, crater", brightness: str = "7"):
        response, self.elapsed["api"] = timed(
            lambda: self.client.post(
                "/api/sightings", json={"location": location, "brightness": brightness}
            )
        )
        return response, response.get_json()

    def assert_fast(self, bound: float = BOUND) -> None:
        slow = {name: round(took, 2) for name, took in self.elapsed.items() if took >= bound}
        assert not slow, f"answered after more than {bound} s: {slow}"


def views(app) -> Views:
    return Views(app.test_client())


class Spuc:
    """A scripted SPUC over FakeSpuc: a file served like Flask's send_file (ETag,
    Range, 416, the JSON answer while there is no file), PUTs recorded.

    `on_put` and `on_export` can be replaced to inject a fault; by default a PUT
    appends a record to the file and answers 200, as SPUC does.
    """

    def __init__(self, body: bytes | None = None, *, hold_connections: bool = False):
        self.body = body
        self.version = 0
        self.lock = threading.Lock()
        self.on_put: Callable[[FakeRequest, socket.socket], None] = self.record_put
        self.on_export: Callable[[FakeRequest, socket.socket], None] = self.send_export
        self.fake = FakeSpuc(self.respond)
        self.hold_connections = hold_connections

    def __enter__(self) -> Spuc:
        self.fake.__enter__()
        if not self.hold_connections:
            self.fake.release.set()  # answer and close: no connection is held open
        return self

    def __exit__(self, *exc) -> None:
        self.fake.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.fake.url

    @property
    def puts(self) -> list[FakeRequest]:
        return [r for r in self.fake.requests if r.method == "PUT"]

    def respond(self, request: FakeRequest, connection: socket.socket) -> None:
        if request.method == "PUT" and request.path == "/unicorn_spotted":
            self.on_put(request, connection)
        elif request.method == "GET" and request.path == "/export":
            self.on_export(request, connection)
        else:
            connection.sendall(http_response(404, FLASK_404, {"Content-Type": "text/html"}))

    def append(self, record: bytes) -> None:
        with self.lock:
            self.body = (self.body or HEADER) + record
            self.version += 1

    def record_put(self, request: FakeRequest, connection: socket.socket) -> None:
        self.append_put(request)
        connection.sendall(json_response(200, RECORDED))

    def append_put(self, request: FakeRequest) -> None:
        count = (self.body or HEADER).count(b"\n")
        location, brightness = request.query["location"][0], request.query["brightness"][0]
        self.append(line(count, location, brightness))

    def send_export(self, request: FakeRequest, connection: socket.socket) -> None:
        connection.sendall(self.export_answer(request))

    def export_answer(self, request: FakeRequest) -> bytes:
        with self.lock:
            body, etag = self.body, f'"v{self.version}-{len(self.body or b"")}"'
        if body is None:
            return json_response(200, EMPTY)
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "ETag": etag,
            "Accept-Ranges": "bytes",
        }
        match = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if match and body:
            start = int(match.group(1))
            if start >= len(body):
                return http_response(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            return http_response(206, body[start:], headers)
        return http_response(200, body, headers)


def reset(connection: socket.socket) -> None:
    """Abort the connection with a TCP RST, as a crashed server would."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def hang(request: FakeRequest, connection: socket.socket) -> None:
    pass  # accept, read the request, never answer


# --- SPUC down ----------------------------------------------------------------------------


def test_refused_connection_is_a_503_naming_spuc_with_the_form_still_there(apps):
    url = closed_port_url()
    v = views(apps(url))
    response, html = v.page()
    assert response.status_code == 503
    assert "SPUC is not answering" in html
    assert f"SPUC could not be reached at {url}. Is it running?" in html
    assert html.count(url) == 1  # named once
    assert "I saw a unicorn!" in html and '<form method="post" action="/sightings"' in html

    response, answer = v.summary()
    assert response.status_code == 503
    assert answer == {
        "error": f"SPUC could not be reached at {url}. Is it running?",
        "status": 503,
        "failure": "SpucUnreachable",
    }

    response, html = v.submit("venus", "4")
    assert response.status_code == 503
    assert f"SPUC could not be reached at {url}. Is it running?" in html
    assert form_values(html) == {"location": "venus", "brightness": "4"}
    v.assert_fast()


def test_accept_then_hang_is_a_504_within_the_read_timeout(apps):
    with Spuc(hold_connections=True) as spuc:
        spuc.on_export = spuc.on_put = hang
        v = views(apps(spuc.url))
        reason = f"SPUC at {spuc.url} did not answer within {READ_TIMEOUT:g} seconds."

        response, html = v.page()
        assert response.status_code == 504
        assert reason in html and "I saw a unicorn!" in html

        response, answer = v.summary()
        assert response.status_code == 504
        assert answer == {"error": reason, "status": 504, "failure": "SpucTimeout"}

        response, html = v.submit("venus", "4")
        assert response.status_code == 504
        assert reason in html
        assert form_values(html) == {"location": "venus", "brightness": "4"}
        assert len(spuc.puts) == 1, "a submission that timed out must not be sent again"
        # One read timeout for the PUT and one for the page's export, nothing more.
        assert v.elapsed["page"] < READ_TIMEOUT + 1
        assert v.elapsed["summary"] < READ_TIMEOUT + 1
        assert v.elapsed["submit"] < 2 * READ_TIMEOUT + 1
        v.assert_fast()


def test_a_submission_that_timed_out_says_it_may_have_been_recorded(apps):
    with Spuc(hold_connections=True) as spuc:
        spuc.on_put = hang
        v = views(apps(spuc.url))
        response, html = v.submit("venus", "4")
        assert response.status_code == 504
        assert MAY_BE_RECORDED in html


def _reset_after_reading(request: FakeRequest, connection: socket.socket) -> None:
    reset(connection)


def test_a_submission_cut_off_by_spuc_is_not_retried_and_keeps_the_values(apps):
    with Spuc() as spuc:
        spuc.on_put = _reset_after_reading
        v = views(apps(spuc.url))
        response, html = v.submit("venus", "4")
        assert 500 <= response.status_code < 600
        assert form_values(html) == {"location": "venus", "brightness": "4"}
        assert len(spuc.puts) == 1
        response, answer = v.api_submit("venus", "4")
        assert 500 <= response.status_code < 600 and answer["error"]
        assert len(spuc.puts) == 2
        v.assert_fast()


def test_a_submission_cut_off_by_spuc_says_it_may_have_been_recorded(apps):
    with Spuc() as spuc:
        spuc.on_put = _reset_after_reading
        v = views(apps(spuc.url))
        response, html = v.submit("venus", "4")
        assert response.status_code == 502
        assert MAY_BE_RECORDED in html
        assert "could not be reached" not in html


# --- broken answers -----------------------------------------------------------------------


def _reset_mid_export(request: FakeRequest, connection: socket.socket) -> None:
    head = http_response(200, b"", {"Content-Type": "text/plain; charset=utf-8"})
    head = head.replace(b"Content-Length: 0", b"Content-Length: 100000")
    connection.sendall(head + HEADER + line(1) + b"2,2026-11-27 18:02:")
    time.sleep(0.2)  # let the client read the head and start on the body
    reset(connection)


def test_connection_reset_mid_export_is_a_502_with_a_plain_reason(apps):
    with Spuc() as spuc:
        spuc.on_export = _reset_mid_export
        v = views(apps(spuc.url))
        reason = f"SPUC at {spuc.url} broke off its answer half-way."

        response, html = v.page()
        assert response.status_code == 502
        assert reason in html and "I saw a unicorn!" in html

        response, answer = v.summary()
        assert response.status_code == 502
        assert answer == {"error": reason, "status": 502, "failure": "SpucBadResponse"}

        # The PUT itself works: the submission goes through, once.
        response, _ = v.submit("venus", "4")
        assert response.status_code == 303
        assert [r.query for r in spuc.puts] == [{"location": ["venus"], "brightness": ["4"]}]
        v.assert_fast()


def _not_http(request: FakeRequest, connection: socket.socket) -> None:
    connection.sendall(b"\x00\xffSSH-2.0-OpenSSH_9.6 definitely not HTTP\r\n\r\n")
    connection.close()


def test_an_answer_that_is_not_http_is_a_502_not_unreachable(apps):
    with Spuc() as spuc:
        spuc.on_export = _not_http
        v = views(apps(spuc.url))
        response, html = v.page()
        assert response.status_code == 502
        assert "could not be reached" not in html


def test_500_on_put_after_recording_says_it_may_be_recorded_and_is_sent_once(apps):
    with Spuc() as spuc:

        def record_then_fail(request, connection):
            spuc.append_put(request)
            connection.sendall(
                http_response(500, b"<h1>Internal Server Error</h1>", {"Content-Type": "text/html"})
            )

        spuc.on_put = record_then_fail
        v = views(apps(spuc.url))
        response, html = v.submit("moon, crater", "7")
        assert response.status_code == 502
        assert f"SPUC at {spuc.url} failed with HTTP 500 while recording." in html
        assert "may have been recorded anyway: check the list before you submit it again." in html
        assert form_values(html) == {"location": "moon, crater", "brightness": "7"}
        assert [r.query for r in spuc.puts] == [{"location": ["moon, crater"], "brightness": ["7"]}]
        # The list on the same page already shows that it was recorded.
        assert total_on_page(html) == 1

        response, answer = v.api_submit("venus", "4")
        assert response.status_code == 502
        assert answer["failure"] == "SpucServerError"
        assert "may have been recorded anyway" in answer["error"]
        assert len(spuc.puts) == 2
        v.assert_fast()


def test_a_failed_read_back_never_confirms_an_older_record_with_the_same_values(apps):
    """SPUC records the sighting but its export then fails: the confirmation must not
    name an older record that happens to hold the same location and brightness."""
    with Spuc(TEXT_HEADER.encode() + line(1, "moon, crater", "7")) as spuc:
        v = views(apps(spuc.url, SPUCSVI_FRESHNESS="0"))
        assert total_on_page(v.page()[1]) == 1

        def record_then_break_the_export(request, connection):
            spuc.append_put(request)
            spuc.on_export = lambda request, connection: connection.close()
            connection.sendall(json_response(200, RECORDED))

        spuc.on_put = record_then_break_the_export
        response, answer = v.api_submit("moon, crater", "7")
        assert response.status_code == 201
        assert answer["sighting"] == {"location": "moon, crater", "brightness": "7"}
        assert "count" not in answer["sighting"]


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (
            json_response(400, '{"ERROR": "Missing data: Need location and brightness."}'),
            "SPUC refused the sighting: Missing data: Need location and brightness.",
        ),
        (
            json_response(400, '{"ERROR": "Brightness <b>must</b> be below 9000 & positive"}'),
            "SPUC refused the sighting: Brightness &lt;b&gt;must&lt;/b&gt; be below 9000 &amp; "
            "positive",
        ),
        (
            http_response(
                400, b"Bad request: no unicorns on Tuesdays", {"Content-Type": "text/plain"}
            ),
            "SPUC refused the sighting: Bad request: no unicorns on Tuesdays",
        ),
    ],
    ids=["spuc-missing-data", "plugin-message-with-markup", "plain-text-400"],
)
def test_400_on_put_shows_spucs_own_message(apps, answer, shown):
    with Spuc() as spuc:
        spuc.on_put = lambda request, connection: connection.sendall(answer)
        v = views(apps(spuc.url))
        response, html = v.submit("venus", "4")
        assert response.status_code == 502
        assert shown in html
        assert form_values(html) == {"location": "venus", "brightness": "4"}
        assert len(spuc.puts) == 1

        response, answer_json = v.api_submit("venus", "4")
        assert response.status_code == 502
        assert answer_json["failure"] == "SpucRejected"
        v.assert_fast()


def test_export_off_explains_export_true_and_the_form_works(apps):
    with Spuc() as spuc:
        spuc.on_export = lambda request, connection: connection.sendall(
            http_response(404, FLASK_404, {"Content-Type": "text/html; charset=utf-8"})
        )
        v = views(apps(spuc.url))
        reason = (
            f"SPUC at {spuc.url} has its export turned off, so sightings cannot be shown. "
            "Start SPUC with EXPORT=true."
        )

        response, html = v.page()
        assert response.status_code == 200
        assert "SPUC's export is turned off" in html and reason in html
        assert "I saw a unicorn!" in html

        response, answer = v.summary()
        assert response.status_code == 503
        assert answer == {"error": reason, "status": 503, "failure": "ExportDisabled"}

        response, _ = v.submit("venus", "4")
        assert response.status_code == 303
        assert [r.query for r in spuc.puts] == [{"location": ["venus"], "brightness": ["4"]}]
        response, html = v.page()
        assert response.status_code == 200
        assert "Unicorn sighting recorded!" in html and reason in html
        v.assert_fast()


# --- big, dirty and changing exports ------------------------------------------------------

BIG_LINES = 700_000


@pytest.fixture(scope="module")
def big_export() -> bytes:
    """About 50 MB of valid records (700,000 lines), built once per module."""
    parts = [HEADER]
    for i in range(1, BIG_LINES + 1):
        parts.append(
            b"%d,2026-%02d-%02d %02d:%02d:%02d.%06d,crater %d on the far side of the moon,%d.5,"
            b"iuhc\n"
            % (
                i,
                1 + i // 60000,
                1 + i // 2400 % 25,
                i // 100 % 24,
                i // 2 % 60,
                i % 60,
                i % 999_999 + 1,
                i % 500,
                i % 97,
            )
        )
    body = b"".join(parts)
    assert len(body) >= 50_000_000
    return body


@pytest.mark.slow
def test_a_50_mb_export_renders_with_the_right_total(apps, big_export, monkeypatch):
    from spucsvi.data import store as store_module

    monkeypatch.setattr(store_module, "FIRST_LOAD_WAIT", 15)  # a view waits this long at most
    with Spuc(big_export) as spuc:
        # The read timeout also bounds the whole download (4 x read timeout), so give 1 s.
        v = views(apps(spuc.url, SPUC_READ_TIMEOUT="1"))
        response, html = v.page()
        assert response.status_code == 200
        assert total_on_page(html) == BIG_LINES
        assert "could not be read" not in html

        response, answer = v.summary()
        assert response.status_code == 200
        assert (answer["total"], answer["unreadable_lines"]) == (BIG_LINES, 0)
        assert answer["latest"]["count"] == BIG_LINES

        # A new sighting is fetched as a range, and the total follows.
        response, _ = v.submit("venus", "4")
        assert response.status_code == 303
        response, html = v.page()
        assert total_on_page(html) == BIG_LINES + 1
        assert v.client.get("/api/summary").get_json()["latest"]["location"] == "venus"
        exports = [r for r in spuc.fake.requests if r.path == "/export"]
        assert "Range" not in exports[0].headers and "Range" in exports[-1].headers
        v.assert_fast(bound=15)


GARBAGE_EXPORT = b"".join(
    [
        HEADER,
        line(1, "moon, crater", "100"),
        b"\xff\xfe\xfd\xfc not even text\n",  # 1 unreadable: raw bytes
        b"\x00\x00\x00\x00\n",  # 2 NULs
        line(2, "venus", "7"),
        b"caf\xe9 au lait, latin-1,5,iuhc\n",  # 3 no count, not UTF-8
        b"3,2026-11-27 18:02:03.000001,mars\n",  # 4 a record broken by a newline
        b"pole,4,iuhc\n",  # 5 ... and its tail
        b"\r\n",  # an empty line: not counted
        b"7,2026-13-45 99:99:99,bad date,5,iuhc\n",  # 6 impossible date
        b"\x80\x81\x82,\xc3\x28,\xa0\xa1\n",  # 7 invalid UTF-8 sequences
        line(3, "saturn", "junk"),  # a record, brightness unreadable
        b"8,2026-11-27 18:02:08,no units\n",  # 8 too few fields
        b"\xef\xbb\xbf9,2026-11-27 18:02:09.000001,bom,5,iuhc\n",  # 9 a BOM mid-file
        line(4, "jupiter", "12.5"),
        HEADER,  # a repeated header: not counted
    ]
)
GARBAGE_VALID = ["moon, crater", "venus", "saturn", "jupiter"]
GARBAGE_SKIPPED = 9


def test_garbage_and_non_utf8_lines_are_skipped_and_counted(apps):
    with Spuc(GARBAGE_EXPORT) as spuc:
        v = views(apps(spuc.url))
        response, html = v.page()
        assert response.status_code == 200
        assert total_on_page(html) == len(GARBAGE_VALID)
        assert (
            f"{GARBAGE_SKIPPED} lines of SPUC's export could not be read and are left out." in html
        )

        response, answer = v.summary()
        assert response.status_code == 200
        assert (answer["total"], answer["unreadable_lines"]) == (
            len(GARBAGE_VALID),
            GARBAGE_SKIPPED,
        )
        listed = v.client.get("/api/sightings?sort=time&order=asc").get_json()["sightings"]
        assert [s["location"] for s in listed] == GARBAGE_VALID
        assert [s["raw_brightness"] for s in listed] == ["100", "7", "junk", "12.5"]

        # New lines after the garbage are still picked up, by range, with the same count.
        response, _ = v.submit("pluto", "1")
        assert response.status_code == 303
        answer = v.client.get("/api/summary").get_json()
        assert (answer["total"], answer["unreadable_lines"]) == (
            len(GARBAGE_VALID) + 1,
            GARBAGE_SKIPPED,
        )
        v.assert_fast()


def _api_locations(client) -> list[str]:
    answer = client.get("/api/sightings?sort=time&order=asc&per_page=200").get_json()
    return [s["location"] for s in answer["sightings"]]


def _write(data_file, data: bytes) -> None:
    """Replace SPUC's file, with a modification time that differs from the last one."""
    before = data_file.stat().st_mtime_ns if data_file.exists() else 0
    data_file.write_bytes(data)
    os.utime(data_file, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "spuc" / "unicorn_sightings.txt"
    path.parent.mkdir()
    return path


THIRTY = HEADER + b"".join(line(i, f"place {i:02d}") for i in range(1, 31))


@pytest.mark.parametrize(
    "smaller",
    [
        pytest.param(
            HEADER + line(1, "fresh start", "1") + line(2, "second", "2"), id="volume-reset"
        ),
        pytest.param(
            HEADER + b"".join(line(i, f"place {i:02d}") for i in range(1, 30)), id="last-line-gone"
        ),
    ],
)
def test_an_export_that_shrinks_is_shown_as_it_now_is(apps, data_file, smaller):
    _write(data_file, THIRTY)
    with EmulatorServer(data_file) as spuc:
        v = views(apps(spuc.url))
        response, html = v.page()
        assert total_on_page(html) == 30
        _write(data_file, smaller)
        expected = [record.split(b",")[2].decode() for record in smaller.splitlines()[1:]]
        response, html = v.page()
        assert response.status_code == 200
        assert total_on_page(html) == len(expected)
        assert _api_locations(v.client) == expected
        assert v.client.get("/api/summary").get_json()["total"] == len(expected)
        v.assert_fast()


def _same_size_change(old: str, new: str) -> bytes:
    assert len(old) == len(new)
    changed = THIRTY.replace(old.encode(), new.encode())
    assert changed != THIRTY and len(changed) == len(THIRTY)
    return changed


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(",place 30,", ",earth 30,", id="changed-near-the-end"),
        pytest.param(",place 01,", ",earth 01,", id="changed-in-the-middle"),
    ],
)
def test_an_export_rewritten_with_the_same_size_is_fetched_again(apps, data_file, old, new):
    _write(data_file, THIRTY)
    with EmulatorServer(data_file) as spuc:
        v = views(apps(spuc.url))
        response, html = v.page()
        assert total_on_page(html) == 30 and "earth" not in html
        _write(data_file, _same_size_change(old, new))
        expected = [
            record.split(b",")[2].decode()
            for record in _same_size_change(old, new).splitlines()[1:]
        ]
        response, html = v.page()
        assert response.status_code == 200
        assert new.strip(",") in html
        assert _api_locations(v.client) == expected


def test_no_sightings_yet_after_having_had_data(apps, data_file):
    _write(data_file, HEADER + line(1, "venus") + line(2, "mars"))
    with EmulatorServer(data_file) as spuc:
        v = views(apps(spuc.url))
        response, html = v.page()
        assert total_on_page(html) == 2
        data_file.unlink()  # SPUC's volume deleted: it answers its JSON message again

        response, html = v.page()
        assert response.status_code == 200
        assert "No unicorn sightings yet!" in html
        assert 'data-testid="total"' not in html  # no strip of empty figures
        response, answer = v.summary()
        assert (response.status_code, answer["total"], answer["latest"]) == (200, 0, None)
        assert _api_locations(v.client) == []

        # And the first new sighting starts the list again.
        response, _ = v.submit("pluto", "1")
        assert response.status_code == 303
        assert _api_locations(v.client) == ["pluto"]
        v.assert_fast()


# --- recovery -----------------------------------------------------------------------------


def test_recovers_by_itself_as_soon_as_spuc_is_back(apps, data_file):
    _write(data_file, HEADER + line(1, "venus"))
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    v = views(apps(url))  # freshness window 0, as make_app sets

    response, html = v.page()
    assert response.status_code == 503 and "SPUC is not answering" in html
    assert v.summary()[0].status_code == 503
    response, html = v.submit("mars", "3")
    assert response.status_code == 503 and form_values(html) == {
        "location": "mars",
        "brightness": "3",
    }

    with EmulatorServer(data_file, port=port) as spuc:
        assert spuc.url == url
        response, html = v.page()
        assert response.status_code == 200
        assert "SPUC is not answering" not in html
        assert total_on_page(html) == 1
        response, answer = v.summary()
        assert (response.status_code, answer["total"]) == (200, 1)
        response, _ = v.submit("mars", "3")
        assert response.status_code == 303
        assert _api_locations(v.client) == ["venus", "mars"]
    v.assert_fast()


def _trickle(request: FakeRequest, connection: socket.socket, *, stop_after: float = 6.0) -> None:
    """Send the export one byte every 0.05 s, each well within the read timeout
    even on a busy machine, for longer than the deadline; then the rest."""
    body = HEADER + line(1) * 200
    connection.sendall(http_response(200, body, {"Content-Type": "text/plain"})[: -len(body)])
    started = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - started < stop_after:
            connection.sendall(body[sent : sent + 1])
            sent += 1
            time.sleep(0.05)
        connection.sendall(body[sent:])
    except OSError:
        pass  # the client gave up


def test_an_export_trickled_byte_by_byte_is_a_504_within_the_deadline(apps):
    with Spuc() as spuc:
        spuc.on_export = _trickle
        v = views(apps(spuc.url, SPUC_READ_TIMEOUT="0.5"))  # a 2 s deadline
        response, html = v.page()
        assert response.status_code == 504
        assert "is sending its export too slowly" in html
        # The view waits for the check begun at start-up, then its own: 2 x 2 s.
        v.assert_fast(bound=5.0)


# --- the first load of a slow export ------------------------------------------------------


def test_a_slow_first_load_says_it_is_under_way_then_shows_the_sightings(apps, monkeypatch):
    from spucsvi.data import store as store_module

    monkeypatch.setattr(store_module, "FIRST_LOAD_WAIT", 0.2)
    with Spuc(HEADER + line(1, "venus") + line(2, "mars")) as spuc:
        answered = threading.Event()

        def slow_export(request, connection):
            time.sleep(0.8)  # longer than the first-load wait, within the read timeout
            spuc.send_export(request, connection)
            answered.set()

        spuc.on_export = slow_export
        # A freshness window, as in production: views do not wait for every check.
        app = apps(spuc.url, SPUC_READ_TIMEOUT="2", SPUCSVI_FRESHNESS="60")
        v = views(app)
        response, html = v.page()
        assert response.status_code == 503
        assert "still reading SPUC&#39;s sightings for the first time" in html
        assert "Reading SPUC's sightings" in html and "SPUC is not answering" not in html
        assert "I saw a unicorn!" in html
        response, answer = v.summary()
        assert (response.status_code, answer["failure"]) == (503, "StillLoading")
        assert answered.wait(BOUND)
        store = app.extensions["sightings_store"]
        store._running.join(BOUND)
        response, html = v.page()
        assert response.status_code == 200
        assert total_on_page(html) == 2
        assert len([r for r in spuc.fake.requests if r.path == "/export"]) == 1
        v.assert_fast()
