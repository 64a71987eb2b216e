"""Listing cursors: a cursor opens only for the query it was given out for, under the key that
sealed it, exactly as it was given; anything else is InvalidCursorError, never another error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formrelay.views.cursors import CursorSigner
from formrelay.views.errors import InvalidCursorError

KEY = b"k" * 64
SCOPE = {"tenant_id": "acme", "status": "delivered", "form_id": "contact", "since": None}
POSITION = {"after": "2026-12-01T10:00:00.000000Z#s-1", "submission_id": "s-1"}
CURSOR_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def signer(key: bytes = KEY) -> CursorSigner:
    return CursorSigner(lambda: key)


def test_a_cursor_opens_to_its_position_for_its_own_query() -> None:
    cursor = signer().seal(SCOPE, POSITION)

    assert signer().open(cursor, SCOPE) == POSITION


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenant_id", "rival"),
        ("status", "failed"),
        ("form_id", None),
        ("form_id", "other"),
        ("since", "2026-01-01T00:00:00Z"),
    ],
)
def test_a_cursor_opens_nothing_for_another_query(field: str, value: str | None) -> None:
    cursor = signer().seal(SCOPE, POSITION)

    with pytest.raises(InvalidCursorError):
        signer().open(cursor, {**SCOPE, field: value})


def test_a_cursor_sealed_under_another_key_is_refused() -> None:
    cursor = signer(b"x" * 64).seal(SCOPE, POSITION)

    with pytest.raises(InvalidCursorError):
        signer().open(cursor, SCOPE)


@settings(max_examples=300)
@given(data=st.data())
def test_any_one_character_changed_is_refused(data: st.DataObject) -> None:
    cursor = signer().seal(SCOPE, POSITION)
    index = data.draw(st.integers(0, len(cursor) - 1))
    replacement = data.draw(st.sampled_from(CURSOR_ALPHABET).filter(lambda c: c != cursor[index]))
    edited = cursor[:index] + replacement + cursor[index + 1 :]

    with pytest.raises(InvalidCursorError):
        signer().open(edited, SCOPE)


@settings(max_examples=300)
@given(text=st.one_of(st.text(max_size=200), st.text(alphabet=CURSOR_ALPHABET, max_size=200)))
def test_arbitrary_text_is_refused_and_nothing_else_is_raised(text: str) -> None:
    with pytest.raises(InvalidCursorError):
        signer().open(text, SCOPE)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        ".",
        "a.b",
        "eyJ2IjoxfQ." + "A" * 43,  # a payload with a signature of zeros
        "eyJ2IjoxfQ." + "A" * 44,
        "eyJ2IjoxfQ==." + "A" * 43,  # padding is never written
        "x" * 5000 + "." + "A" * 43,
    ],
)
def test_cursors_of_the_wrong_shape_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        signer().open(cursor, SCOPE)


def test_the_key_is_not_fetched_for_a_cursor_of_the_wrong_shape() -> None:
    def no_key() -> bytes:
        raise AssertionError("the key was fetched")

    with pytest.raises(InvalidCursorError):
        CursorSigner(no_key).open("garbage", SCOPE)
