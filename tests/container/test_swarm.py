"""deploy/stack.yml on a single-node Docker Swarm: three SPUCSVi replicas sharing
one Redis lose no sighting, survive a killed replica and roll one at a time.

The engine here has no routing mesh (IPVS), as docs/deploy.md says: every
service uses `endpoint_mode: dnsrr` and the proxy's port is published in host
mode, on a free port. Visitors reach nginx through Docker's port publishing
from docker_gwbridge's gateway; the test trusts that address as an outer
proxy and names each visitor in X-Forwarded-For, so each is a new visitor to
SPUCSVi. The swarm is made here and left at the end; an engine already in a
swarm is left alone (the test skips).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from tests.container.engine_helpers import (
    ROOT,
    SIGHTINGS_FILE,
    clean_env,
    record_tail,
    records,
    run,
    wait_for,
)
from tests.support.servers import free_port

STACK_FILE = ROOT / "deploy" / "stack.yml"
REPLICAS = 3
VISITORS = 24
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
GWBRIDGE_SUBNET, GWBRIDGE_GATEWAY = "10.83.25.0/24", "10.83.25.1"


@dataclass
class SwarmStack:
    docker: str
    name: str
    url: str

    def service(self, service: str) -> str:
        return f"{self.name}_{service}"

    def containers(self, service: str, *filters: str, every: bool = False) -> list[str]:
        """The running containers of a service (`every`: all it ran) that match
        `filters`, as `docker ps` takes them."""
        label = f"label=com.docker.swarm.service.name={self.service(service)}"
        argv = [self.docker, "ps", "-q", *(["-a"] if every else []), "--filter", label]
        for condition in filters:
            argv += ["--filter", condition]
        return run(argv).stdout.decode().split()

    def healthy(self, service: str) -> list[str]:
        return self.containers(service, "health=healthy")

    def sightings_file(self) -> bytes:
        (spuc,) = self.containers("spuc")
        return run([self.docker, "exec", spuc, "cat", SIGHTINGS_FILE]).stdout

    def logs(self, service: str) -> str:
        """The logs of every container the service ran (`docker service logs` can hang),
        each line prefixed with its container."""
        lines = []
        for container in self.containers(service, every=True):
            out = run([self.docker, "logs", container], check=False, timeout=60)
            text = (out.stdout + out.stderr).decode(errors="replace")
            lines += [f"{container} | {line}" for line in text.splitlines()]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def swarm(docker) -> Iterator[None]:
    """A single-node swarm of this engine, made here and left at the end."""
    state = run([docker, "info", "--format", "{{.Swarm.LocalNodeState}}"]).stdout.decode().strip()
    if state != "inactive":
        pytest.skip(f"the engine is in a swarm already ({state}): this test makes its own")
    # The bridge through which host-mode ports reach the tasks: made here, as
    # Docker's docs say to customise it, so that its gateway is known before the
    # stack is deployed (the swarm would make it with the first task).
    had_bridge = run([docker, "network", "inspect", "docker_gwbridge"], check=False).returncode == 0
    if not had_bridge:
        options = ["name=docker_gwbridge", "enable_icc=false", "enable_ip_masquerade=true"]
        argv = [docker, "network", "create", "--subnet", GWBRIDGE_SUBNET]
        argv += ["--gateway", GWBRIDGE_GATEWAY]
        argv += [f"--opt=com.docker.network.bridge.{option}" for option in options]
        run([*argv, "docker_gwbridge"])
    run([docker, "swarm", "init", "--advertise-addr", "127.0.0.1"])
    try:
        yield
    finally:
        run([docker, "swarm", "leave", "--force"], check=False, timeout=120)
        if not had_bridge:  # `swarm leave` leaves it
            run([docker, "network", "rm", "docker_gwbridge"], check=False)


@pytest.fixture(scope="module")
def stack(docker, swarm, spucsvi_image, stand_ins) -> Iterator[SwarmStack]:
    name = f"spucsvi-swarm-{secrets.token_hex(3)}"
    port = free_port()
    ipam = [docker, "network", "inspect", "docker_gwbridge", "--format", "{{json .IPAM.Config}}"]
    gateway = json.loads(run(ipam).stdout)[0]["Gateway"]
    env = clean_env(
        SPUCSVI_IMAGE=spucsvi_image,
        SPUCSVI_PORT=str(port),
        # The frontend network (the proxy) and, as an outer proxy, the address
        # Docker's port publishing gives every visitor.
        SPUCSVI_FORWARDED_ALLOW_IPS=f"10.83.24.0/24,{gateway}",
    )
    deployed = SwarmStack(docker, name, f"http://127.0.0.1:{port}")
    try:
        run([docker, "stack", "deploy", "-c", str(STACK_FILE), name], env=env, cwd=ROOT)
        wait_for(
            lambda: len(deployed.healthy("spucsvi")) == REPLICAS and _serves(deployed.url),
            timeout=240,
            interval=1,
            what=f"{REPLICAS} healthy replicas behind the proxy",
        )
        yield deployed
    finally:
        try:
            print(f"--- last log lines of {name} ---\n{deployed.logs('spucsvi')[-6000:]}")
        finally:
            _remove(docker, name)


def _remove(docker: str, name: str) -> None:
    """The stack, then (once its containers and networks are gone) SPUC's volume."""
    run([docker, "stack", "rm", name], check=False, timeout=120)
    wait_for(
        lambda: not _left(docker, name),
        timeout=180,
        interval=1,
        what=f"the containers and networks of {name} to go",
    )
    wait_for(
        lambda: (
            run([docker, "volume", "rm", f"{name}_spuc-volume"], check=False).returncode == 0
            or not run([docker, "volume", "ls", "-q", "--filter", f"name={name}_"]).stdout
        ),
        timeout=60,
        interval=1,
        what="SPUC's volume to be removed",
    )


