"""Security headers, request ids, CSRF, size limits and compression on every surface."""

import gzip
import logging

import pytest
from conftest import post_sighting

from spucsvi.web.assets import PLOTLY_VERSION
from spucsvi.web.logs import RequestIdFilter

PATHS = [
    "/",
    "/healthz",
    "/readyz",
    "/-/info",
    "/api/summary",
    "/sightings.csv",
    "/nowhere",
    "/api/nowhere",
    f"/assets/plotly-{PLOTLY_VERSION}.min.js",
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


def test_csrf_token_from_another_session_is_refused(app, spuc):
    first, second = app.test_client(), app.test_client()
    token = first.get("/").get_data(as_text=True).split('name="csrf_token" value="')[1]
    token = token.split('"')[0]
    response = second.post(
        "/sightings", data={"location": "venus", "brightness": "1", "csrf_token": token}
    )
    assert response.status_code == 400


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


def test_plotly_is_served_locally_precompressed_and_immutable(client):
    url = f"/assets/plotly-{PLOTLY_VERSION}.min.js"
    response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert gzip.decompress(response.data).startswith(b"/**")
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.get("/assets/plotly-0.0.1.min.js").status_code == 404


def test_own_assets_have_content_hashed_urls(client):
    html = client.get("/").get_data(as_text=True)
    css = html.split('rel="stylesheet" href="')[1].split('"')[0]
    with client.get(css) as response:
        assert response.status_code == 200
        assert "immutable" in response.headers["Cache-Control"]
    stale = css.replace(css.split("/")[2], "000000000000")
    assert client.get(stale).status_code == 404
    assert client.get("/assets/000000000000/../../pyproject.toml").status_code == 404
