"""A sighting's write path, against the SPUC emulator over HTTP: what SPUC recorded
is confirmed at its UTC time, highlighted and ringed, whatever SPUC's clock."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spucsvi.data.columns import Columns
from spucsvi.data.store import Snapshot
from spucsvi.sightings.recorded import SEARCH_DEPTH, Identity, Recorded, find_recorded
from spucsvi.sightings.validation import MAX_LOCATION_LENGTH, SightingInput
from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import export_text, make_app, post_sighting
from tests.support.records import at, sighting, snapshot_of

COOKIE = "spucsvi-recorded"
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata"]
CONFIRMED_AT = re.compile(r'id="recorded">.*?<time class="when" datetime="([^"]+)Z">', re.S)
RING = re.compile(r'<script type="application/json" id="your-sighting-data">(.*?)</script>')


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture(params=ZONES)
def zoned(request, tmp_path):
    """(test client, emulator): SPUC writing `zone`'s clock, SPUC_TIMEZONE saying so."""
    zone = request.param
    with EmulatorServer(tmp_path / "spuc" / "unicorn_sightings.txt", zone=zone) as spuc:
        yield make_app(spuc.url, tmp_path, SPUC_TIMEZONE=zone).test_client(), spuc


def test_the_emulator_writes_its_zones_clock_without_a_zone(tmp_path):
    with EmulatorServer(tmp_path / "ny.txt", zone="America/New_York") as spuc:
        client = make_app(spuc.url, tmp_path).test_client()
        post_sighting(client, "venus", "1")
        written = export_text(spuc).splitlines()[1].split(",")[1]
    moment = datetime.fromisoformat(written)
    assert moment.tzinfo is None
    # New York is 4 or 5 hours behind UTC.
    assert timedelta(hours=3.9) < utc_now() - moment < timedelta(hours=5.1)


def test_a_form_submission_is_confirmed_highlighted_and_ringed_at_its_utc_time(zoned):
    client, spuc = zoned
    before = utc_now()
    assert post_sighting(client, "moon, crater", "7").status_code == 303
    after = utc_now()
    html = client.get("/").get_data(as_text=True)
    confirmed = datetime.fromisoformat(CONFIRMED_AT.search(html)[1])
    assert before <= confirmed <= after
    assert "#1: moon, crater, brightness 7 iuhc, at" in re.sub(r"<[^>]*>", "", html)
    assert '<tr class="just-added">' in html
    ring = json.loads(RING.search(html)[1])
    assert ring == {"x": str(confirmed), "y": 7, "units": "iuhc"}  # its unit's plot
    # The table shows the same UTC time for the row.
    assert html.count(f'datetime="{confirmed.isoformat()}Z"') >= 2


def test_the_json_api_answers_with_the_utc_time(zoned):
    client, spuc = zoned
    before = datetime.now(UTC)
    response = client.post("/api/sightings", json={"location": "venus", "brightness": 4})
    after = datetime.now(UTC)
    assert response.status_code == 201
    sighting = response.get_json()["sighting"]
    assert sighting["time"].endswith("Z")
    assert before <= datetime.fromisoformat(sighting["time"]) <= after
    listed = client.get("/api/sightings").get_json()["sightings"]
    assert [s["time"] for s in listed] == [sighting["time"]]