def _left(docker: str, name: str) -> bool:
    label = f"label=com.docker.stack.namespace={name}"
    containers = run([docker, "ps", "-aq", "--filter", label]).stdout
    networks = run([docker, "network", "ls", "-q", "--filter", label]).stdout
    return bool(containers.strip() or networks.strip())


def _serves(url: str) -> bool:
    try:
        return requests.get(f"{url}/", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def visitor(url: str, number: int, location: str, brightness: str) -> int | str:
    """A new visitor (its own address, named by the outer proxy): the page, then the
    form. Its answer's status, or the error."""
    headers = {"X-Forwarded-For": f"10.9.{number // 250}.{number % 250 + 1}"}
    try:
        with requests.Session() as browser:
            browser.get(f"{url}/", headers=headers, timeout=30).close()
            with browser.post(
                f"{url}/sightings",
                data={"location": location, "brightness": brightness},
                headers={**headers, **SAME_SITE, "Origin": url},
                allow_redirects=False,
                timeout=30,
            ) as answer:
                return answer.status_code
    except requests.RequestException as exc:
        return f"{type(exc).__name__}: {exc}"


def test_replicas_on_a_swarm_lose_nothing_survive_a_kill_and_roll_one_at_a_time(stack):
    docker = stack.docker
    # SPUC's volume is new: its file does not exist, SPUC's first-write race is open.
    (spuc,) = stack.containers("spuc")
    assert run([docker, "exec", spuc, "ls", "-A", "/spuc/output"]).stdout == b""
    sightings = [(f"swarm test {i}, à & # + {i}", str(i % 9 + 1)) for i in range(VISITORS)]
    half = VISITORS // 2

    def visit(numbers: range) -> list[int | str]:
        with ThreadPoolExecutor(max_workers=6) as pool:
            return list(pool.map(lambda n: visitor(stack.url, n, *sightings[n]), numbers))

    # Half the visitors; then one replica is killed, and the other half come
    # while the swarm replaces it.
    statuses = visit(range(half))
    before = set(stack.containers("spucsvi"))
    killed = sorted(before)[0]
    run([docker, "kill", killed])
    statuses += visit(range(half, VISITORS))
    assert statuses == [303] * VISITORS, statuses

    found = records(stack.sightings_file())
    assert sorted(record_tail(r) for r in found) == sorted(
        f"{loc},{b},iuhc\n".encode() for loc, b in sightings
    )
    # One at a time across the replicas (one Redis lock): SPUC counted 1..24.
    assert [int(r.split(b",", 1)[0]) for r in found] == list(range(1, VISITORS + 1))

    # The swarm replaced the killed replica.
    replaced = wait_for(
        lambda: (now := set(stack.healthy("spucsvi"))) and len(now) == REPLICAS and now,
        timeout=240,
        interval=1,
        what="the swarm to replace the killed replica",
    )
    assert killed not in replaced

    # Each visitor was counted as itself, and the replicas shared the work.
    logs = stack.logs("spucsvi")
    posts = re.findall(r"^(\S+?)\s+\|.*remote=(\S+) request=\"POST /sightings", logs, re.M)
    assert len({remote for _, remote in posts}) == VISITORS, posts
    assert len({task for task, _ in posts}) >= 2, posts

    failures, asked, counts = _roll(stack)
    print(f"rolling update: {asked} requests, {len(failures)} failed: {failures[:5]}; {counts}")
    assert failures == [], failures
    # One new replica starting at a time, and never fewer healthy ones than asked for.
    assert max(starting for starting, _ in counts) == 1, counts
    assert min(healthy for _, healthy in counts) >= REPLICAS, counts


def _roll(stack: SwarmStack) -> tuple[list, int, Counter]:
    """`docker service update --image` to a new tag of the image, while a visitor
    asks for the page again and again: the failed requests, how many were made,
    and how often each (replicas starting, replicas healthy) was seen."""
    docker = stack.docker
    service = stack.service("spucsvi")
    spec = "{{.Spec.TaskTemplate.ContainerSpec.Image}}"
    image = run([docker, "service", "inspect", service, "--format", spec]).stdout.decode().strip()
    tag = f"spucsvi:swarm-roll-{secrets.token_hex(3)}"
    run([docker, "tag", image.split("@")[0], tag])
    failures: list = []
    requests_made = [0]
    seen: Counter = Counter()
    done = threading.Event()

    def ask() -> None:
        while not done.is_set():
            requests_made[0] += 1
            try:
                with requests.get(f"{stack.url}/", timeout=30) as page:
                    if page.status_code != 200:
                        failures.append(page.status_code)
            except requests.RequestException as exc:
                failures.append(type(exc).__name__)
            time.sleep(0.05)

    def watch() -> None:
        while not done.is_set():
            starting = len(stack.containers("spucsvi", "health=starting"))
            seen[(starting, len(stack.healthy("spucsvi")))] += 1
            time.sleep(0.5)

    threads = [threading.Thread(target=ask), threading.Thread(target=watch)]
    for thread in threads:
        thread.start()
    try:
        run(
            [docker, "service", "update", "--detach=false", "--quiet", "--image", tag, service],
            timeout=300,
        )
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        run([docker, "image", "rm", tag], check=False)
    tasks = [docker, "service", "ps", service, "--filter", "desired-state=running"]
    running = run([*tasks, "--format", "{{.Image}}"]).stdout.decode().split()
    assert running == [tag] * REPLICAS, running
    return failures, requests_made[0], seen
