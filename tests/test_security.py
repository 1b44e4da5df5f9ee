"""Security headers, request ids, cross-origin protection, size limits and compression
on every surface."""

import gzip
import hashlib
import logging
import threading
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from spucsvi.settings import SettingsError
from spucsvi.web.logs import RequestIdFilter
from tests.support.apps import export_text, make_app, post_sighting

PLOTLY_SHA256 = "99784e3abfb07b142a15e521a439e6d9addceadb3f79553fd24c72774f0649ba"
PATHS = [
    "/",
    "/healthz",
    "/readyz",
    "/-/info",
    "/api/summary",
    "/sightings.csv",
    "/nowhere",
    "/api/nowhere",
    "/assets/000000000000/vendor/plotly.js/plotly-basic.min.js",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_has_the_security_headers(client, path):
    with client.get(path) as response:
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_scripts_have_no_inline_code(client):
    html = client.get("/").get_data(as_text=True)
    for chunk in html.split("<script")[1:]:
        tag, _, rest = chunk.partition(">")
        body = rest.partition("</script>")[0]
        assert "src=" in tag or 'type="application/json"' in tag, tag
        if "src=" in tag:
            assert body == ""


def test_request_id_is_generated_or_passed_through(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    # A header that could forge log lines is replaced, not echoed.
    forged = client.get("/healthz", headers={"X-Request-ID": "x y=1"}).headers["X-Request-ID"]
    assert forged != "x y=1" and len(forged) == 32


def test_log_records_carry_the_request_id(app):
    def record():
        entry = logging.LogRecord("spucsvi", logging.INFO, __file__, 1, "hello", None, None)
        assert RequestIdFilter().filter(entry)
        return entry.request_id

    with app.test_request_context(headers={"X-Request-ID": "req-42"}):
        app.preprocess_request()
        assert record() == "req-42"
    assert record() == "-"


# --- cross-origin protection: no tokens, the browser says where a request comes from ---

NOTHING_YET = '{"message":"No unicorn sightings yet!"}\n'
REFUSED = "This request came from another web site, so nothing was sent to SPUC."
SIGHTING = {"location": "venus", "brightness": "4"}
UNSAFE_PATHS = ["/sightings", "/put_unicorn", "/api/sightings"]


def post(client, path: str, headers: dict[str, str]):
    """The sighting, as the form sends it or as JSON for the API."""
    if path.startswith("/api/"):
        return client.post(path, json=SIGHTING, headers=headers)
    return client.post(path, data=SIGHTING, headers=headers)


def recorded_locations(spuc) -> list[str]:
    return [line.split(",")[2] for line in export_text(spuc).splitlines()[1:]]


def assert_refused(response, path: str) -> None:
    assert response.status_code == 403
    if path.startswith("/api/"):
        assert response.mimetype == "application/json"
        assert response.get_json()["status"] == 403
        assert response.get_json()["error"].startswith(REFUSED)
    else:
        assert response.mimetype == "text/html"
        assert REFUSED in response.get_data(as_text=True)


def assert_accepted(response, path: str) -> None:
    assert response.status_code == (201 if path.startswith("/api/") else 303)


@pytest.mark.parametrize("path", UNSAFE_PATHS)
@pytest.mark.parametrize("site", ["cross-site", "same-site", "nonsense"])
def test_a_post_from_another_site_is_refused_and_nothing_reaches_spuc(client, spuc, path, site):
    # An attacker's page may send any Origin (or none); Sec-Fetch-Site it cannot forge.
    for origin in ({}, {"Origin": "http://localhost"}, {"Origin": "https://evil.example"}):
        assert_refused(post(client, path, {"Sec-Fetch-Site": site, **origin}), path)
    assert export_text(spuc) == NOTHING_YET


@pytest.mark.parametrize("path", UNSAFE_PATHS)
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost:8080",  # another port is another origin
        "http://localhost.evil.example",
        "null",  # a sandboxed frame or a redirect across sites
        "http://[not-an-origin",
    ],
)
def test_a_post_with_a_foreign_origin_is_refused(client, spuc, path, origin):
    assert_refused(post(client, path, {"Origin": origin}), path)
    assert export_text(spuc) == NOTHING_YET


@pytest.mark.parametrize("path", UNSAFE_PATHS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"},  # Sec-Fetch wins
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked by the user
        {"Origin": "http://localhost"},  # an older browser: Origin equal to the host
        {"Origin": "HTTP://LOCALHOST"},
        {},  # no browser at all (curl, scripts)
    ],
    ids=["same-origin", "same-origin-any-origin", "none", "origin", "origin-case", "no-headers"],
)
def test_a_post_from_this_site_or_no_browser_is_accepted(client, spuc, path, headers):
    assert_accepted(post(client, path, headers), path)
    assert recorded_locations(spuc) == ["venus"]


def test_safe_methods_pass_whatever_the_site(client):
    for method in ("get", "head", "options"):
        response = getattr(client, method)(
            "/", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
        )
        assert response.status_code == 200, method


