"""The request class: form bodies decoded as UTF-8, invalid bytes made visible.

Werkzeug re-quotes invalid bytes in a urlencoded body (`%FF` arrives as the
literal text "%FF") or, for raw bytes, drops the whole form. Decoding with
replacement characters instead lets validation refuse the field by name,
with the visitor's other values kept.
"""

from __future__ import annotations

from typing import IO
from urllib.parse import parse_qsl

from flask import Request
from werkzeug.formparser import FormDataParser


class Utf8FormDataParser(FormDataParser):
    def _parse_urlencoded(
        self, stream: IO[bytes], mimetype: str, content_length: int | None, options: dict
    ):
        text = stream.read().decode("utf-8", "replace")
        items = parse_qsl(text, keep_blank_values=True, errors="replace")
        return stream, self.cls(items), self.cls()


class FormRequest(Request):
    form_data_parser_class = Utf8FormDataParser
