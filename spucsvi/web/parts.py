"""A page made of parts, each rendered and compressed once for what it depends on.

Most of the dashboard's bytes are its charts' figures, which depend on the
filter only, not on the table's page or sort. A part is rendered once per
snapshot and filter and kept compressed as raw deflate blocks ending on a
byte boundary (a sync flush), so a page asked for the first time compresses
only what is its own and joins the parts' blocks into one gzip stream
(RFC 1951 3.2.3: blocks follow one another; RFC 1952: one member, its CRC-32
and length over the whole page).
"""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Callable, Sequence
from functools import cached_property

GZIP_LEVEL = 6
# A gzip member's header: deflate, no name, time 0, any OS.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# An empty last block (fixed Huffman codes), which ends the deflate stream.
LAST_BLOCK = b"\x03\x00"
_NONCE = secrets.token_hex(16)


def deflated(data: bytes) -> bytes:
    """`data` as raw deflate blocks, none of them the last, ending on a byte boundary."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


class Part:
    """HTML made once, put into pages as it stands (rendered by Jinja: escaped)."""

    def __init__(self, html: str) -> None:
        self.html = html

    def __html__(self) -> str:
        return self.html

    @property
    def body(self) -> bytes:
        return self.html.encode()  # not kept: a cached page holds the bytes already

    @cached_property
    def deflated(self) -> bytes:  # two threads may both compress once: harmless
        return deflated(self.body)


class Slot:
    """Where a part goes, rendered as a marker that `join` replaces by the part;
    unguessable, so that no text SPUC holds can pose as one."""

    def __init__(self, name: str) -> None:
        self.marker = f"\x00{_NONCE}:{name}\x00"

    def __html__(self) -> str:
        return self.marker


def join(html: str, parts: dict[str, Part]) -> tuple[bytes, Callable[[], bytes]]:
    """A page rendered with `slots(parts)` as its bytes, and what gzips them reusing
    the parts' compressed blocks."""
    found = sorted(
        (html.find(Slot(name).marker), Slot(name).marker, part) for name, part in parts.items()
    )
    pieces: list[bytes | Part] = []
    done = 0
    for at, marker, part in found:
        if at >= 0:
            pieces += [html[done:at].encode(), part]
            done = at + len(marker)
    pieces.append(html[done:].encode())
    body = [piece.body if isinstance(piece, Part) else piece for piece in pieces]
    return b"".join(body), lambda: gzipped(body, pieces)


def slots(parts: dict[str, Part]) -> dict[str, Slot]:
    return {name: Slot(name) for name in parts}


def gzipped(body: Sequence[bytes], pieces: Sequence[bytes | Part]) -> bytes:
    """One gzip member of the pieces' bytes (`body`), a part's blocks reused."""
    crc, size, blocks = 0, 0, [GZIP_HEADER]
    for data, piece in zip(body, pieces, strict=True):
        blocks.append(piece.deflated if isinstance(piece, Part) else deflated(data))
        crc, size = zlib.crc32(data, crc), size + len(data)
    blocks += [LAST_BLOCK, struct.pack("<II", crc, size & 0xFFFFFFFF)]
    return b"".join(blocks)
