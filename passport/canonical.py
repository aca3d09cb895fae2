"""Canonical JSON (RFC 8785, JCS): the only byte form that is ever hashed, signed or content-addressed.

Two parties that hold equal JSON values must derive equal digests, whatever their JSON library, key
order or number formatting; JCS fixes all three. Values that JSON cannot carry faithfully (NaN, the
infinities, integers beyond ±(2**53 - 1), non-string keys, bytes, dates, lone surrogates) are refused
with the path of the offending value instead of being coerced, so a digest never silently covers a
different value than the caller meant.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from json.encoder import encode_basestring  # the C string encoder (when available)
from typing import Any, NoReturn, cast

import rfc8785

from passport.errors import (
    CanonicalJsonError,
    JsonDuplicateKey,
    JsonEncodingError,
    JsonParseError,
    JsonSyntaxError,
    JsonTooDeep,
)

# RFC 8785 §3.2.2.3 / I-JSON: numbers are IEEE 754 doubles, so only these integers round-trip exactly.
MAX_SAFE_INTEGER = 2**53 - 1
# CPython's C JSON scanner recurses on the C stack: deep enough input (a hostile bundle) crashes the
# process with a segfault instead of raising. Passport documents nest a handful of levels.
MAX_DEPTH = 200

# A JSON string literal, the loop unrolled: runs of plain characters match in one step, so a 500 kB
# ciphertext string costs ~30 ms, not ~300 ms with one alternation per character.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS_ONLY = {ord(c): None for c in ",:0123456789+-.eEtrufalsn \t\r\n"}


def _fail(path: str, reason: str) -> NoReturn:
    raise CanonicalJsonError(f"not canonical JSON at {path}: {reason}", problems=[(path, reason)])


def _check(value: object, path: str, depth: int = 0) -> None:
    """Walk ``value`` and raise on the first thing JCS cannot represent, naming its path."""
    # bool before int: bool is an int subclass, and both are fine.
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            _fail(path, f"integer {value} is outside ±(2**53 - 1); encode it as a string")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            _fail(path, f"{value} is not a JSON number")
        return
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _fail(path, "string contains a lone surrogate (not valid Unicode)")
        return
    if isinstance(value, list | tuple | dict) and depth >= MAX_DEPTH:
        # What parse_json_strict would refuse, canonical_json refuses too: every document we emit reads back.
        _fail(path, f"nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                _fail(path, f"object key {key!r} is a {type(key).__name__}, not a string")
            _check(key, f"{path}.<key {key!r}>")
            _check(item, f"{path}.{key}", depth + 1)
        return
    _fail(path, f"{type(value).__name__} is not a JSON type")


def reference_canonical_json(value: object) -> bytes:
    """RFC 8785 bytes from the ``rfc8785`` package (pure Python): what ``canonical_json`` is proven
    byte-identical to, and its fallback for everything the fast path leaves alone."""
    try:
        _check(value, "$")
        return rfc8785.dumps(cast(Any, value))  # checked by _check above
    except RecursionError:
        _fail("$", "nested too deeply")
    except rfc8785.CanonicalizationError as exc:  # _check should have caught it; keep the library's word
        _fail("$", str(exc))


def canonical_json(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``; raises ``CanonicalJsonError`` if not JSON.

    The common shapes (objects with ASCII keys, lists, strings, safe integers, plain doubles) take a
    fast path; anything else is encoded by ``reference_canonical_json``, so the bytes are always the
    reference's (a Hypothesis test compares the two on arbitrary JSON values).
    """
    parts: list[str] = []
    if _fast_into(value, parts, 0):
        try:
            return "".join(parts).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the reference names its path
            pass
    return reference_canonical_json(value)


def flat_canonical_json(value: object) -> bytes:
    """``canonical_json`` (kept for the device-reading callers; the fast path covers their shape)."""
    return canonical_json(value)


# -- the fast path --------------------------------------------------------------------------------
#
# ``rfc8785`` (pure Python) costs ~25 µs for a ten-field device reading and milliseconds for a passport,
# and every record is hashed, batched and re-checked, so that cost multiplies. For the values the
# ledger encodes, JCS reduces to: object keys in code-point order when they are ASCII (UTF-16 order is
# then the same), strings escaped exactly as CPython's C JSON encoder already does (``\b \t \n \f \r``,
# ``\"``, ``\\``, other controls as lowercase ``\u00xx``, nothing else), integers as decimal, and floats
# as the shortest round-trip digits — Python's ``repr`` — without a trailing ``.0``. Anything else
# (non-ASCII keys, floats ``repr`` writes with an exponent, subclasses such as enums, tuples,
# out-of-range integers, deep nesting) makes the fast path give up and the reference encodes (or
# refuses) the whole value.

_encode_str = encode_basestring


