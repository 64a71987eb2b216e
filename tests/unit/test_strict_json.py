"""Strict JSON parsing of request bodies: the shapes an attacker sends are refused."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from formrelay.domain.strict_json import MalformedJsonError, parse_body


def nested(depth: int) -> bytes:
    """An array nested `depth` levels deep: [[[...]]]."""
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize(
    "raw, value",
    [
        (b'{"email":"ada@example.com","name":"Ada"}', {"email": "ada@example.com", "name": "Ada"}),
        (b'{"n":[1,-2,3.5,1e3,true,false,null]}', {"n": [1, -2, 3.5, 1000.0, True, False, None]}),
        ('{"name":"Zoë \\u2713 😀"}'.encode(), {"name": "Zoë ✓ 😀"}),
        (b'{"pair":"\\ud83d\\ude00"}', {"pair": "😀"}),  # a surrogate pair is fine
        (b'  "just a string"  ', "just a string"),
        (b"[]", []),
    ],
)
def test_valid_documents_parse(raw: bytes, value: object) -> None:
    assert parse_body(raw) == value


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(MalformedJsonError, match="duplicate"):
        parse_body(b'{"amount":1,"amount":1000}')


def test_duplicate_keys_in_a_nested_object_are_refused() -> None:
    with pytest.raises(MalformedJsonError):
        parse_body(b'{"a":[{"x":1,"y":2,"x":3}]}')


def test_the_same_key_in_sibling_objects_is_fine() -> None:
    assert parse_body(b'[{"x":1},{"x":2}]') == [{"x": 1}, {"x": 2}]


@pytest.mark.parametrize("make", [nested, nested_objects])
def test_depth_32_is_accepted_and_33_refused(make: Callable[[int], bytes]) -> None:
    parse_body(make(32))
    with pytest.raises(MalformedJsonError, match="nesting"):
        parse_body(make(33))


def test_deep_nesting_does_not_crash_the_parser() -> None:
    with pytest.raises(MalformedJsonError):
        parse_body(nested(100_000))


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = json.dumps({"s": "[" * 100 + '\\"{' * 50})
    assert parse_body(text.encode())["s"].startswith("[[[")


def test_1000_keys_are_accepted_and_1001_refused() -> None:
    parse_body(json.dumps({f"k{i}": i for i in range(1000)}).encode())
    with pytest.raises(MalformedJsonError, match="keys"):
        parse_body(json.dumps({f"k{i}": i for i in range(1001)}).encode())


def test_keys_are_counted_across_the_whole_document() -> None:
    doc = [{f"k{i}": i for i in range(500)}, {f"k{i}": i for i in range(501)}]
    with pytest.raises(MalformedJsonError):
        parse_body(json.dumps(doc).encode())


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(constant: bytes) -> None:
    with pytest.raises(MalformedJsonError):
        parse_body(b'{"x":' + constant + b"}")


def test_a_float_that_overflows_to_infinity_is_refused() -> None:
    with pytest.raises(MalformedJsonError):
        parse_body(b'{"x":1e400}')


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\udfff", b"\\ude00\\ud83d"])
def test_lone_surrogate_escapes_are_refused(escape: bytes) -> None:
    with pytest.raises(MalformedJsonError, match="surrogate"):
        parse_body(b'{"x":"' + escape + b'"}')


def test_a_lone_surrogate_in_a_key_is_refused() -> None:
    with pytest.raises(MalformedJsonError):
        parse_body(b'{"\\ud800":1}')


@pytest.mark.parametrize(
    "raw",
    [
        b'{"x":"\xff"}',  # never valid in UTF-8
        b'{"x":"\xc3"}',  # truncated sequence
        b'{"x":"\xed\xa0\x80"}',  # an encoded surrogate
        b'{"x":"\xc0\xaf"}',  # overlong "/"
        '{"x":"é"}'.encode("latin-1"),
    ],
)
def test_invalid_utf8_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedJsonError, match="UTF-8"):
        parse_body(raw)


def test_numbers_of_100_digits_pass_and_101_are_refused() -> None:
    assert parse_body(b"[" + b"9" * 100 + b"]") == [int("9" * 100)]
    with pytest.raises(MalformedJsonError, match="digits"):
        parse_body(b"[" + b"9" * 101 + b"]")
    with pytest.raises(MalformedJsonError, match="digits"):
        parse_body(b"[0." + b"1" * 200 + b"]")


def test_a_huge_number_is_refused_quickly_not_converted() -> None:
    # int() of 100k digits is slow (and refused past 4300 digits by Python)
    with pytest.raises(MalformedJsonError, match="digits"):
        parse_body(b"[" + b"1" * 100_000 + b"]")


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"{'x':1}", b'{"x":1,}', b"[1,]", b'{"x":01}', b"\xef\xbb\xbf{}", b"{} {}"],
)
def test_syntax_errors_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedJsonError):
        parse_body(raw)
