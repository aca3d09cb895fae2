"""A fast path to RFC 8785 bytes for flat JSON objects (the shape of every device reading).

``passport.canonical.canonical_json`` (the ``rfc8785`` package, pure Python) costs ~25 µs for a
ten-field reading — half the per-record budget of the 20,000 records/s ingestion target. Readings are
flat objects of strings, numbers, booleans and nulls with ASCII keys, and for those JCS reduces to:
keys in code-point order (ASCII, so UTF-16 order is the same), strings escaped as Python's C JSON
encoder already does (``\\b \\t \\n \\f \\r``, ``\\"``, ``\\\\``, other controls as lowercase ``\\u00xx``,
nothing else), integers as decimal, and floats as the shortest round-trip digits — which is Python's
``repr`` — without a trailing ``.0``. Anything else (nested values, non-ASCII keys, floats that ``repr``
writes with an exponent, lone surrogates, out-of-range integers) falls back to ``canonical_json``, so
the result is always byte-identical to it (a Hypothesis test checks exactly that).
"""

from __future__ import annotations

from json.encoder import encode_basestring  # the C string encoder (when available)
from typing import Any

from passport.canonical import MAX_SAFE_INTEGER, canonical_json

_encode_str = encode_basestring


def _fast(value: dict[str, Any]) -> bytes | None:
    parts: list[str] = []
    for key in sorted(value):
        if type(key) is not str or not key.isascii():
            return None
        item = value[key]
        kind = type(item)
        if kind is str:
            text = _encode_str(item)
        elif kind is float:
            text = repr(item)
            # repr uses exponents outside [1e-4, 1e16) (JCS switches at 1e-6 and 1e21) and spells
            # nan/inf: leave all of those to the full implementation.
            if "e" in text or "n" in text:
                return None
            if text.endswith(".0"):
                text = text[:-2]
                if text == "-0":
                    text = "0"
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return None
            text = str(item)
        elif kind is bool:
            text = "true" if item else "false"
        elif item is None:
            text = "null"
        else:
            return None
        parts.append(f"{_encode_str(key)}:{text}")
    try:
        return ("{" + ",".join(parts) + "}").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: let canonical_json report it with its path
        return None


def flat_canonical_json(value: object) -> bytes:
    """Exactly ``canonical_json(value)``, faster when ``value`` is a flat object with ASCII keys."""
    if type(value) is dict:
        fast = _fast(value)
        if fast is not None:
            return fast
    return canonical_json(value)
