"""The shared page: compressed once, each visitor's token spliced into valid gzip."""

import gzip
import zlib

import pytest

from spucsvi.shared_page import TOKEN_SLOT, SharedPage

HTML = (
    "<!doctype html><html><body><h1>Unicörns</h1>"
    + "<p>moon, crater</p>" * 2000
    + f'<input type="hidden" name="csrf_token" value="{TOKEN_SLOT}" form="f">\n</body></html>'
)


@pytest.mark.parametrize("token", ["abc.def-123", "x" * 120])
def test_gzip_answer_decompresses_to_the_plain_page_with_the_token(token):
    page = SharedPage.of(HTML)
    expected = HTML.replace(TOKEN_SLOT, token).encode()
    assert page.plain(token) == expected
    assert gzip.decompress(page.gzip(token)) == expected
    # Strict single-member gzip, as browsers inflate it.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(page.gzip(token)) == expected
    assert decoder.eof and decoder.unused_data == b""


def test_the_compressed_head_is_shared_and_the_answer_small():
    page = SharedPage.of(HTML)
    one, two = page.gzip("token-one"), page.gzip("token-two")
    assert one.startswith(page.gzip_head) and two.startswith(page.gzip_head)
    assert one != two
    assert len(one) < len(HTML) // 20


def test_a_page_without_the_slot_is_refused():
    with pytest.raises(ValueError):
        SharedPage.of("<html></html>")
