"""RFC 8785 canonical JSON: known vectors, properties, and the values it must refuse."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from passport.canonical import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    canonical_digest,
    canonical_json,
    parse_canonical_json,
    parse_canonical_object,
    parse_json_strict,
    reference_canonical_json,
)
from passport.errors import (
    CanonicalJsonError,
    DocumentValidationError,
    JsonDuplicateKey,
    JsonEncodingError,
    JsonParseError,
    JsonSyntaxError,
    JsonTooDeep,
)

# JSON values JCS can carry: finite doubles, safe integers, any valid Unicode text.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


def test_rfc8785_appendix_b_style_vector() -> None:
    # Keys sorted by UTF-16 code units, no whitespace, shortest round-trip numbers, minimal escapes.
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "b": '\u20ac$\x0f\nA\'B"\\\\"/',
        "a": True,
    }
    assert canonical_json(value) == (
        b'{"a":true,"b":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/",'
        b'"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}'
    )


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F600 is a surrogate pair (0xD83D…) in UTF-16, so it sorts before U+FB33 (0xFB33).
    assert canonical_json({"\ufb33": 1, "\U0001f600": 2}) == '{"\U0001f600":2,"\ufb33":1}'.encode()


@given(json_values)
def test_canonical_is_idempotent_through_a_parse(value: Any) -> None:
    encoded = canonical_json(value)
    assert canonical_json(parse_json_strict(encoded)) == encoded
    assert parse_canonical_json(encoded) == parse_json_strict(encoded)


# Keys and numbers where the fast path's shortcuts end: non-ASCII keys (UTF-16 order), exponent
# thresholds of repr (1e-4, 1e16) and of JCS (1e-6, 1e21), negative zero, the safe-integer edges.
_edge_keys = st.sampled_from(["", "a", "B", "a_b", "\u00e9", "\ufb33", "\U0001f600", "\x7f", "\x00k"])
_edge_numbers = st.sampled_from(
    [0.0, -0.0, 1e-4, 9.9e-5, 1e-6, 1e-7, 1e16, 9.999999999999998e15, 1e21, 1e20, 5e-324, 2.0**53]
) | st.integers(-(2**53) - 2, 2**53 + 2)
_fast_path_values = st.recursive(
    json_scalars | _edge_numbers | st.tuples(json_scalars),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text() | _edge_keys, children, max_size=5)
        | st.dictionaries(_edge_keys, children, max_size=5)
    ),
    max_leaves=30,
)


@given(_fast_path_values)
@example({"\u00e9": 1, "z": [1.5, {"\U0001f600": None}]})
@example({"a": [-0.0, 1.0, 1e-4, 9.999999999999998e15, -(2**53) + 1], "b": "\x1f\u2028"})
@example([1e16, 1e-5, 2**53])
@example({"t": ["\ud800"]})
def test_fast_path_is_byte_identical_to_the_reference(value: Any) -> None:
    try:
        expected: bytes | list[tuple[str, str]] = reference_canonical_json(value)
    except CanonicalJsonError as refused:
        expected = refused.problems
    try:
        got: bytes | list[tuple[str, str]] = canonical_json(value)
    except CanonicalJsonError as refused:
        got = refused.problems
    assert got == expected  # the same bytes, or the same refusal naming the same path


@given(st.dictionaries(st.text(), json_scalars, max_size=8), st.randoms())
def test_equal_objects_give_equal_bytes_whatever_the_key_order(value: dict[str, Any], rnd: Any) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(value)
    assert canonical_digest(dict(items)) == canonical_digest(value)


def _json_model(value: Any) -> Any:
    """``value`` compared as JSON compares: Python has ``False == 0``, JSON's ``false`` is no number."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return {k: _json_model(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_model(v) for v in value]
    return value


@given(json_values, json_values)
@example(False, 0)
@example([True], [1.0])
def test_different_values_give_different_bytes(a: Any, b: Any) -> None:
    # JSON equality (1 == 1.0 in JSON's number model) is what canonical bytes must reflect.
    same = _json_model(parse_json_strict(canonical_json(a))) == _json_model(
        parse_json_strict(canonical_json(b))
    )
    assert (canonical_json(a) == canonical_json(b)) == same


@pytest.mark.parametrize(
    ("value", "path", "fragment"),
    [
        (math.nan, "$", "not a JSON number"),
        ({"a": [1, math.inf]}, "$.a[1]", "not a JSON number"),
        ({"a": -math.inf}, "$.a", "not a JSON number"),
        ({"big": 2**53}, "$.big", "outside"),
        ({"small": -(2**53)}, "$.small", "outside"),
        ({1: "x"}, "$", "not a string"),
        ({None: "x"}, "$", "not a string"),
        ({"b": b"bytes"}, "$.b", "bytes is not a JSON type"),
        ({"s": {1, 2}}, "$.s", "set is not a JSON type"),
        ({"d": __import__("decimal").Decimal("1.5")}, "$.d", "Decimal is not a JSON type"),
        ({"t": "\ud800"}, "$.t", "lone surrogate"),
        ({"\udfff": 1}, "$", "lone surrogate"),
        (object(), "$", "object is not a JSON type"),
    ],
)
def test_non_json_values_are_refused_with_their_path(value: Any, path: str, fragment: str) -> None:
    with pytest.raises(CanonicalJsonError) as info:
        canonical_json(value)
    assert isinstance(info.value, DocumentValidationError)
    assert info.value.problems[0][0].startswith(path)
    assert fragment in str(info.value)


