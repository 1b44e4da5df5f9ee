"""A sighting sent while SPUC's clock is not UTC, seen by a visitor in yet another
zone, in real headless Chromium: confirmed at the time SPUC recorded it, on the
visitor's clock, marked in the table and ringed in the chart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.browser import assert_clean, new_page, submit, wait_for_charts, watch
from tests.support.records import HEADER
from tests.support.servers import gunicorn, running

pytestmark = pytest.mark.browser

SPUC_ZONE = "America/New_York"
VISITOR_ZONE = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def tokyo(browser: Browser) -> Iterator[Page]:
    with new_page(browser, timezone_id="Asia/Tokyo", locale="en-US") as page:
        yield page


def on_spucs_clock(hours_ago: float) -> str:
    moment = datetime.now(ZoneInfo(SPUC_ZONE)) - timedelta(hours=hours_ago)
    return str(moment.replace(tzinfo=None))


def minutes_in_tokyo(*moments: datetime) -> set[str]:
    return {m.astimezone(VISITOR_ZONE).strftime("%Y-%m-%d %H:%M") for m in moments}


def test_a_sighting_under_spuc_on_new_york_time_seen_from_tokyo(tokyo: Page, tmp_path: Path):
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    data_file.write_text(
        HEADER + "".join(f"{i},{on_spucs_clock(i)},crater {i},{i},iuhc\n" for i in (1, 2, 3))
    )
    seen = watch(tokyo)
    with EmulatorServer(data_file, zone=SPUC_ZONE) as spuc:
        # Two workers: the page after the submission may come from the other one.
        served = gunicorn(tmp_path, spuc.url, workers=2, env={"SPUC_TIMEZONE": SPUC_ZONE})
        with running(served):
            tokyo.goto(f"{served.url}/")
            wait_for_charts(tokyo)
            before = datetime.now(UTC)
            assert submit(tokyo, "Ginza rooftop", "9") == 200
            after = datetime.now(UTC)
            confirmation = tokyo.locator("#recorded")
            expect(confirmation).to_contain_text("#4: Ginza rooftop, brightness 9 iuhc, at")
            shown = confirmation.locator("time").inner_text()
            assert shown[:16] in minutes_in_tokyo(before, after), shown
            row = tokyo.locator("tr.just-added")
            expect(row).to_have_count(1)
            assert row.locator("td").nth(1).inner_text()[:16] == shown[:16]
            wait_for_charts(tokyo)
            ring = tokyo.evaluate(
                """() => document.getElementById("brightness-chart").data
                     .filter((t) => t.name === "your sighting").map((t) => [t.x[0], t.y[0]])"""
            )
            assert len(ring) == 1 and ring[0][1] == 9
            assert ring[0][0][:16] == shown[:16]
    assert_clean(seen)
