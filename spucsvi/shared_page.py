"""A page shared by every visitor, compressed once, with each visitor's token spliced in.

Only the form's CSRF token differs between visitors, and it sits in the last
element of the page. The page up to it is gzip-compressed once per data
version and ended with a full flush, so a visitor's answer is that block, a
few compressed bytes for the rest, and the gzip trailer: the cost of
compressing 250 KB is paid once, not per view (the deflate stream is valid
because a full flush ends on a byte boundary with an empty dictionary).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

# Where the visitor's CSRF token goes in a page shared by every visitor.
TOKEN_SLOT = "spucsvi-form-token-slot"  # noqa: S105 - a marker, not a secret
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


@dataclass(frozen=True)
class SharedPage:
    head: bytes  # UTF-8, everything before the token's element
    tail: str  # the rest, holding TOKEN_SLOT once
    gzip_head: bytes  # gzip header + deflate blocks of `head`, full-flushed
    head_crc: int

    @classmethod
    def of(cls, html: str) -> SharedPage:
        cut = html.rindex(TOKEN_SLOT)
        cut = html.rindex("<", 0, cut)
        head = html[:cut].encode()
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
        return cls(head, html[cut:], _GZIP_HEADER + deflated, zlib.crc32(head))

    def plain(self, token: str) -> bytes:
        return self.head + self.tail.replace(TOKEN_SLOT, token).encode()

    def gzip(self, token: str) -> bytes:
        tail = self.tail.replace(TOKEN_SLOT, token).encode()
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(tail) + compressor.flush()
        size = (len(self.head) + len(tail)) & 0xFFFFFFFF
        return self.gzip_head + deflated + struct.pack("<II", zlib.crc32(tail, self.head_crc), size)
