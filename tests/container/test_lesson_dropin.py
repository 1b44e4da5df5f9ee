"""The lesson's own compose file, with this repository's image in place of
spuacv/spucsvi:latest, comes up and works: tests/container/lesson/.

The file keeps the lesson's shape: fixed container names spuc_container and
spucsvi, the named network spuc_network, SPUC built from a Dockerfile of its
own (SPUC plus pandas for the stats.py plugin), print.config and stats.py
bind-mounted, no SPUC port published, SPUCSVi started once SPUC is healthy.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.container.engine_helpers import (
    HERE,
    publish_locally,
    record_tail,
    records,
    run,
    stack_for_module,
    visit_and_submit,
    wait_for,
)

LESSON_FILE = HERE / "lesson" / "docker-compose.yml"


@pytest.fixture(scope="module")
def lesson(docker, compose_bin, spucsvi_image, stand_ins, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lesson")
    # Fixed container and network names: only one copy can run, so the project
    # name is fixed too (and SPUC's image, named after it, is rebuilt in place).
    with stack_for_module(
        docker, compose_bin, tmp, "lesson", LESSON_FILE, publish_locally(tmp), unique=False
    ) as stack:
        stack("up", "--build", "--detach", "--wait", timeout=900)
        yield stack


def test_the_lesson_stack_comes_up_with_its_names(lesson, docker):
    for name, service in (("spuc_container", "spuc"), ("spucsvi", "spucsvi")):
        (container,) = lesson.containers(service)
        assert container["Name"] == name
        assert container["State"] == "running"
        assert container["Health"] == "healthy", container
    network = json.loads(run([docker, "network", "inspect", "spuc_network"]).stdout)[0]
    assert {c["Name"] for c in network["Containers"].values()} == {"spuc_container", "spucsvi"}
    assert not lesson.inspect("spuc")["HostConfig"]["PortBindings"]
    assert lesson.inspect("spucsvi")["Config"]["Image"] == "spucsvi:latest"


def test_the_lesson_stack_records_and_shows_sightings(lesson):
    url = lesson.url("spucsvi", 8322)
    for location, brightness in (("Edinburgh, castle", "3"), ("Köln & Bonn #2", "5")):
        visit_and_submit(url, location, brightness)
    assert [record_tail(r) for r in records(lesson.sightings_file())] == [
        b"Edinburgh, castle,3,iulu\n",
        "Köln & Bonn #2,5,iulu\n".encode(),
    ]
    # The page shows them once its background refresh has caught up.
    wait_for(
        lambda: "Edinburgh, castle" in requests.get(f"{url}/", timeout=10).text,
        timeout=15,
        what="the page to show the sightings",
    )
