"""Behind a trusted proxy (FORWARDED_ALLOW_IPS), and behind the lesson's portal.

Over real HTTP: Debian's nginx terminates TLS in front of SPUCSVi (plain
gunicorn, `spucsvi serve`, waitress) and visitors come from distinct loopback
addresses. The portal tests run deploy/portal-nginx.conf itself with a stand-in
for Authelia.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import request

from spucsvi.settings import DEFAULT_SUBMIT_RATE, SettingsError, from_env
from tests.support.apps import make_app, post_sighting
from tests.support.nginx import NGINX, Answer, nginx, self_signed, visit
from tests.support.servers import (
    ROOT,
    ServerProcess,
    free_port,
    gunicorn,
    running,
    spucsvi_serve,
    waitress,
)

SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
needs_nginx = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="needs Debian's nginx: apt-get install nginx-light"
)
# The app's connection from nginx comes from 127.0.0.1; visitors from 127.0.0.2 on.
TRUST_NGINX = {"FORWARDED_ALLOW_IPS": "127.0.0.1", "SPUCSVI_SUBMIT_RATE": DEFAULT_SUBMIT_RATE}
PROXY_HEADERS = """
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_connect_timeout 2s;
        proxy_read_timeout 20s;"""
# TLS at nginx; `/` keeps the browser's Host; `/community/` serves the app under a
# path prefix and leaves Host to nginx (the app's address), naming the browser's in
# X-Forwarded-Host.
SITE = """
server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location / {{
        proxy_pass http://127.0.0.1:{app};
        proxy_set_header Host $http_host;{headers}
    }}
    location /community/ {{
        proxy_pass http://127.0.0.1:{app}/;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Prefix /community;{headers}
    }}
}}
"""

SERVERS: dict[str, Callable[..., ServerProcess]] = {
    "gunicorn": gunicorn,
    "spucsvi-serve": spucsvi_serve,
    # waitress removes X-Forwarded-* before the app sees them, unless told not to
    # (its own trusted_proxy stays unset: the app decides).
    "waitress": partial(waitress, extra_argv=["--no-clear-untrusted-proxy-headers"]),
}


def visitor(n: int) -> str:
    return f"127.0.0.{n}"


def sighting(n: int) -> dict[str, str]:
    return {"location": f"crater {n}", "brightness": "5"}


@contextlib.contextmanager
def behind_nginx(tmp_path: Path, app: ServerProcess) -> Iterator[tuple[str, Path]]:
    """(nginx's https URL, its certificate) in front of `app`."""
    with running(app):
        cert, key = self_signed(tmp_path / "tls")
        port, app_port = free_port(), int(app.url.rsplit(":", 1)[1])
        site = SITE.format(port=port, cert=cert, key=key, app=app_port, headers=PROXY_HEADERS)
        with running(nginx(tmp_path / "nginx", site, port)):
            yield f"https://127.0.0.1:{port}", cert


def templated(config: str, changes: dict[str, str]) -> str:
    """A shipped nginx config with only these (addresses, ports, paths) changed."""
    for old, new in changes.items():
        assert config.count(old) == 1, old
        config = config.replace(old, new)
    return config


def links(html: str) -> list[str]:
    return re.findall(r'(?:href|src|action)="([^"]*)"', html)


# --- the rule, through the app --------------------------------------------------


def proxied_client(spuc, tmp_path, allow: str, **config):
    app = make_app(spuc.url, tmp_path, FORWARDED_ALLOW_IPS=allow, **config)
    return app.test_client()


def as_the_app_sees_it(spuc, tmp_path, peer: str, headers: dict[str, str]) -> dict:
    """The request's client, scheme, host and path prefix, as a view reads them,
    behind proxies in 10.0.0.0/24."""
    app = make_app(spuc.url, tmp_path, FORWARDED_ALLOW_IPS="10.0.0.0/24")
    seen: dict[str, str] = {}

    @app.get("/whoami")
    def whoami():
        seen.update(
            address=request.remote_addr,
            scheme=request.scheme,
            host=request.host,
            root=request.script_root,
        )
        return ""

    app.test_client().get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": peer})
    return seen


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.2", "203.0.113.9", "203.0.113.9"),  # one trusted proxy
        ("10.0.0.2", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # a forged entry before it
        ("10.0.0.2", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two trusted proxies
        ("10.0.0.2", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # all trusted: the leftmost
        ("10.0.0.2", "203.0.113.9, not-an-address", "10.0.0.2"),  # nonsense: the last hop
        ("10.0.0.2", "2001:db8::1", "2001:db8::1"),
        ("10.0.0.2", "", "10.0.0.2"),
        ("192.0.2.50", "203.0.113.9", "192.0.2.50"),  # an untrusted peer: ignored
    ],
)
def test_the_client_is_the_last_untrusted_address(spuc, tmp_path, peer, forwarded, client):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert as_the_app_sees_it(spuc, tmp_path, peer, headers)["address"] == client


@pytest.mark.parametrize(
    ("peer", "seen"),
    [
        ("10.0.0.2", ("https", "public.example", "/outer")),  # two trusted hops
        ("192.0.2.50", ("http", "localhost", "")),  # an untrusted peer: ignored
    ],
)
def test_scheme_host_and_prefix_come_from_the_outermost_trusted_hop(spuc, tmp_path, peer, seen):
    headers = {
        "X-Forwarded-For": "203.0.113.9, 10.0.0.7",
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "public.example, inner:8080",
        "X-Forwarded-Prefix": "/outer, /inner",
    }
    app_saw = as_the_app_sees_it(spuc, tmp_path, peer, headers)
    assert (app_saw["scheme"], app_saw["host"], app_saw["root"]) == seen


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"X-Forwarded-Prefix": "//evil.example"}, 400), ({"X-Forwarded-Host": "a b/c"}, 200)],
)
def test_a_trusted_proxys_nonsense_prefix_is_refused_and_host_ignored(
    spuc, tmp_path, headers, status
):
    client = proxied_client(spuc, tmp_path, "10.0.0.2")
    answer = client.get("/", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert answer.status_code == status
    assert "evil" not in answer.text and "a b/c" not in answer.text


def test_a_server_speaking_tls_itself_keeps_https_whatever_the_headers(spuc, tmp_path):
    """The scheme comes from the connection: gunicorn's socket when there is one."""
    client = proxied_client(spuc, tmp_path, "")
    context = ssl.create_default_context()
    with (
        context.wrap_socket(socket.socket(), server_hostname="localhost") as tls,
        socket.socket() as plain,
    ):
        for sock, scheme in ((tls, "https"), (plain, "http")):
            answer = post_sighting(
                client,
                "moon",
                "3",
                headers={"X-Forwarded-Proto": "http" if scheme == "https" else "https"},
                environ_base={"gunicorn.socket": sock, "wsgi.url_scheme": "https"},
            )
            assert answer.status_code == 303
            assert ("; Secure" in answer.headers["Set-Cookie"]) == (scheme == "https")


def test_every_address_is_trusted_with_a_star_and_none_by_default():
    assert from_env({}).forwarded_allow_ips == ()
    everyone = from_env({"FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips
    assert [str(net) for net in everyone] == ["0.0.0.0/0", "::/0"]


@pytest.mark.parametrize("value", ["proxy", "10.0.0.1/24", "10.0.0.300", "10.0.0.0/8;"])
def test_a_bad_forwarded_allow_ips_is_refused_by_name(value):
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        from_env({"FORWARDED_ALLOW_IPS": value})


def test_a_trusted_proxy_names_the_user_and_anyone_else_cannot(spuc, tmp_path):
    client = proxied_client(spuc, tmp_path, "10.0.0.2", SPUCSVI_SUBMIT_RATE="2/minute")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    page = client.get("/", headers={"Remote-User": "<b>alice</b>"}, environ_base=proxy)
    assert "Reporting as <strong>&lt;b&gt;alice&lt;/b&gt;</strong>" in page.text
    assert "no-store" in page.headers["Cache-Control"]  # never a shared page
    forged = client.get(
        "/", headers={"Remote-User": "alice"}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
    )
    assert "Reporting as" not in forged.text

    def send(user: str, address: str) -> int:
        return post_sighting(
            client,
            "moon",
            "3",
            headers={"Remote-User": user},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    # Per user behind the proxy: every user has their own count.
    assert [send("alice", "10.0.0.2") for _ in range(3)] == [303, 303, 429]
    assert send("bob", "10.0.0.2") == 303
    # From an untrusted address the header is ignored: one count for the address.
    assert [send(f"user{n}", "192.0.2.1") for n in range(3)] == [303, 303, 429]


# --- over real HTTP, through nginx with TLS -------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("serve", SERVERS)
@needs_nginx
def test_forty_visitors_through_tls_are_each_counted_alone(tmp_path, spuc, serve):
    app = SERVERS[serve](tmp_path, spuc.url, env=TRUST_NGINX)
    with behind_nginx(tmp_path, app) as (url, cert):
        statuses = [
            visit(
                f"{url}/sightings",
                source=visitor(n),
                form=sighting(n),
                headers=SAME_SITE,
                cafile=cert,
            ).status
            for n in range(2, 42)
        ]
        assert statuses == [303] * 40
        # One address, a new forged X-Forwarded-For each time: still one address.
        forging = [
            visit(
                f"{url}/sightings",
                source=visitor(200),
                form=sighting(200),
                headers={**SAME_SITE, "X-Forwarded-For": f"198.51.100.{n}"},
                cafile=cert,
            ).status
            for n in range(45)
        ]
        assert forging == [303] * 30 + [429] * 15
        # ... and everyone else is still welcome.
        other = visit(
            f"{url}/sightings",
            source=visitor(201),
            form=sighting(201),
            headers=SAME_SITE,
            cafile=cert,
        )
        assert other.status == 303
        log = app.output()
    if serve == "spucsvi-serve":  # its access log reads the environ the app changed
        assert "remote=127.0.0.41 " in log and "remote=127.0.0.200 " in log
    recorded = spuc.data_file.read_text().splitlines()[1:]
    assert len(recorded) == 71


@pytest.mark.slow
@needs_nginx
def test_the_replicas_proxy_config_passes_the_visitor_on_and_nothing_else(tmp_path, spuc):
    """deploy/nginx.conf (compose.replicas.yml's), only its addresses changed."""
    env = {"FORWARDED_ALLOW_IPS": "127.0.0.1", "SPUCSVI_SUBMIT_RATE": "2/minute"}
    port = free_port()
    with running(app := spucsvi_serve(tmp_path, spuc.url, env=env)):
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        site = templated(
            site,
            {
                "server spucsvi:8322;": f"server 127.0.0.1:{app.url.rsplit(':', 1)[1]};",
                "listen 80;": f"listen 127.0.0.1:{port};",
            },
        )
        with running(nginx(tmp_path / "nginx", site, port, scheme="http")):
            url = f"http://127.0.0.1:{port}"
            forged = {**SAME_SITE, "X-Forwarded-For": "198.51.100.1", "Remote-User": "alice"}
            sent = [
                visit(
                    f"{url}/sightings", source=visitor(3), form=sighting(n), headers=forged
                ).status
                for n in range(3)
            ]
            assert sent == [303, 303, 429]
            assert (
                visit(
                    f"{url}/sightings", source=visitor(4), form=sighting(4), headers=SAME_SITE
                ).status
                == 303
            )
            page = visit(f"{url}/", source=visitor(3), headers={"X-Forwarded-Prefix": "/evil"})
            assert page.status == 200 and "/evil" not in page.text
            assert "Reporting as" not in visit(f"{url}/", headers={"Remote-User": "alice"}).text


def test_the_replicas_trust_the_network_compose_pins():
    compose = (ROOT / "compose.replicas.yml").read_text()
    (trusted,) = re.findall(r"^\s+- FORWARDED_ALLOW_IPS=(\S+)$", compose, re.MULTILINE)
    subnets = re.findall(r"^\s+- subnet: (\S+)$", compose, re.MULTILINE)
    assert trusted.split(",") == subnets == ["10.83.22.0/24"]


@pytest.mark.slow
@needs_nginx
def test_the_page_through_tls_links_nothing_over_http_and_its_cookie_is_secure(tmp_path, spuc):
    app = gunicorn(tmp_path, spuc.url, env=TRUST_NGINX)
    with behind_nginx(tmp_path, app) as (url, cert):
        page = visit(f"{url}/", source=visitor(7), cafile=cert)
        assert page.status == 200
        assert links(page.text) and not [ln for ln in links(page.text) if ln.startswith("http:")]
        sent = visit(
            f"{url}/sightings", source=visitor(7), form=sighting(7), headers=SAME_SITE, cafile=cert
        )
        assert sent.status == 303 and not sent.headers["Location"].startswith("http:")
        assert "; Secure" in sent.headers["Set-Cookie"]
        # Straight to the app from an untrusted address, the same headers count for nothing.
        direct = visit(
            f"{app.url}/sightings",
            source=visitor(8),
            form=sighting(8),
            headers={**SAME_SITE, "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/x"},
        )
        assert direct.status == 303 and direct.headers["Location"].startswith("/#")
        assert "Secure" not in direct.headers["Set-Cookie"]


@pytest.mark.slow
@needs_nginx
def test_a_path_prefix_from_x_forwarded_prefix_carries_through_links_and_redirects(tmp_path, spuc):
    app = spucsvi_serve(tmp_path, spuc.url, env=TRUST_NGINX)
    with behind_nginx(tmp_path, app) as (url, cert):
        page = visit(f"{url}/community/", source=visitor(9), cafile=cert)
        assert page.status == 200
        local = [ln for ln in links(page.text) if ln.startswith("/")]
        assert local and all(ln.startswith("/community/") for ln in local), local
        assert 'action="/community/sightings' in page.text
        # Host is nginx's view of the app here; X-Forwarded-Host is the browser's,
        # so a browser's Origin passes the cross-origin check.
        sent = visit(
            f"{url}/community/sightings",
            source=visitor(9),
            form=sighting(9),
            headers={"Origin": url},
            cafile=cert,
        )
        assert sent.status == 303, sent.text[:300]
        assert sent.headers["Location"].startswith("/community/")
        assert "Path=/community" in sent.headers["Set-Cookie"]
        cookie = sent.headers["Set-Cookie"].split(";", 1)[0]
        back = visit(
            f"https://127.0.0.1:{url.rsplit(':', 1)[1]}{sent.headers['Location'].split('#')[0]}",
            source=visitor(9),
            headers={"Cookie": cookie},
            cafile=cert,
        )
        assert "Unicorn sighting recorded!" in back.text
        forged = visit(
            f"{url}/community/sightings",
            source=visitor(9),
            form=sighting(10),
            headers={"Origin": "https://evil.example"},
            cafile=cert,
        )
        assert forged.status == 403


@pytest.mark.slow
def test_plain_gunicorn_trusting_loopback_by_default_does_not_decide_the_scheme(tmp_path, spuc):
    """gunicorn trusts 127.0.0.1 when FORWARDED_ALLOW_IPS is unset; the app trusts no one."""
    app = gunicorn(tmp_path, spuc.url)
    with running(app):
        sent = visit(
            f"{app.url}/sightings",
            form=sighting(1),
            headers={**SAME_SITE, "X-Forwarded-Proto": "https"},
        )
        assert sent.status == 303
        assert "Secure" not in sent.headers["Set-Cookie"]


# --- behind the lesson's portal (deploy/portal-nginx.conf) ----------------------

SESSIONS = {"alice-session": "alice", "bob-session": "bob"}
PORTAL = "https://auth.example.test/"


class StandInAuthelia(BaseHTTPRequestHandler):
    """Authelia's /api/authz/auth-request: 200 with Remote-User for a known session
    cookie, else 401 with where to sign in."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        cookies = dict(
            part.strip().split("=", 1)
            for part in self.headers.get("Cookie", "").split(";")
            if "=" in part
        )
        user = SESSIONS.get(cookies.get("authelia_session", ""))
        if self.path == "/api/authz/auth-request" and user:
            self.send_response(200)
            self.send_header("Remote-User", user)
        else:
            self.send_response(401)
            self.send_header("Location", PORTAL + "?rd=" + self.headers.get("X-Original-URL", ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def stand_in_authelia() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInAuthelia)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def portal_site(port: int, app_port: int, auth_port: int, cert: Path, key: Path) -> str:
    """deploy/portal-nginx.conf with only its addresses, port and certificates changed."""
    return templated(
        (ROOT / "deploy" / "portal-nginx.conf").read_text(),
        {
            "server spucsvi:8322;": f"server 127.0.0.1:{app_port};",
            "http://authelia:9091/": f"http://127.0.0.1:{auth_port}/",
            "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
            "/etc/nginx/certs/spucsvi.crt": str(cert),
            "/etc/nginx/certs/spucsvi.key": str(key),
        },
    )


@pytest.mark.slow
@needs_nginx
def test_behind_the_portal_each_user_has_their_own_limit_and_is_named(tmp_path, spuc):
    env = {"FORWARDED_ALLOW_IPS": "127.0.0.1", "SPUCSVI_SUBMIT_RATE": "3/minute"}
    app = spucsvi_serve(tmp_path, spuc.url, env=env)
    cert, key = self_signed(tmp_path / "tls")
    port = free_port()
    with stand_in_authelia() as auth_port:
        site = portal_site(port, int(app.url.rsplit(":", 1)[1]), auth_port, cert, key)
        with running(app, nginx(tmp_path / "nginx", site, port)):
            url = f"https://127.0.0.1:{port}"

            def as_user(session: str, path: str = "/", **kw) -> Answer:
                cookie = {"Cookie": f"authelia_session={session}"}
                return visit(
                    f"{url}{path}",
                    cafile=cert,
                    headers={**cookie, **SAME_SITE, **kw.pop("headers", {})},
                    **kw,
                )

            stranger = visit(f"{url}/", cafile=cert)
            assert stranger.status == 302 and stranger.headers["Location"].startswith(PORTAL)
            refused = as_user("nobody", "/sightings", form=sighting(1))
            assert refused.status == 302

            page = as_user("alice-session")
            assert page.status == 200 and "Reporting as <strong>alice</strong>" in page.text
            # A Remote-User sent by the browser is replaced by the portal's.
            forged = as_user(
                "alice-session", headers={"Remote-User": "bob", "X-Forwarded-Prefix": "/evil"}
            )
            assert "Reporting as <strong>alice</strong>" in forged.text
            assert "/evil" not in forged.text

            # All from one address (127.0.0.1) through one proxy: counted per user.
            alice = [
                as_user("alice-session", "/sightings", form=sighting(n)).status for n in range(4)
            ]
            assert alice == [303, 303, 303, 429]
            bob = [as_user("bob-session", "/sightings", form=sighting(n)).status for n in range(2)]
            assert bob == [303, 303]
    assert len(spuc.data_file.read_text().splitlines()[1:]) == 5


@pytest.mark.slow
def test_without_a_trusted_proxy_remote_user_is_ignored(tmp_path, spuc):
    app = spucsvi_serve(tmp_path, spuc.url, env={"SPUCSVI_SUBMIT_RATE": "2/minute"})
    with running(app):
        page = visit(f"{app.url}/", headers={"Remote-User": "alice"})
        assert page.status == 200 and "Reporting as" not in page.text
        statuses = [
            visit(
                f"{app.url}/sightings",
                form=sighting(n),
                headers={**SAME_SITE, "Remote-User": f"user{n}"},
            ).status
            for n in range(3)
        ]
        assert statuses == [303, 303, 429]
