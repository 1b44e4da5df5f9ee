"""Cross-origin protection for every unsafe request, and security headers.

No tokens: browsers say where a request comes from. The rule is the one Go
1.25's `net/http.CrossOriginProtection` implements: safe methods pass;
`Sec-Fetch-Site: same-origin` or `none` passes and any other value is
refused; without it, an `Origin` whose host differs from the request's
`Host` is refused; with neither header (curl, scripts: no browser, no
ambient credentials to abuse) the request passes. Origins listed in
SPUCSVI_TRUSTED_ORIGINS pass too, for proxies that rewrite `Host`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, request
from werkzeug.exceptions import Forbidden

from spucsvi.web import services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# plotly.js draws SVG traces and adds <style> elements for its own rules;
# scripts stay strictly 'self' (no inline code, no eval).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class CrossOriginRequest(Forbidden):
    description = (
        "This request came from another web site, so nothing was sent to SPUC. "
        "To report a sighting, use the form on this site."
    )


def refuse_cross_origin() -> None:
    """Raise CrossOriginRequest for an unsafe request sent by a browser from another site."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site", "")
    if site in ("same-origin", "none"):
        return
    origin = request.headers.get("Origin", "")
    trusted = origin in services.settings().trusted_origins
    if site:
        if not trusted:
            raise CrossOriginRequest()
        return
    if not origin or trusted:
        return
    try:
        host = urlsplit(origin).netloc
    except ValueError:
        host = ""
    if host.lower() != request.host.lower():
        raise CrossOriginRequest()


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