def note(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# --- the confirmation note: only what SPUCSVi writes --------------------------------------


DELETED = f"{COOKIE}=;"
FORGED = [
    # The shape SPUCSVi wrote before, with a zoned time: answered 500, never deleted.
    {"location": "venus", "brightness": "7", "count": 1, "time": "2026-11-27 10:00:00+02:00"},
    # ...and any text in the green banner.
    {"location": "Your account is locked: call +1 555 0100", "brightness": "7"},
    {"count": 1, "time_utc": "2026-11-27T10:00:00+02:00"},
    {"count": 1, "time_utc": "2026-11-27T10:00:00Z"},
    {"count": 1, "time_utc": "2026-11-27 10:00:00"},
    {"count": 1, "time_utc": "2026-13-27T10:00:00"},
    {"count": 1, "time_utc": "yesterday"},
    {"count": True, "time_utc": "2026-11-27T10:00:00"},
    {"count": "1", "time_utc": "2026-11-27T10:00:00"},
    {"count": 2**64, "time_utc": "2026-11-27T10:00:00"},
    {"count": 1, "time_utc": "2026-11-27T10:00:00", "location": "venus"},
    {"time_utc": "2026-11-27T10:00:00", "count": 1},  # not the order SPUCSVi writes
    {"count": 1},
    [],
    None,
]


def deletes_note(response) -> bool:
    return any(
        c.startswith(DELETED) and "Max-Age=0" in c for c in response.headers.getlist("Set-Cookie")
    )


@pytest.mark.parametrize("forged", FORGED)
def test_a_forged_note_is_ignored_and_deleted(client, spuc, forged):
    post_sighting(client, "venus", "7")
    client.get("/")
    client.set_cookie(COOKIE, note(forged))
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unicorn sighting recorded!" not in html and "just-added" not in html
    assert "call +1 555" not in html
    assert deletes_note(response)
    assert client.get_cookie(COOKIE) is None


@pytest.mark.parametrize(
    "raw",
    [
        # What SPUCSVi writes, but spelt otherwise: other spacing, no padding.
        base64.urlsafe_b64encode(b'{"count":1,"time_utc":"2026-11-27T10:00:00"}').decode(),
        note({"count": 1, "time_utc": "2026-11-27T10:00:00"}).rstrip("="),
        note({"count": 1, "time_utc": "2026-11-27T10:00:00"}) + "AAAA",
        "x" * 300,
        "\u00e9t\u00e9",
    ],
)
def test_a_note_spelt_otherwise_is_ignored_and_deleted(client, raw):
    client.set_cookie(COOKIE, raw)
    response = client.get("/")
    assert response.status_code == 200
    assert "Unicorn sighting recorded!" not in response.get_data(as_text=True)
    assert deletes_note(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", 404),
        ("GET", "/?page=0", 400),
        ("GET", "/api/summary", 200),
        ("POST", "/api/sightings", 422),
        ("GET", "/healthz", 200),
        ("GET", "/assets/nowhere.js", 404),
    ],
)
def test_a_forged_note_is_deleted_by_every_answer(client, spuc, method, path, status):
    client.set_cookie(COOKIE, note(FORGED[1]))
    kwargs = {"json": {"location": ""}} if method == "POST" else {}
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert deletes_note(response)
    kept_by = response.headers.get("Cache-Control", "")
    assert ("private" in kept_by or "no-store" in kept_by) and "public" not in kept_by


def test_a_note_of_ours_waits_for_the_page_that_shows_it(client, spuc):
    post_sighting(client, "venus", "7")
    assert not deletes_note(client.get("/api/summary"))
    page = client.get("/")
    assert deletes_note(page)
    assert "#1: venus, brightness 7 iuhc" in re.sub(r"<[^>]*>", "", page.get_data(as_text=True))


def test_a_note_of_a_record_spuc_does_not_hold_says_only_its_count_and_time(client, spuc):
    post_sighting(client, "venus", "7")
    client.get("/")
    client.set_cookie(COOKIE, note({"count": 99, "time_utc": "2026-11-27T10:00:00"}))
    html = client.get("/").get_data(as_text=True)
    assert re.search(
        r'id="recorded"><strong>Unicorn sighting recorded!</strong>\s+#99, at '
        r'<time class="when" datetime="2026-11-27T10:00:00Z">2026-11-27 10:00:00 UTC</time>\.'
        r"\s+</p>",
        html,
    )
    assert "just-added" not in html


def test_a_note_of_a_sighting_the_export_could_not_show_says_only_that_it_was_recorded(client):
    client.set_cookie(COOKIE, note({}))
    html = client.get("/").get_data(as_text=True)
    assert re.search(
        r'id="recorded"><strong>Unicorn sighting recorded!</strong>\s+</p>',
        html,
    )


