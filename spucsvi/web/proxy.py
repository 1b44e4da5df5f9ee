"""Trusted proxies: who the client is when a proxy stands in front.

A request whose connection comes from an address in FORWARDED_ALLOW_IPS (the
variable gunicorn and uvicorn read) takes from the proxy's headers:

- its client address from `X-Forwarded-For`: walking from the right, the first
  address that is not itself a trusted proxy (the leftmost when all are), as
  uvicorn does; each trusted hop on the way counts;
- its scheme, host and path prefix from `X-Forwarded-Proto`, `-Host` and
  `-Prefix`: the value set by the outermost trusted hop (counted from the right
  as those hops are; the only value when each proxy overwrites it);
- its user from `Remote-User` (Authelia's header) into REMOTE_USER.

From any other address none of these count, and REMOTE_USER is unset. Werkzeug's
ProxyFix counts hops instead of trusting addresses, so a client that reaches the
app directly could forge them; this middleware applies the address rule.

The WSGI environ is changed in place, before anything reads it, so everything
that reads `request.remote_addr`, `scheme`, `host`, `script_root` and
`remote_user` sees the result: the submission limit, gunicorn's access log
(which reads the same environ after the answer), the cross-origin check,
redirects, links and the `Secure` flag of cookies. gunicorn reads
FORWARDED_ALLOW_IPS too (trusting 127.0.0.1 when it is unset) and may have set
`wsgi.url_scheme` from the headers already; the scheme is taken here again from
the connection itself, so the app's rule is the one that decides.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Sequence

from spucsvi.addresses import Address, address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# host, host:port, [v6], [v6]:port: what a Host header may hold.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?", re.ASCII)
# The longest user name believed (a portal's names are short; the page escapes them).
MAX_USER = 128


class TrustedProxies:
    """WSGI middleware applying FORWARDED_ALLOW_IPS (`networks`) to every request."""

    def __init__(self, wsgi_app, networks: Sequence[Network]):
        self.wsgi_app = wsgi_app
        self.networks = tuple(networks)

    def __call__(self, environ, start_response):
        resolve(environ, self.networks)
        return self.wsgi_app(environ, start_response)


def resolve(environ: dict, networks: Sequence[Network]) -> None:
    """Set REMOTE_ADDR, wsgi.url_scheme, HTTP_HOST, SCRIPT_NAME and REMOTE_USER
    from a trusted proxy's headers, or to what the connection says."""
    environ["wsgi.url_scheme"] = connection_scheme(environ)
    environ.pop("REMOTE_USER", None)
    peer = address(environ.get("REMOTE_ADDR", ""))
    if peer is None or not trusted(peer, networks):
        return
    client, hops = peer, 1
    for entry in reversed(values(environ, "HTTP_X_FORWARDED_FOR")):
        hop = address(entry)
        if hop is None:  # not an address: the trusted hop before it is all we know
            break
        client = hop
        if not trusted(hop, networks):
            break
        hops += 1
    environ["REMOTE_ADDR"] = str(client)
    scheme = outermost(environ, "HTTP_X_FORWARDED_PROTO", hops).lower()
    if scheme in ("http", "https"):
        environ["wsgi.url_scheme"] = scheme
    host = outermost(environ, "HTTP_X_FORWARDED_HOST", hops)
    if _HOST.fullmatch(host):
        environ["HTTP_HOST"] = host
    prefix = outermost(environ, "HTTP_X_FORWARDED_PREFIX", hops)
    if prefix:
        environ["SCRIPT_NAME"] = prefix.rstrip("/")  # web/guards.py checks its shape
    user = user_name(environ.get("HTTP_REMOTE_USER", ""))
    if user:
        environ["REMOTE_USER"] = user


def connection_scheme(environ: dict) -> str:
    """The scheme of the connection itself. gunicorn may have set wsgi.url_scheme
    from a header (its own FORWARDED_ALLOW_IPS rule); its socket says the truth."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        return "https" if isinstance(sock, ssl.SSLSocket) else "http"
    return environ.get("wsgi.url_scheme", "http")


def trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def values(environ: dict, key: str) -> list[str]:
    """A comma-separated header's values (repeated headers arrive joined by commas)."""
    return [value.strip() for value in environ.get(key, "").split(",") if value.strip()]


def outermost(environ: dict, key: str, hops: int) -> str:
    """The value the outermost of `hops` trusted proxies set (each appends its own,
    the one nearest the app last), or the first when fewer are given; '' if none."""
    given = values(environ, key)
    if not given:
        return ""
    return given[-hops] if len(given) >= hops else given[0]


def user_name(raw: str) -> str | None:
    """The portal's user name (WSGI carries header bytes as latin-1), if sane."""
    try:
        name = raw.encode("latin-1").decode("utf-8").strip()
    except UnicodeError:
        return None
    if not name or len(name) > MAX_USER or not name.isprintable():
        return None
    return name