@pytest.fixture
def trusting_app(spuc, tmp_path):
    """Behind a proxy that rewrites Host: its public origin is trusted."""
    return make_app(
        spuc.url,
        tmp_path,
        SPUCSVI_TRUSTED_ORIGINS="https://spucsvi.example.org, http://127.0.0.1:8443",
    )


@pytest.mark.parametrize("path", UNSAFE_PATHS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://spucsvi.example.org"},
        {"Origin": "https://spucsvi.example.org", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:8443", "Sec-Fetch-Site": "same-site"},
    ],
)
def test_trusted_origins_are_accepted(trusting_app, spuc, path, headers):
    assert_accepted(post(trusting_app.test_client(), path, headers), path)
    assert recorded_locations(spuc) == ["venus"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://spucsvi.example.org"},  # another scheme is another origin
        {"Origin": "https://spucsvi.example.org:444", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_only_the_trusted_origins_are_trusted(trusting_app, spuc, headers):
    assert_refused(post(trusting_app.test_client(), "/sightings", headers), "/sightings")
    assert export_text(spuc) == NOTHING_YET


def test_a_bad_trusted_origin_stops_the_app_naming_the_variable(spuc, tmp_path):
    with pytest.raises(SettingsError) as error:
        make_app(spuc.url, tmp_path, SPUCSVI_TRUSTED_ORIGINS="spucsvi.example.org")
    assert str(error.value).startswith("SPUCSVI_TRUSTED_ORIGINS: 'spucsvi.example.org'")


@pytest.fixture
def live(app):
    """The app over real HTTP on 127.0.0.1, as a script or a browser reaches it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def test_over_http_a_plain_script_post_is_accepted(live, spuc):
    form = requests.post(f"{live}/sightings", data=SIGHTING, allow_redirects=False, timeout=10)
    assert (form.status_code, form.headers["Location"]) == (303, "/#report")
    api = requests.post(f"{live}/api/sightings", json=SIGHTING, timeout=10)
    assert api.status_code == 201
    assert recorded_locations(spuc) == ["venus", "venus"]


def test_over_http_the_host_with_its_port_is_the_origin(live, spuc):
    same = requests.post(
        f"{live}/sightings",
        data=SIGHTING,
        headers={"Origin": live},
        allow_redirects=False,
        timeout=10,
    )
    assert same.status_code == 303
    port = int(live.rsplit(":", 1)[1])
    for origin in (f"http://127.0.0.1:{port + 1}", "http://127.0.0.1", "https://evil.example"):
        refused = requests.post(
            f"{live}/sightings", data=SIGHTING, headers={"Origin": origin}, timeout=10
        )
        assert refused.status_code == 403, origin
        assert REFUSED in refused.text
    cross = requests.post(
        f"{live}/api/sightings",
        json=SIGHTING,
        headers={"Sec-Fetch-Site": "cross-site", "Origin": live},
        timeout=10,
    )
    assert cross.status_code == 403
    assert recorded_locations(spuc) == ["venus"]


def test_request_body_limit_applies_to_the_api(client):
    response = client.post(
        "/api/sightings",
        data=b'{"location": "' + b"x" * 20_000 + b'"}',
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.get_json()["error"].startswith("That request is too large.")


def test_html_and_json_are_compressed_when_accepted(client):
    post_sighting(client, "venus", "7")
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert b"I saw a unicorn!" in gzip.decompress(page.data)
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers


def test_plotly_is_the_vendored_basic_bundle_precompressed_and_immutable(client):
    html = client.get("/").get_data(as_text=True)
    url = html.split('<script src="')[1].split('"')[0]
    assert url.startswith("/assets/") and url.endswith("/vendor/plotly.js/plotly-basic.min.js")
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    bundle = gzip.decompress(response.data)
    assert bundle.startswith(b"/**\n* plotly.js (basic - minified) v4.1.1")
    assert hashlib.sha256(bundle).hexdigest() == PLOTLY_SHA256
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    with client.get(url, headers={"Accept-Encoding": "identity"}) as plain:
        assert "Content-Encoding" not in plain.headers and plain.data == bundle
    assert client.get(url.replace(url.split("/")[2], "000000000000")).status_code == 404


def test_the_app_needs_nothing_of_the_plotly_package():
    """The container image may prune the PyPI plotly package: the page uses only
    the vendored bundle (plotly stays a test dependency, to check the figures)."""
    root = Path(__file__).resolve().parent.parent
    code = "\n".join(path.read_text() for path in (root / "spucsvi").rglob("*.py"))
    assert "import plotly" not in code and 'find_spec("plotly")' not in code
    assert (root / "static/vendor/plotly.js/LICENSE").read_text().startswith("MIT License")


def test_own_assets_have_content_hashed_urls(client):
    html = client.get("/").get_data(as_text=True)
    css = html.split('rel="stylesheet" href="')[1].split('"')[0]
    with client.get(css) as response:
        assert response.status_code == 200
        assert "immutable" in response.headers["Cache-Control"]
    stale = css.replace(css.split("/")[2], "000000000000")
    assert client.get(stale).status_code == 404
    assert client.get("/assets/000000000000/../../pyproject.toml").status_code == 404
    # One way to an asset: not also unversioned under Flask's /static/.
    assert client.get("/static/css/spucsvi.css").status_code == 404