def test_with_the_export_off_the_note_is_empty_and_the_page_says_recorded(tmp_path):
    with EmulatorServer(tmp_path / "off.txt", export_enabled=False) as spuc:
        client = make_app(spuc.url, tmp_path).test_client()
        response = post_sighting(client, "venus", "4")
        assert response.status_code == 303
        assert client.get_cookie(COOKIE).value == note({})
        html = client.get("/").get_data(as_text=True)
    assert "Unicorn sighting recorded!" in html


# --- one search for SPUC's record ---------------------------------------------------------


def test_the_record_is_found_by_what_was_sent_or_by_count_and_time_from_the_newest():
    repeated = [
        sighting(1, "2026-11-27 10:00:00", "venus"),
        sighting(1, "2026-11-27 10:00:00", "mars"),  # SPUC repeated its count
        sighting(2, "2026-11-27 09:00:00", "venus", "8"),  # SPUC's clock went back
        sighting(1, "2026-11-27 10:00:00", "venus"),  # the very same again
    ]
    snapshot = snapshot_of(repeated)
    found = find_recorded(snapshot, Identity(1, at("2026-11-27 10:00:00")))
    assert found == Recorded(1, at("2026-11-27 10:00:00"), "venus", "7", "iuhc", 3)
    assert find_recorded(snapshot, Identity(2, at("2026-11-27 09:00:00"))).row == 2
    assert find_recorded(snapshot, Identity(2, at("2026-11-27 09:00:00.000001"))) is None
    assert find_recorded(snapshot, Identity(3, at("2026-11-27 10:00:00"))) is None
    assert find_recorded(snapshot, SightingInput("venus", "7")).row == 3
    assert find_recorded(snapshot, SightingInput("venus", "8")).row == 2
    assert find_recorded(snapshot, SightingInput("mars", "8")) is None
    assert find_recorded(snapshot, SightingInput("pluto", "7")) is None


def test_the_search_looks_only_at_its_snapshot_and_its_newest_rows():
    records = [sighting(1, "2026-11-27 10:00:00", "venus")] + [
        sighting(i, "2026-11-27 11:00:00", "mars") for i in range(2, SEARCH_DEPTH + 2)
    ]
    snapshot = snapshot_of(records)
    assert find_recorded(snapshot, Identity(1, at("2026-11-27 10:00:00"))) is None  # too deep
    assert find_recorded(snapshot, SightingInput("venus", "7")) is None
    assert find_recorded(snapshot, Identity(2, at("2026-11-27 11:00:00"))).row == 1
    columns = snapshot_of([sighting(1, "2026-11-27 10:00:00")]).columns
    columns.extend([sighting(2, "2026-11-27 11:00:00", "mars")])
    older = Snapshot(columns, 1, 0, 1)
    assert find_recorded(older, SightingInput("mars", "7")) is None
    assert find_recorded(older, Identity(2, at("2026-11-27 11:00:00"))) is None


def test_the_time_is_converted_to_utc_once_by_the_columns():
    columns = Columns(ZoneInfo("Europe/Berlin"))
    columns.extend([sighting(1, "2026-12-03 19:03:00", "venus")])
    found = find_recorded(Snapshot(columns, 1, 0, 1), SightingInput("venus", "7"))
    assert found.time_utc == at("2026-12-03 18:03:00")


# --- locations that would look like another -----------------------------------------------


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("moon\u034f", "invisible or text-direction characters"),
        ("moon\ufe0f", "invisible or text-direction characters"),
        ("\u3164moon", "invisible or text-direction characters"),
        ("moon\u2800", "invisible or text-direction characters"),
        ("moon" + "\u0336" * 8, "cannot stack more than 3 accents"),
    ],
)
def test_a_lookalike_location_is_refused_next_to_the_field_with_the_values_kept(
    client, spuc, location, reason
):
    form = post_sighting(client, location, "3")
    html = form.get_data(as_text=True)
    assert form.status_code == 422
    assert re.search(rf'<p class="field-error" id="location-error">[^<]*{reason}', html)
    assert f'value="{location}"' in html and 'value="3"' in html
    api = client.post("/api/sightings", json={"location": location, "brightness": 3})
    assert api.status_code == 422
    assert reason in api.get_json()["fields"]["location"]
    assert not spuc.data_file.exists()


