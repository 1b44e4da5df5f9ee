"""The SPUC client: every failure becomes its own exception, in plain words."""

import json
import socket
import struct
import time

import pytest
import responses

from spucsvi.settings import SettingsError
from spucsvi.spuc.client import (
    ExportDisabled,
    SpucBadResponse,
    SpucClient,
    SpucRejected,
    SpucServerError,
    SpucTimeout,
    SpucUnreachable,
)
from tests.support.apps import make_app
from tests.support.fakes import FakeSpuc, closed_port_url, http_response, json_response

SPUC = "http://spuc.test:8321"


@responses.activate
def test_record_sighting_sends_encoded_query_parameters():
    responses.put(f"{SPUC}/unicorn_spotted", json={"message": "Unicorn sighting recorded!"})
    SpucClient(SPUC).record_sighting("moon, crater & co #1 + ü", "7")
    url = responses.calls[0].request.url
    assert url == (
        f"{SPUC}/unicorn_spotted?location=moon%2C+crater+%26+co+%231+%2B+%C3%BC&brightness=7"
    )


@responses.activate
def test_rejection_carries_spucs_own_message():
    message = "Missing data: Need location and brightness."
    responses.put(f"{SPUC}/unicorn_spotted", status=400, json={"ERROR": message})
    with pytest.raises(SpucRejected) as error:
        SpucClient(SPUC).record_sighting("x", "1")
    assert error.value.spuc_message == message
    assert error.value.reason == f"SPUC refused the sighting: {message}"


@responses.activate
def test_server_error_on_submission_is_not_retried_and_says_it_may_be_recorded():
    responses.put(f"{SPUC}/unicorn_spotted", status=500)
    with pytest.raises(SpucServerError) as error:
        SpucClient(SPUC).record_sighting("x", "1")
    assert len(responses.calls) == 1
    assert "may have been recorded" in error.value.reason
    assert error.value.status == 502


@responses.activate
def test_export_404_means_export_disabled():
    responses.get(f"{SPUC}/export", status=404, body="<h1>Not Found</h1>")
    with pytest.raises(ExportDisabled) as error:
        SpucClient(SPUC).fetch_export()
    assert "EXPORT=true" in error.value.reason


@responses.activate
def test_export_empty_message():
    responses.get(f"{SPUC}/export", json={"message": "No unicorn sightings yet!"})
    assert SpucClient(SPUC).fetch_export().empty


@responses.activate
def test_export_conditional_and_range_headers():
    responses.get(
        f"{SPUC}/export",
        status=206,
        body=b"abc",
        headers={"Content-Range": "bytes 10-12/13", "ETag": '"v2"'},
    )
    answer = SpucClient(SPUC).fetch_export(etag='"v1"', offset=10)
    sent = responses.calls[0].request.headers
    assert (sent["If-None-Match"], sent["Range"]) == ('"v1"', "bytes=10-")
    assert (answer.status, answer.body, answer.offset, answer.total, answer.etag) == (
        206,
        b"abc",
        10,
        13,
        '"v2"',
    )


@responses.activate
def test_export_over_the_size_limit_is_refused():
    responses.get(f"{SPUC}/export", body=b"x" * 2048)
    with pytest.raises(SpucBadResponse, match="larger than"):
        SpucClient(SPUC, max_export_bytes=1024).fetch_export()


def test_refused_connection_is_unreachable():
    url = closed_port_url()
    with pytest.raises(SpucUnreachable) as error:
        SpucClient(url).record_sighting("x", "1")
    assert error.value.reason == f"SPUC could not be reached at {url}. Is it running?"
    assert error.value.status == 503


def _hang(request, connection):
    pass  # accept, read the request, never answer


