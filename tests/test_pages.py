"""The dashboard page and the sighting form, against the SPUC emulator over HTTP."""

import base64
import gzip
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.web.pages import duration
from tests.support.apps import export_text, make_app, post_sighting
from tests.support.fakes import closed_port_url
from tests.support.records import HEADER

COOKIE = "spucsvi-recorded"
TOTAL = '<span class="stat-number" data-testid="total">{}</span>'


class _Elements(HTMLParser):
    """Collects start tags with their attributes, to check the page's structure."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def test_empty_page_has_the_form_and_says_no_sightings_yet(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No unicorn sightings yet!" in html
    assert "I saw a unicorn!" in html
    labels = {a["for"] for tag, a in elements(html) if tag == "label"}
    inputs = {a.get("id") for tag, a in elements(html) if tag == "input"}
    assert {"location", "brightness"} <= labels & inputs


def test_submission_reaches_spuc_byte_for_byte_and_redirects(client, spuc):
    location = "moon, crater & co #1 + ünïcörn"
    response = post_sighting(client, location, "7.5")
    assert response.status_code == 303
    assert response.headers["Location"] == "/#report"
    lines = export_text(spuc).splitlines()
    assert lines[0] == "count,time,location,brightness,units"
    assert lines[1].startswith("1,")
    assert lines[1].endswith(f",{location},7.5,iuhc")


def recorded_time(spuc, count: int) -> str:
    """The time SPUC wrote for its newest record `count`, to the second as the page shows it."""
    for record in reversed(export_text(spuc).splitlines()[1:]):
        if record.startswith(f"{count},"):
            return record.split(",")[1][:19]
    raise AssertionError(f"SPUC holds no record {count}")


def test_after_redirect_the_page_confirms_and_shows_the_sighting(client, spuc):
    post_sighting(client, "venus", "7")
    response = client.get("/")
    html = response.get_data(as_text=True)
    at = recorded_time(spuc, 1)
    assert re.search(
        r'<p [^>]*id="recorded"><strong>Unicorn sighting recorded!</strong>\s+'
        r'#1: <span class="place" title="venus">venus</span>, brightness 7 iuhc, '
        rf'at <time class="when" datetime="[^"]+Z">{at} UTC</time>\.'
        r"\s+</p>",
        html,
    )
    assert TOTAL.format(1) in html
    assert '<tr class="just-added">' in html
    assert (
        '<td class="location"><span class="place" title="venus">venus</span> '
        '<strong class="badge">your sighting</strong></td>'
    ) in html
    # The visitor's own page: never stored by any cache.
    assert response.headers["Cache-Control"] == "no-store"
    assert "ETag" not in response.headers
    # The confirmation is shown once only.
    again = client.get("/").get_data(as_text=True)
    assert "Unicorn sighting recorded!" not in again and "just-added" not in again
    assert TOTAL.format(1) in again


def test_the_redirect_carries_the_note_in_a_short_lived_cookie(client, spuc):
    response = post_sighting(client, "moon, crater", "7.5")
    assert (response.status_code, response.headers["Location"]) == (303, "/#report")
    (cookie,) = response.headers.getlist("Set-Cookie")
    attributes = [part.strip() for part in cookie.split(";")]
    name, _, value = attributes[0].partition("=")
    assert name == COOKIE
    assert {"HttpOnly", "SameSite=Lax", "Max-Age=120", "Path=/"} <= set(attributes)
    assert not any(a.lower() == "secure" for a in attributes)  # plain http here
    note = json.loads(base64.urlsafe_b64decode(value))
    # Only what tells the record apart: the page looks up the rest.
    written = export_text(spuc).splitlines()[1].split(",")[1]
    assert note == {"count": 1, "time_utc": written.replace(" ", "T")}
    # The next page deletes it from the browser.
    page = client.get("/")
    assert any(
        c.startswith(f"{COOKIE}=;") and "Max-Age=0" in c for c in page.headers.getlist("Set-Cookie")
    )
    assert client.get_cookie(COOKIE) is None


def test_over_https_the_cookie_is_secure(client, spuc):
    response = post_sighting(client, "venus", "7", base_url="https://localhost/")
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"].split("; ")


def test_a_repeated_count_and_a_clock_behind_still_highlight_the_new_row(seeded):
    # SPUC's file already holds a "21, venus" (a count repeated after a volume reset)
    # and 20 records from a clock ahead: SPUC counts the file's 21 lines, so the new
    # record is #21 again, the oldest by time.
    future = [
        f"{i if i != 14 else 21},2099-01-01 00:00:{i:02d},venus,7,iuhc\n" for i in range(1, 21)
    ]
    client, spuc = seeded(HEADER + "".join(future))
    assert post_sighting(client, "venus", "7").status_code == 303
    html = client.get("/").get_data(as_text=True)
    at = recorded_time(spuc, 21)
    assert not at.startswith("2099")
    assert '#21: <span class="place" title="venus">venus</span>, brightness 7 iuhc, at' in html
    assert f">{at} UTC</time>." in html
    # Newest first, 15 to a page: it is on page 2, which the note links to.
    assert 'It is on <a href="/?page=2">page 2</a> of the table.' in html
    assert "just-added" not in html and "your sighting" not in html
    # Submitted again, and asked for page 2 directly: the right row, and no link.
    assert post_sighting(client, "venus", "7").status_code == 303
    html = client.get("/?page=2").get_data(as_text=True)
    assert "It is on" not in html
    rows = re.findall(
        r'<tr class="just-added">\s*<td>(\d+)</td>\s*<td><time class="when" datetime="([^"]+)"',
        html,
    )
    assert len(rows) == 1
    count, when = rows[0]
    assert count == "22" and not when.startswith("2099")


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "not base64 !!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"location": "venus"}').decode(),
        base64.urlsafe_b64encode(b'{"location": 5, "brightness": "7"}').decode(),
        base64.urlsafe_b64encode(
            b'{"location": "venus", "brightness": "7", "count": "1", "time": null}'
        ).decode(),
        base64.urlsafe_b64encode(
            b'{"location": "venus", "brightness": "7", "count": 1, "time": "yesterday"}'
        ).decode(),
        base64.urlsafe_b64encode(
            b'{"location": "venus", "brightness": "7", "admin": true}'
        ).decode(),
        base64.urlsafe_b64encode(b'{"location": "venus", "brightness": "7"}' * 60).decode(),
        "\u00e9t\u00e9",
    ],
)
def test_a_forged_or_garbage_cookie_is_ignored_and_removed(client, spuc, value):
    post_sighting(client, "venus", "7")
    client.get("/")
    client.set_cookie(COOKIE, value)
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unicorn sighting recorded!" not in html and "just-added" not in html
    assert TOTAL.format(1) in html
    assert client.get_cookie(COOKIE) is None


def test_original_put_unicorn_path_still_records(client, spuc):
    response = post_sighting(client, "mars", "3", path="/put_unicorn")
    assert response.status_code == 303
    assert export_text(spuc).rstrip().endswith(",mars,3,iuhc")


def test_script_in_a_location_is_shown_as_text(client):
    attack = "</script><script>alert(1)</script>"
    post_sighting(client, attack, "1")
    html = client.get("/").get_data(as_text=True)
    assert attack not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # In the chart's JSON the hover text is HTML-escaped and tojson escapes "&", "<" and ">",
    # so the data can close neither its script element nor inject markup into the chart.
    assert "\\u0026lt;/script\\u0026gt;" in html


@pytest.mark.parametrize(
    ("location", "brightness", "error"),
    [
        ("", "7", "Please say where you saw the unicorn."),
        (
            "mars\n2,2026-11-27 18:02:00,forged,5,iuhc",
            "7",
            "The location cannot contain line breaks or other control characters.",
        ),
        ("venus", "-3", "Brightness cannot be negative."),
        ("venus", "nan", "Brightness must be a number, such as 7 or 12.5."),
    ],
)
def test_invalid_input_comes_back_with_values_and_reason(client, spuc, location, brightness, error):
    response = post_sighting(client, location, brightness)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error in html
    fields = {a.get("id"): a.get("value") for tag, a in elements(html) if tag == "input"}
    assert fields["location"] == location
    assert fields["brightness"] == brightness
    assert "No unicorn sightings yet!" in export_text(spuc)


def test_duplicated_fields_are_refused(client, spuc):
    data = {"location": ["a", "b"], "brightness": "1"}
    response = client.post("/sightings", data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 400
    assert "Please send this field only once." in response.get_data(as_text=True)
    assert "No unicorn sightings yet!" in export_text(spuc)


def test_spuc_down_page_answers_503_with_banner_and_form(tmp_path):
    url = closed_port_url()
    client = make_app(url, tmp_path).test_client()
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "SPUC is not answering" in html
    assert url in html
    assert "I saw a unicorn!" in html


def test_spuc_down_submission_answers_503_with_values_kept(tmp_path):
    client = make_app(closed_port_url(), tmp_path).test_client()
    response = post_sighting(client, "venus", "4")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "SPUC could not be reached at" in html
    assert 'value="venus"' in html and 'value="4"' in html


def test_export_disabled_explains_and_form_still_works(tmp_path):
    data_file = tmp_path / "off" / "unicorn_sightings.txt"
    with EmulatorServer(data_file, export_enabled=False) as spuc:
        client = make_app(spuc.url, tmp_path).test_client()
        html = client.get("/").get_data(as_text=True)
        assert "export is turned off" in html and "EXPORT=true" in html
        assert post_sighting(client, "venus", "4").status_code == 303
    assert data_file.read_text().endswith(",venus,4,iuhc\n")


def test_units_and_chart_data_are_on_the_page(tmp_path):
    with EmulatorServer(tmp_path / "u.txt", units="iulu") as spuc:
        client = make_app(spuc.url, tmp_path).test_client()
        post_sighting(client, "venus", "4")
        html = client.get("/").get_data(as_text=True)
    assert "Intergalactic Unicorn Luminosity Units (iulu)" in html
    scripts = [a for tag, a in elements(html) if tag == "script"]
    assert {"type": "application/json", "id": "brightness-chart-data"} in scripts
    assert all("src" in a or a.get("type") == "application/json" for a in scripts)


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("get", "/nowhere", 404, "There is no page at this address."),
        ("delete", "/", 405, "This address does not accept that kind of request."),
    ],
)
def test_friendly_error_pages(client, method, path, status, text):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_oversized_body_gets_a_friendly_413(client, spuc):
    response = post_sighting(client, "x" * 20_000, "1")
    assert response.status_code == 413
    assert "That request is too large." in response.get_data(as_text=True)


def test_unexpected_error_gets_a_friendly_500(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side." in html
    assert "kaboom" not in html and "Traceback" not in html


def test_redirect_landing_on_another_worker_shows_the_new_sighting(spuc, tmp_path):
    # Two workers of one server, each with its own store, and a freshness window
    # long enough that the second would otherwise serve its old snapshot.
    worker_a = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="60").test_client()
    worker_b = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="60").test_client()
    assert "No unicorn sightings yet!" in worker_b.get("/").get_data(as_text=True)
    assert post_sighting(worker_a, "venus", "7").status_code == 303
    # The browser carries the note to whichever worker serves the redirect.
    worker_b.set_cookie(COOKIE, worker_a.get_cookie(COOKIE).value)
    html = worker_b.get("/").get_data(as_text=True)
    assert "Unicorn sighting recorded!" in html
    assert TOTAL.format(1) in html
    assert '<tr class="just-added">' in html


def test_the_form_posts_to_sightings(client):
    html = client.get("/").get_data(as_text=True)
    assert '<form method="post" action="/sightings"' in html


def test_the_shared_page_is_the_same_bytes_for_every_visitor(app, spuc):
    first, second = app.test_client(), app.test_client()
    assert post_sighting(first, "venus", "1").status_code == 303
    first.get("/")  # the submitter's own page, with the note
    one, two = first.get("/"), second.get("/")
    assert one.status_code == two.status_code == 200
    assert one.get_data() == two.get_data()
    assert "Set-Cookie" not in one.headers and "Set-Cookie" not in two.headers
    assert one.headers["ETag"] == two.headers["ETag"]
    assert one.headers["ETag"] == '"' + hashlib.sha256(one.get_data()).hexdigest()[:32] + '"'
    assert one.headers["Cache-Control"] == "no-cache"
    assert "Accept-Encoding" in one.headers["Vary"]
    # With no session and no token, anyone can post from it.
    assert post_sighting(second, "mars", "2").status_code == 303


def test_the_shared_page_answers_304_when_unchanged(client, spuc):
    post_sighting(client, "venus", "1")
    client.get("/")
    etag = client.get("/").headers["ETag"]
    response = client.get("/", headers={"If-None-Match": etag})
    assert (response.status_code, response.get_data()) == (304, b"")
    assert response.headers["ETag"] == etag
    # A new sighting is a new page.
    post_sighting(client, "mars", "2")
    client.get("/")
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("br;q=0.5, gzip", True),
        ("gzip;q=0", False),
        ("gzip;q=0, *;q=0", False),
        ("identity", False),
        (None, False),
    ],
)
def test_the_shared_page_is_gzipped_only_when_accepted(client, spuc, accept, gzipped):
    plain = client.get("/")
    headers = {"Accept-Encoding": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    if gzipped:
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.get_data()) == plain.get_data()
        assert response.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
        again = client.get("/", headers={**headers, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    else:
        assert "Content-Encoding" not in response.headers
        assert response.get_data() == plain.get_data()
        assert response.headers["ETag"] == plain.headers["ETag"]


PREFIX = {"base_url": "http://localhost/spucsvi/"}


def urls_on(html: str) -> set[str]:
    return set(re.findall(r'(?:href|src|action)="([^"#][^"]*)"', html))


def test_under_a_path_prefix_every_link_asset_and_form_starts_with_it(client, spuc):
    post_sighting(client, "venus", "1")
    client.get("/")
    html = client.get("/", **PREFIX).get_data(as_text=True)
    urls = urls_on(html)
    assert '<form method="post" action="/spucsvi/sightings"' in html
    assert any(url.startswith("/spucsvi/assets/") for url in urls)
    assert "/spucsvi/?sort=location&amp;order=desc" in urls
    assert all(url.startswith("/spucsvi/") for url in urls), urls
    # And without the prefix, none of them.
    assert not any("spucsvi/" in url for url in urls_on(client.get("/").get_data(as_text=True)))


def test_a_submission_under_a_prefix_comes_back_under_it(client, spuc):
    response = post_sighting(client, "venus", "1", **PREFIX)
    assert response.headers["Location"] == "/spucsvi/#report"
    assert "Path=/spucsvi" in response.headers["Set-Cookie"].split("; ")
    html = client.get("/", **PREFIX).get_data(as_text=True)
    assert "Unicorn sighting recorded!" in html and "just-added" in html


def test_a_page_built_for_one_prefix_is_never_served_for_another(client, spuc):
    post_sighting(client, "venus", "1")
    client.get("/")
    # A request with a hostile SCRIPT_NAME is refused before a page is built...
    poisoned = client.get("/", environ_overrides={"SCRIPT_NAME": "//evil.example"})
    assert poisoned.status_code == 400
    assert "evil" not in poisoned.get_data(as_text=True)
    # ... and nothing of it is replayed to anyone else.
    for kwargs in ({}, PREFIX, {"query_string": ""}):
        html = client.get("/", **kwargs).get_data(as_text=True)
        assert "evil" not in html


def test_a_visitors_own_page_is_not_shared(app, spuc):
    submitter, onlooker = app.test_client(), app.test_client()
    onlooker.get("/")
    assert post_sighting(submitter, "venus", "1").status_code == 303
    own = submitter.get("/").get_data(as_text=True)
    seen = onlooker.get("/").get_data(as_text=True)
    assert "Unicorn sighting recorded!" in own and "your sighting" in own
    assert "Unicorn sighting recorded!" not in seen and "your sighting" not in seen
    assert '<span class="stat-number" data-testid="total">1</span>' in seen


def test_the_shared_page_is_rendered_once_per_data_version(app, spuc, monkeypatch):
    from spucsvi.web import pages

    calls = []
    real = pages.page_html
    monkeypatch.setattr(pages, "page_html", lambda *a, **k: calls.append(1) or real(*a, **k))
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").status_code == 200
    assert len(calls) == 1
    post_sighting(client, "venus", "1")  # a new version, then a visitor-only page
    client.get("/")
    for _ in range(3):
        client.get("/")
    # The visitor's own page after submitting, then one shared render for the new version.
    assert len(calls) == 3
    # Another query is another page, built once too.
    for _ in range(2):
        client.get("/?sort=location")
    assert len(calls) == 4


def test_many_path_prefixes_each_get_their_own_page(client, spuc):
    # More prefixes than pages are pre-rendered for the next version: none may fail.
    for round_ in range(2):
        for i in range(8):
            response = client.get("/", environ_overrides={"SCRIPT_NAME": f"/p{i}"})
            assert response.status_code == 200
            html = response.get_data(as_text=True)
            assert f'action="/p{i}/sightings"' in html
        post_sighting(client, f"place {round_}", "1")  # a new version: pre-rendered
        client.get("/")
    assert TOTAL.format(2) in client.get("/", environ_overrides={"SCRIPT_NAME": "/p7"}).get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.4, "0\u00a0s"),
        (119, "119\u00a0s"),
        (120, "2\u00a0min"),
        (7300, "2\u00a0h"),
        (4e5, "4\u00a0days"),
    ],
)
def test_the_age_of_a_copy_is_said_in_a_unit_a_reader_wants(seconds, shown):
    assert duration(seconds) == shown
