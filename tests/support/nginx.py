"""Debian's nginx in front of a test server, terminating TLS, and visitors from
distinct loopback addresses (a client socket can bind to any of 127.0.0.0/8).

nginx runs as one process (`master_process off`, so it never switches user and
needs no root) with every file it writes in the test's folder, on a free port of
127.0.0.1, and is stopped like the other test servers (servers.ServerProcess).
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.support.servers import ServerProcess, child_env

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

MAIN = """\
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {site};
}}
"""


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "proxy.crt", folder / "proxy.key"
    subprocess.run(  # noqa: S603 - fixed arguments
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def nginx(
    workdir: Path,
    site: str,
    port: int,
    *,
    scheme: str = "https",
    connections: int = 512,
    open_files: tuple[int, int] | None = None,
) -> ServerProcess:
    """nginx serving `site` (the text of an `http {}`-level file, e.g. a server block
    listening on 127.0.0.1:`port`), once it accepts connections there; `connections`
    its worker_connections, `open_files` its limits of open files (soft, hard)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "site.conf").write_text(site)
    config = workdir / "nginx.conf"
    config.write_text(MAIN.format(dir=workdir, site=workdir / "site.conf", connections=connections))
    check = subprocess.run(  # noqa: S603 - our own config
        [NGINX, "-t", "-q", "-e", str(workdir / "error.log"), "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
    server = ServerProcess(
        [NGINX, "-e", str(workdir / "error.log"), "-c", str(config)],
        url=f"{scheme}://127.0.0.1:{port}",
        log=workdir / "nginx.log",
        env=child_env(),
        cwd=workdir,
        open_files=open_files,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise AssertionError(f"nginx exited:\n{(workdir / 'error.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise AssertionError("nginx did not accept connections within 20 s")


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str


def visit(
    url: str,
    *,
    source: str = "127.0.0.1",
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    cafile: Path | None = None,
    timeout: float = 10,
) -> Answer:
    """One request from the loopback address `source` (a POST when `form` is given),
    checking an https URL's certificate against `cafile`. Redirects are not followed."""
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 443)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            *address, timeout=timeout, source_address=(source, 0), context=context
        )
    else:
        connection = http.client.HTTPConnection(
            *address, timeout=timeout, source_address=(source, 0)
        )
    path = parts.path or "/"
    path += f"?{parts.query}" if parts.query else ""
    headers = dict(headers or {})
    body = None
    if form is not None:
        body = urlencode(form).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    try:
        connection.request("POST" if form is not None else "GET", path, body, headers)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read().decode())
    finally:
        connection.close()
