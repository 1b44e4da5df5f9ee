"""A body shared by every visitor: the same bytes for a data version and URL.

Built once per snapshot and key, compressed once per encoding, answered with
a strong ETag (a hash of the bytes, so every worker and replica gives the
same one) and `304 Not Modified` to a browser that already has it.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field

from flask import Request, Response

GZIP_LEVEL = 6


@dataclass(eq=False)
class SharedBody:
    body: bytes
    mimetype: str
    etag: str = field(init=False)
    _gzipped: bytes | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.etag = hashlib.sha256(self.body).hexdigest()[:32]

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:  # two threads may both compress once: harmless
            self._gzipped = gzip.compress(self.body, GZIP_LEVEL, mtime=0)
        return self._gzipped

    def response(self, request: Request) -> Response:
        """This body as the request asks for it: gzip when accepted, 304 when current."""
        use_gzip = accepts(request, "gzip")
        etag = f"{self.etag}-gzip" if use_gzip else self.etag
        if request.if_none_match.contains(etag):
            response = Response(status=304)
        elif use_gzip:
            response = Response(self.gzipped, mimetype=self.mimetype)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = Response(self.body, mimetype=self.mimetype)
        response.set_etag(etag)
        response.vary.add("Accept-Encoding")
        response.encoding_negotiated = True  # type: ignore[attr-defined]  # see NegotiatedCompress
        # Shared: any cache may keep it, but must ask again before reusing it.
        response.cache_control.no_cache = True
        return response


def accepts(request: Request, encoding: str) -> bool:
    """Whether the client accepts `encoding`, honouring q-values (`gzip;q=0` is a no)."""
    return quality(request, encoding) > 0


def quality(request: Request, encoding: str) -> float:
    """The q-value the client's Accept-Encoding gives `encoding`: its own entry, else
    that of `*`, else 0 (RFC 9110 12.5.3: the most specific entry wins, so
    `gzip;q=0, *` refuses gzip; werkzeug's lookup would let `*` win)."""
    wildcard = 0.0
    for value, q in request.accept_encodings:
        if value.lower() == encoding:
            return q
        if value == "*":
            wildcard = q
    return wildcard
