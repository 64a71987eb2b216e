"""Canonical JSON: one byte form per value."""

from __future__ import annotations

import json

import pytest

from formrelay.domain.canonical import canonical_json


def test_keys_are_sorted_and_there_is_no_white_space() -> None:
    assert canonical_json({"b": 1, "a": [1, 2, {"d": None, "c": True}]}) == (
        b'{"a":[1,2,{"c":true,"d":null}],"b":1}'
    )


def test_key_order_of_the_input_does_not_matter() -> None:
    assert canonical_json({"x": 1, "y": 2}) == canonical_json({"y": 2, "x": 1})


def test_non_ascii_text_is_utf8_not_escaped() -> None:
    assert canonical_json({"name": "Zoë ✓"}) == '{"name":"Zoë ✓"}'.encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinities_are_refused(value: float) -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": value})


@pytest.mark.parametrize(
    "value",
    [0.1, 1.0, -0.0, 1e16, 1e-7, 123456789012345678901234567890, 2**53 + 1, "\u2028", [[]]],
)
def test_parsing_canonical_json_and_canonicalising_again_is_stable(value: object) -> None:
    once = canonical_json({"v": value})
    assert canonical_json(json.loads(once)) == once


def test_integers_and_floats_stay_distinct() -> None:
    assert canonical_json(1) == b"1"
    assert canonical_json(1.0) == b"1.0"
