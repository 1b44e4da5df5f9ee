"""A page joined from parts rendered once: the same bytes, and one valid gzip stream."""

from __future__ import annotations

import gzip
import zlib

from spucsvi.web.parts import Part, join, slots


def test_parts_go_where_their_slots_are_and_the_gzip_is_one_valid_stream():
    made = {"charts": Part("<div>" + "chart " * 20_000 + "</div>"), "list": Part("<option>")}
    marks = {name: slot.__html__() for name, slot in slots(made).items()}
    # Slots in the page in another order than the parts, and text around them.
    html = "<head>é" + marks["list"] + "<main>" * 300 + marks["charts"] + "</html>"
    body, gzip_page = join(html, made)
    gzipped = gzip_page()
    expected = "<head>é<option>" + "<main>" * 300 + "<div>" + "chart " * 20_000 + "</div></html>"
    assert body == expected.encode()
    assert gzip.decompress(gzipped) == body
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)  # one member, nothing after it
    assert stream.decompress(gzipped) == body and stream.eof and not stream.unused_data


def test_a_part_without_its_slot_is_left_out_and_lookalike_text_stays():
    made = {"charts": Part("<div>chart</div>")}
    lookalike = "\x00part:charts\x00"  # what SPUC could hold: not the process's marker
    body, gzip_page = join(f"<p>{lookalike}</p>", made)
    gzipped = gzip_page()
    assert body == f"<p>{lookalike}</p>".encode()
    assert gzip.decompress(gzipped) == body
