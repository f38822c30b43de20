"""Decode a network's JSON into text that every database can store.

JSON may escape what no database column holds: a lone UTF-16 surrogate (``\\ud83d``, left by
a service that cut an emoji in half) cannot be encoded as UTF-8, and PostgreSQL's text refuses
``\\u0000``. One such string would fail the whole transaction that stores a poll, on every
retry, so the source would never advance. Decoding replaces a lone surrogate with U+FFFD and
drops NUL; everything else is left as it was.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["clean_text", "loads_clean"]

#: Only these escapes can put a surrogate or a NUL into decoded JSON: raw bytes cannot
#: (invalid UTF-8 and raw control characters are refused by the decoder).
_RISKY_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Return ``value`` with lone surrogates replaced by U+FFFD and NUL characters removed."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean(v) for k, v in value.items()}
    return value


def loads_clean(body: bytes | str) -> Any:
    """Decode JSON like :func:`json.loads`, with every string cleaned by :func:`clean_text`.

    Raises:
        ValueError: the body is not JSON (as :func:`json.loads`), or is nested deeper than the
            decoder's recursion limit (``[[[[...`` from a hostile or broken peer would otherwise
            raise RecursionError, which no caller expects from bad input).
    """
    try:
        data = json.loads(body)
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        if _RISKY_ESCAPE.search(raw) is None:
            return data
        return _clean(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