def test_largest_safe_integers_are_fine() -> None:
    assert canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"a":1 }', "not in RFC 8785 canonical form"),
        (b'{"b":1,"a":2}', "not in RFC 8785 canonical form"),
        (b'{"a":1.0}', "not in RFC 8785 canonical form"),
        (b'{"a":"\\u0041"}', "not in RFC 8785 canonical form"),
        (b'{"a":1,"a":1}', "duplicate object key"),
        (b'{"a":NaN}', "NaN is not a JSON number"),
        (b"[Infinity]", "Infinity is not a JSON number"),
        (b'{"a":9007199254740993}', "not in RFC 8785 canonical form"),
        (b'{"a":9007199254740992}', None),
        (b'{"a":"\\ud800"}', "lone surrogate"),
        (b"\xff\xfe{}", "UTF-16"),
        (b'{"a":"\xff"}', "not UTF-8"),
        (b'{"a":', "invalid JSON"),
        (b"", "invalid JSON"),
    ],
)
def test_non_canonical_or_invalid_bytes_are_refused(data: bytes, fragment: str | None) -> None:
    if fragment is None:  # the control row: 2**53 is exactly a double, and JCS spells it this way
        assert parse_canonical_json(data) == {"a": 2.0**53}
        return
    with pytest.raises(CanonicalJsonError, match=fragment):
        parse_canonical_json(data)


def test_parse_json_accepts_any_spelling_but_not_duplicates() -> None:
    assert parse_json_strict(b' { "b" : 1.0 , "a" : [ ] } ') == {"a": [], "b": 1.0}
    with pytest.raises(CanonicalJsonError, match="duplicate"):
        parse_json_strict(b'{"a":{"x":1,"x":2}}')


@pytest.mark.parametrize(
    ("data", "kind", "fragment"),
    [
        (b'\xef\xbb\xbf{"a":1}', JsonEncodingError, "byte-order mark"),
        ('{"a":1}'.encode("utf-16"), JsonEncodingError, "UTF-16"),
        ('{"a":1}'.encode("utf-16-le"), JsonEncodingError, "UTF-16"),
        ('{"a":1}'.encode("utf-16-be"), JsonEncodingError, "UTF-16"),
        (b'{"a":"\xc3"}', JsonEncodingError, "not UTF-8"),
        (b'{"w":{"value":1.0,"value":999999.0}}', JsonDuplicateKey, "duplicate object key 'value'"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), JsonTooDeep, "nested too deeply"),
        (b'{"a":NaN}', JsonSyntaxError, "NaN"),
        (b'{"a":}', JsonSyntaxError, "line 1 column 6"),
    ],
)
def test_strict_parser_names_each_problem(data: bytes, kind: type[JsonParseError], fragment: str) -> None:
    with pytest.raises(kind, match=fragment) as info:
        parse_json_strict(data)
    assert isinstance(info.value, DocumentValidationError)
    assert info.value.problems[0][0] == "$"


def test_parse_canonical_object_wants_an_object() -> None:
    assert parse_canonical_object(b'{"a":[]}') == {"a": []}
    with pytest.raises(CanonicalJsonError, match="expected a JSON object"):
        parse_canonical_object(b"[1]")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(CanonicalJsonError, match="nested too deeply"):
        canonical_json(deep)
    with pytest.raises(CanonicalJsonError, match="nested too deeply"):
        parse_json_strict(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize("levels", [MAX_DEPTH, MAX_DEPTH + 1])
def test_depth_limit_is_the_same_for_encoding_and_parsing(levels: int) -> None:
    value: Any = {}
    for _ in range(levels - 1):
        value = [value]
    encoded = b"[" * (levels - 1) + b"{}" + b"]" * (levels - 1)
    if levels <= MAX_DEPTH:
        assert canonical_json(value) == encoded
        assert parse_canonical_json(encoded) == value
    else:
        with pytest.raises(CanonicalJsonError, match="nested too deeply"):
            canonical_json(value)
        with pytest.raises(CanonicalJsonError, match="nested too deeply"):
            parse_json_strict(encoded)


def test_brackets_inside_strings_do_not_count_towards_depth() -> None:
    # An escaped quote must not end the string early: the scan would then count the brackets after it.
    text = '{"a":"' + "[" * 500 + r'\"{"}'
    assert parse_canonical_json(text.encode()) == {"a": "[" * 500 + '"{'}