# --- the submit lock's folder -------------------------------------------------------------


def take_name(folder: Path, how: str) -> None:
    """Make `folder`'s name unusable as SPUCSVi's private folder, as another local
    user could in a shared temp folder."""
    if how == "a file":
        folder.write_text("")
    elif how == "a link":
        (folder.parent / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(folder.parent / "elsewhere")
    else:  # another user's folder, or one that others can enter
        folder.mkdir(mode=0o777)
        folder.chmod(0o777)
        if os.getuid() == 0:
            os.chown(folder, 65534, 65534)


@pytest.mark.parametrize("how", ["another user's folder", "a file", "a link"])
def test_spucsvi_starts_and_submits_when_the_lock_folders_name_is_taken(
    spuc, tmp_path, monkeypatch, caplog, how
):
    shared = tmp_path / "tmp"
    shared.mkdir()
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    taken = shared / f"spucsvi-{os.getuid()}"
    take_name(taken, how)
    # The default lock place, and a submission limit (whose counts live beside the lock).
    app = make_app(spuc.url, tmp_path, SPUCSVI_SUBMIT_LOCK="", SPUCSVI_SUBMIT_RATE="30/minute")
    assert post_sighting(app.test_client(), "venus", "1").status_code == 303
    (folder,) = shared.glob(f"spucsvi-{os.getuid()}-*")
    info = folder.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()
    assert {".lock", ".since", ".sqlite"} <= {p.suffix for p in folder.iterdir()}
    if how == "a link":
        assert not list((shared / "elsewhere").iterdir())
    assert "set SPUCSVI_SUBMIT_LOCK" in caplog.text and str(folder) in caplog.text
    # Every worker finds the same folder.
    again = make_app(spuc.url, tmp_path, SPUCSVI_SUBMIT_LOCK="", SPUCSVI_SUBMIT_RATE="30/minute")
    assert post_sighting(again.test_client(), "mars", "2").status_code == 303
    assert list(shared.glob(f"spucsvi-{os.getuid()}-*")) == [folder]
    assert export_text(spuc).count("\n") == 3


def test_a_folder_of_the_unpredictable_name_that_is_not_private_is_passed_over(
    spuc, tmp_path, monkeypatch
):
    shared = tmp_path / "tmp"
    shared.mkdir()
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(shared))
    take_name(shared / f"spucsvi-{os.getuid()}", "another user's folder")
    take_name(shared / f"spucsvi-{os.getuid()}-0", "another user's folder")
    app = make_app(spuc.url, tmp_path, SPUCSVI_SUBMIT_LOCK="")
    assert post_sighting(app.test_client(), "venus", "1").status_code == 303
    assert not list((shared / f"spucsvi-{os.getuid()}-0").iterdir())


def test_the_forms_limit_is_the_validations_and_the_pages(client, spuc):
    html = client.get("/").get_data(as_text=True)
    # Said, not enforced by maxlength: that would cut a pasted location without a word.
    assert f"Up to {MAX_LOCATION_LENGTH} characters." in html and "maxlength" not in html
    longest = "x" * MAX_LOCATION_LENGTH
    assert post_sighting(client, longest, "1").status_code == 303
    assert f">{longest}" in client.get("/").get_data(as_text=True)
    assert "characters or fewer" in post_sighting(client, longest + "x", "1").get_data(as_text=True)


def test_an_asset_answering_a_forged_note_is_kept_by_no_shared_cache(client, spuc):
    html = client.get("/").get_data(as_text=True)
    asset = re.search(r'src="(/assets/[^"]+\.js)"', html)[1]
    with client.get(asset) as response:
        assert "public" in response.headers["Cache-Control"]
    client.set_cookie(COOKIE, note(FORGED[0]))
    with client.get(asset) as response:
        assert response.status_code == 200 and deletes_note(response)
        assert "private" in response.headers["Cache-Control"]
        assert "public" not in response.headers["Cache-Control"]
