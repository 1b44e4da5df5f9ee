"""Flask's JSON provider on orjson: `jsonify` and `|tojson` serialise large
figure dicts several times faster (benchmarks/README.md), escaped as usual.

Every time in every JSON answer is written one way, by `dumps` here: times are
UTC (naive datetimes are, throughout), in ISO 8601 with a `Z`, for example
`2026-11-27T18:02:00.027188Z`."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

# How orjson writes a datetime: a naive one is UTC and says so with "Z".
OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def dumps(obj: Any) -> bytes:
    """`obj` as JSON bytes; for a download's batches as well as `jsonify`."""
    return orjson.dumps(obj, option=OPTIONS)


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=OPTIONS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