def test_accept_then_hang_times_out_within_the_read_timeout():
    with FakeSpuc(_hang) as fake:
        client = SpucClient(fake.url, read_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(SpucTimeout) as error:
            client.fetch_export()
        assert time.monotonic() - started < 3
    assert error.value.status == 504
    assert "did not answer within 0.5 seconds" in error.value.reason


def _hang_mid_body(request, connection):
    head = http_response(200, b"", {"Content-Type": "text/plain"}).replace(
        b"Content-Length: 0", b"Content-Length: 1000"
    )
    connection.sendall(head + b"count,time,location,brightness,units\n")


def test_hang_mid_body_times_out():
    with FakeSpuc(_hang_mid_body) as fake, pytest.raises(SpucTimeout):
        SpucClient(fake.url, read_timeout=0.5).fetch_export()


def _reset_mid_body(request, connection):
    head = http_response(200, b"", {"Content-Type": "text/plain"}).replace(
        b"Content-Length: 0", b"Content-Length: 1000"
    )
    connection.sendall(head + b"count,time,loc")
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def test_connection_reset_mid_body_is_a_clear_error():
    with (
        FakeSpuc(_reset_mid_body) as fake,
        pytest.raises((SpucBadResponse, SpucUnreachable)) as error,
    ):
        SpucClient(fake.url).fetch_export()
    assert fake.url in error.value.reason


def test_400_from_a_real_socket_carries_the_message():
    message = "Missing data: Need location and brightness."

    def respond(request, connection):
        connection.sendall(json_response(400, json.dumps({"ERROR": message})))

    with FakeSpuc(respond) as fake, pytest.raises(SpucRejected) as error:
        SpucClient(fake.url).record_sighting("a", "1")
    assert error.value.spuc_message == message


# --- SPUC's answers are data: a redirect is never followed -------------------------


def _recording(request, connection):
    connection.sendall(json_response(200, '{"message": "Unicorn sighting recorded!"}'))


def _redirecting_to(target: str):
    def respond(request, connection):
        status = 307 if request.method == "PUT" else 302
        where = f"{target}{request.path}?location=x&brightness=1"
        connection.sendall(http_response(status, b"", {"Location": where}))

    return respond


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 300])
def test_a_redirect_is_a_bad_answer_and_never_followed(status):
    with FakeSpuc(_recording) as elsewhere:

        def respond(request, connection):
            headers = {"Location": f"{elsewhere.url}{request.path}"}
            connection.sendall(http_response(status, b"", headers))

        with FakeSpuc(respond) as fake:
            client = SpucClient(fake.url)
            with pytest.raises(SpucBadResponse) as export_error:
                client.fetch_export()
            with pytest.raises(SpucBadResponse) as put_error:
                client.record_sighting("venus", "3")
        assert elsewhere.requests == []
    for error, asked in ((export_error, "the export request"), (put_error, "a sighting")):
        assert f"answered {asked} with a redirect (HTTP {status})" in error.value.reason
        assert "does not follow" in error.value.reason


def test_the_app_follows_no_redirect_from_spuc(tmp_path):
    with FakeSpuc(_recording) as elsewhere, FakeSpuc(_redirecting_to(elsewhere.url)) as fake:
        client = make_app(fake.url, tmp_path).test_client()
        page = client.get("/")
        assert page.status_code == 502
        assert "with a redirect (HTTP 302)" in page.get_data(as_text=True)
        answer = client.post("/api/sightings", json={"location": "venus", "brightness": 3})
        assert answer.status_code == 502
        assert "with a redirect (HTTP 307)" in answer.get_json()["error"]
        assert [r.method for r in fake.requests].count("PUT") == 1
        assert elsewhere.requests == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://s3cr3t-t0ken@spuc:8321", "http://***@spuc:8321"),
        ("http://unicorn:s3cr3t-t0ken@spuc:8321/x", "http://***@spuc:8321/x"),
        ("http://:s3cr3t-t0ken@spuc", "http://***@spuc"),
        ("https://s3cr3t-t0ken:@spuc", "https://***@spuc"),
        ("http://spuc:8321", "http://spuc:8321"),
    ],
)
def test_the_user_part_of_spuc_url_is_never_shown(url, shown):
    client = SpucClient(url)
    assert client.shown_url == shown
    assert "s3cr3t" not in client.shown_url


@pytest.mark.parametrize(
    "url",
    ["http://s3cr3t-t0ken@spuc:port", "http://u:s3cr3t-t0ken@spuc/?q=1", "ftp://s3cr3t-t0ken@x"],
)
def test_a_refused_spuc_url_is_named_without_its_user_part(url, tmp_path):
    with pytest.raises(SettingsError) as error:
        make_app(url, tmp_path)
    assert "SPUC_URL='" in str(error.value) and "***@" in str(error.value)
    assert "s3cr3t" not in str(error.value)