def _fast_into(value: object, out: list[str], depth: int) -> bool:
    """Append the canonical text of ``value`` to ``out``; False if the reference must encode it.

    Written for speed (a passport's sections are thousands of values): containers encode their string
    and null members inline instead of recursing for each, and an object's keys are checked as they
    are written.
    """
    kind = type(value)
    if kind is str:
        out.append(_encode_str(cast(str, value)))
    elif kind is dict:
        if depth >= MAX_DEPTH:
            return False
        mapping = cast(dict[Any, Any], value)
        try:
            keys = sorted(mapping)
        except TypeError:  # keys of mixed types: not JSON; the reference names the offending key
            return False
        append = out.append
        separator = "{"
        for key in keys:
            if type(key) is not str or not key.isascii():
                return False
            append(separator + _encode_str(key) + ":")
            item = mapping[key]
            if type(item) is str:
                append(_encode_str(item))
            elif item is None:
                append("null")
            elif not _fast_into(item, out, depth + 1):
                return False
            separator = ","
        append("}" if keys else "{}")
    elif kind is list:
        if depth >= MAX_DEPTH:
            return False
        append = out.append
        separator = "["
        items = cast(list[Any], value)
        for item in items:
            append(separator)
            if type(item) is str:
                append(_encode_str(item))
            elif item is None:
                append("null")
            elif not _fast_into(item, out, depth + 1):
                return False
            separator = ","
        append("]" if items else "[]")
    elif kind is float:
        text = repr(value)
        # repr uses exponents outside [1e-4, 1e16) (JCS switches at 1e-6 and 1e21) and spells nan/inf.
        if "e" in text or "n" in text:
            return False
        if text.endswith(".0"):
            text = text[:-2]
        if text == "-0":
            text = "0"
        out.append(text)
    elif kind is int:
        if not -MAX_SAFE_INTEGER <= cast(int, value) <= MAX_SAFE_INTEGER:
            return False
        out.append(str(value))
    elif kind is bool:
        out.append("true" if value else "false")
    elif value is None:
        out.append("null")
    else:
        return False
    return True


def canonical_digest(value: object) -> bytes:
    """SHA-256 of the canonical bytes of ``value``."""
    return hashlib.sha256(canonical_json(value)).digest()


def _refuse(kind: type[JsonParseError], reason: str, path: str = "$") -> NoReturn:
    raise kind(f"not strict JSON at {path}: {reason}", problems=[(path, reason)])


def _reject_constant(name: str) -> NoReturn:
    _refuse(JsonSyntaxError, f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Duplicate keys make a document mean different things to different parsers: refuse them.
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            _refuse(JsonDuplicateKey, f"duplicate object key {key!r}")
        result[key] = item
    return result


def _check_depth(text: str) -> None:
    depth = 0
    # Strings may hold brackets; drop them first, then count what is left.
    for char in _JSON_STRING.sub("", text).translate(_BRACKETS_ONLY):
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                _refuse(JsonTooDeep, f"nested too deeply (more than {MAX_DEPTH} levels)")
        elif char in "]}":
            depth -= 1


def _parse_int(literal: str) -> int | float:
    value = int(literal)
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return value
    # JSON numbers are doubles (RFC 8785 §3.2.2.3), and JCS spells a large double such as 2.0**53 or
    # 5.798049448914886e16 in integer digits, so read such a literal as the double it denotes, as
    # JavaScript does. A literal no double equals (9007199254740993) then fails the canonical check.
    return float(value)


def _decode(data: bytes) -> str:
    # RFC 8259 §8.1: JSON exchanged between systems is UTF-8 and carries no BOM. Name the usual
    # impostors rather than failing on their second byte.
    if data.startswith(b"\xef\xbb\xbf"):
        _refuse(JsonEncodingError, "starts with a UTF-8 byte-order mark; send UTF-8 without a BOM")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) >= 2 and 0 in data[:2]):
        _refuse(JsonEncodingError, "is UTF-16 or UTF-32; send UTF-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(JsonEncodingError, f"not UTF-8 ({exc.reason} at byte {exc.start})")


def parse_json_strict(data: bytes) -> Any:
    """Parse JSON that comes in from outside: the one parser every incoming document goes through.

    Strict: UTF-8 without a BOM, at most ``MAX_DEPTH`` levels (counted before the recursive parse, which
    would otherwise crash the process on hostile nesting), no duplicate keys, no NaN/Infinity; the form
    need not be canonical. Raises a ``JsonParseError`` subclass naming the problem.
    """
    text = _decode(data)
    _check_depth(text)
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_int=_parse_int, object_pairs_hook=_unique_keys
        )
    except RecursionError:
        _refuse(JsonTooDeep, "nested too deeply")
    except json.JSONDecodeError as exc:
        _refuse(JsonSyntaxError, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


def parse_canonical_json(data: bytes) -> Any:
    """Parse ``data`` and insist it is already in canonical form (byte-for-byte what JCS would emit).

    Stored documents are addressed by the digest of their bytes, so accepting a non-canonical spelling
    would let two byte strings (two CIDs, two digests) stand for one document.
    """
    value = parse_json_strict(data)
    if canonical_json(value) != data:
        _fail("$", "bytes are valid JSON but not in RFC 8785 canonical form")
    return value


def parse_canonical_object(data: bytes) -> dict[str, Any]:
    """Like ``parse_canonical_json`` but the top level must be a JSON object."""
    value = parse_canonical_json(data)
    if not isinstance(value, dict):
        _fail("$", f"expected a JSON object, got {type(value).__name__}")
    return value
