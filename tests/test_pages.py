"""The dashboard page and the sighting form, against the SPUC emulator over HTTP."""

import re
from html.parser import HTMLParser

import pytest
from conftest import csrf_token, export_text, make_app, post_sighting
from fakes import closed_port_url

from spucsvi.spuc.emulator import EmulatorServer


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
    assert response.headers["Location"] == "/"
    lines = export_text(spuc).splitlines()
    assert lines[0] == "count,time,location,brightness,units"
    assert lines[1].startswith("1,")
    assert lines[1].endswith(f",{location},7.5,iuhc")


def test_after_redirect_the_page_flashes_and_shows_the_sighting(client):
    post_sighting(client, "venus", "7")
    html = client.get("/").get_data(as_text=True)
    assert "Unicorn sighting recorded!" in html
    assert '<span class="stat-number" data-testid="total">1</span>' in html
    assert '<tr class="just-added">' in html
    assert '<td class="location">venus <strong class="badge">your sighting</strong></td>' in html
    # The flash is shown once only.
    assert "Unicorn sighting recorded!" not in client.get("/").get_data(as_text=True)


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
    data = {"location": ["a", "b"], "brightness": "1", "csrf_token": csrf_token(client)}
    response = client.post("/sightings", data=data)
    assert response.status_code == 400
    assert "Please send this field only once." in response.get_data(as_text=True)
    assert "No unicorn sightings yet!" in export_text(spuc)


def test_missing_csrf_token_keeps_the_values_and_sends_nothing(client, spuc):
    response = client.post("/sightings", data={"location": "venus", "brightness": "4"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Your form had expired, so nothing was sent." in html
    assert 'value="venus"' in html and 'value="4"' in html
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
    response = client.post("/sightings", data={"location": "x" * 20_000, "brightness": "1"})
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
    # Two workers of one server: same secret, each with its own store, and a
    # freshness window long enough that the second would otherwise serve its old snapshot.
    worker_a = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="60").test_client()
    worker_b = make_app(spuc.url, tmp_path, SPUCSVI_FRESHNESS="60").test_client()
    assert "No unicorn sightings yet!" in worker_b.get("/").get_data(as_text=True)
    assert post_sighting(worker_a, "venus", "7").status_code == 303
    worker_b.set_cookie("session", worker_a.get_cookie("session").value)
    html = worker_b.get("/").get_data(as_text=True)
    assert "Unicorn sighting recorded!" in html
    assert '<span class="stat-number" data-testid="total">1</span>' in html


def test_the_form_posts_to_sightings(client):
    html = client.get("/").get_data(as_text=True)
    assert '<form method="post" action="/sightings"' in html


def test_the_shared_page_gives_each_visitor_their_own_working_token(app, spuc):
    first, second = app.test_client(), app.test_client()
    page_one, page_two = (
        first.get("/").get_data(as_text=True),
        second.get("/").get_data(as_text=True),
    )
    token_one, token_two = csrf_token(first), csrf_token(second)
    assert token_one != token_two
    assert "spucsvi-form-token-slot" not in page_one + page_two
    # The same page for both, but for the token (each page was fetched with its own).
    assert re.sub(r'name="csrf_token" value="[^"]+"', "", page_one) == re.sub(
        r'name="csrf_token" value="[^"]+"', "", page_two
    )
    assert post_sighting(first, "venus", "1").status_code == 303
    assert post_sighting(second, "mars", "2").status_code == 303


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
