"""Every answer's content coding and ETag, chosen one way.

A body shared by every visitor (a page for a data version and URL, a static
asset) is a `SharedBody`: its bytes, a strong ETag (a hash of the bytes, so
every worker and replica gives the same one), and each encoding made once,
at most one per name in ENCODINGS. Any other answer (the API's JSON, a
visitor's own page, a download) goes through `encode_response`, which uses
the same choice of encoding (`choose`) and the same compressors.

A client's `Accept-Encoding` is read by RFC 9110: `gzip;q=0` refuses gzip,
and the most specific entry wins (`gzip;q=0, *` still refuses gzip).
"""

from __future__ import annotations

import gzip
import hashlib
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping

import brotli  # type: ignore[import-untyped]
from flask import Request, Response, request

if sys.version_info >= (3, 14):
    from compression import zstd
else:  # pragma: no cover - the backport until Python 3.14
    from backports import zstd

# The encodings offered, preferred in this order when the client rates them alike.
ENCODINGS = ("zstd", "br", "gzip")
# One level per encoding, for a body made once or for each answer alike. Measured
# here: plotly.js (1.2 MB) in 5 ms (zstd), 26 ms (br) and 39 ms (gzip), each as
# small as gzip -9 (about 400 KB); an 8 MB JSON download in 16 ms with zstd,
# against 88 ms at zstd's level 9.
LEVELS = {"zstd": 3, "br": 4, "gzip": 6}
COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/csv",
        "text/javascript",
        "text/plain",
        "application/json",
        "image/svg+xml",
    }
)
# Smaller bodies are sent as they are: compressing them saves nothing.
MIN_SIZE = 500
# A versioned asset (its URL changes with its bytes) may be kept for a year.
IMMUTABLE = 365 * 24 * 3600


class Negotiated(Response):
    """An answer whose encoding and ETag are already chosen (`SharedBody.response`)."""


class SharedBody:
    """The same bytes for everyone who asks, compressed once per encoding."""

    def __init__(
        self,
        body: bytes,
        mimetype: str,
        *,
        immutable: bool = False,
        encoders: Mapping[str, Callable[[], bytes]] | None = None,
    ):
        """`encoders` make the body in an encoding more cheaply than compressing it
        whole (a page joined from parts compressed before: web/parts.py)."""
        self.body, self.mimetype, self.immutable = body, mimetype, immutable
        self.etag = hashlib.sha256(body).hexdigest()[:32]
        self.compressible = mimetype in COMPRESSIBLE and len(body) >= MIN_SIZE
        self._encoded: dict[str, bytes] = {}
        self._encoders = dict(encoders or {})

    def encoded(self, encoding: str | None) -> bytes:
        """The body in `encoding` (None: as it is), made on first use."""
        if encoding is None:
            return self.body
        found = self._encoded.get(encoding)
        if found is None:  # two threads may both compress once: harmless
            encoder = self._encoders.get(encoding)
            found = encoder() if encoder else compress(self.body, encoding)
            self._encoded[encoding] = found
        return found

    def prepare(self) -> None:
        """Compress now in the encoding most browsers are given, before anyone asks."""
        if self.compressible:
            self.encoded(ENCODINGS[0])

    def response(self, request: Request) -> Response:
        """This body as the request asks for it: its encoding, 304 when current.

        Immutable (a versioned asset): any cache may keep it for a year. Otherwise
        any cache may keep it, but must ask again before reusing it."""
        encoding = choose(request) if self.compressible else None
        response = Negotiated(self.encoded(encoding), mimetype=self.mimetype)
        if self.immutable:
            response.cache_control.public = True
            response.cache_control.max_age = IMMUTABLE
            response.cache_control.immutable = True
        else:
            response.cache_control.no_cache = True
        return _labelled(response, request, self.etag, encoding, vary=self.compressible)


def encode_response(response: Response) -> Response:
    """After every request: compress an answer that is not a SharedBody's as the
    client accepts, and give a 200 that any cache may keep a strong ETag (so a
    repeated GET of the same JSON is a 304). A streamed answer is compressed as
    it streams and has no ETag."""
    if (
        isinstance(response, Negotiated)
        or response.mimetype not in COMPRESSIBLE
        or "Content-Encoding" in response.headers
        or not 200 <= response.status_code < 300
    ):
        return response
    encoding = choose(request)
    if response.is_streamed:
        response.vary.add("Accept-Encoding")
        if encoding is not None:
            response.response = compress_stream(response.iter_encoded(), encoding)
            response.headers["Content-Encoding"] = encoding
            response.headers.pop("Content-Length", None)
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        encoding = None
    response.set_data(compress(body, encoding) if encoding else body)
    cacheable = (
        response.status_code == 200
        and request.method in ("GET", "HEAD")
        and not response.cache_control.no_store
        and "Set-Cookie" not in response.headers
    )
    etag = hashlib.sha256(body).hexdigest()[:32] if cacheable else None
    return _labelled(response, request, etag, encoding, vary=True)


def _labelled(
    response: Response, request: Request, etag: str | None, encoding: str | None, *, vary: bool
) -> Response:
    """Say the encoding and the ETag of this encoding, and answer 304 when current."""
    if encoding is not None:
        response.headers["Content-Encoding"] = encoding
    if vary:
        response.vary.add("Accept-Encoding")
    if etag is None:
        return response
    response.set_etag(f"{etag}-{encoding}" if encoding else etag)
    response.make_conditional(request)
    return response


def choose(request: Request) -> str | None:
    """The encoding to send: of ENCODINGS, the one the client rates highest above 0
    (ties in ENCODINGS' order); None (as it is) when it accepts none, or rates
    `identity` higher by name."""
    best, best_q = None, 0.0
    for encoding in ENCODINGS:
        q = quality(request, encoding)
        if q > best_q:
            best, best_q = encoding, q
    if best is not None and _own_quality(request, "identity", default=0.0) > best_q:
        return None
    return best


def quality(request: Request, encoding: str) -> float:
    """The q-value the client's Accept-Encoding gives `encoding`: its own entry, else
    that of `*`, else 0 (RFC 9110 12.5.3: the most specific entry wins, so
    `gzip;q=0, *` refuses gzip; werkzeug's lookup would let `*` win)."""
    return _own_quality(request, encoding, default=_own_quality(request, "*", default=0.0))


def _own_quality(request: Request, name: str, *, default: float) -> float:
    for value, q in request.accept_encodings:
        if value.lower() == name:
            return q
    return default


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "zstd":
        return zstd.compress(body, LEVELS["zstd"])
    if encoding == "br":
        return brotli.compress(body, quality=LEVELS["br"])
    if encoding == "gzip":
        return gzip.compress(body, LEVELS["gzip"], mtime=0)
    raise ValueError(encoding)


def compress_stream(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """`chunks` compressed as they come: a download is never held whole in memory."""
    step, finish = _stream_compressor(encoding)
    for chunk in chunks:
        if out := step(chunk):
            yield out
    if out := finish():
        yield out


def _stream_compressor(encoding: str) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
    if encoding == "zstd":
        z = zstd.ZstdCompressor(level=LEVELS["zstd"])
        return z.compress, z.flush
    if encoding == "br":
        b = brotli.Compressor(quality=LEVELS["br"])
        return b.process, b.finish
    if encoding == "gzip":
        g = zlib.compressobj(LEVELS["gzip"], zlib.DEFLATED, zlib.MAX_WBITS | 16)
        return g.compress, g.flush
    raise ValueError(encoding)
