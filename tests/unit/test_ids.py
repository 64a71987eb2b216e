"""uuid7 layout and ordering, and the strict identifier patterns."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest

from formrelay.domain import ids
from formrelay.domain.errors import InvalidIdentifierError
from formrelay.domain.ids import (
    FORM_ID,
    SUBMISSION_ID,
    TENANT_ID,
    check,
    new_id,
    tenant_of_key,
    uuid7,
)


def test_uuid7_has_version_7_and_the_rfc_variant() -> None:
    for _ in range(100):
        value = uuid7()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122


def test_uuid7_leads_with_the_current_unix_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    # The counter may borrow a millisecond or two when many ids are made in one
    assert before <= value.int >> 80 <= after + 2


def test_ten_thousand_ids_are_strictly_increasing_and_unique() -> None:
    values = [new_id() for _ in range(10_000)]
    assert values == sorted(values)  # string order is time order (lowercase hex)
    assert len(set(values)) == len(values)
    as_ints = [uuid.UUID(v).int for v in values]
    assert all(a < b for a, b in itertools.pairwise(as_ints))


def test_ids_stay_ordered_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given ids made at t, then the wall clock jumps one second into the past
    first = uuid7()
    monkeypatch.setattr(ids.time, "time_ns", lambda: (first.int >> 80) * 1_000_000 - 10**9)

    # Then new ids still sort after the earlier ones
    later = [uuid7() for _ in range(5000)]  # more than the 12-bit counter holds
    assert all(first.int < v.int for v in later)
    assert all(a.int < b.int for a, b in itertools.pairwise(later))


def test_tenant_of_key_is_the_part_before_the_dot() -> None:
    assert tenant_of_key("acme.0123456789abcdef") == "acme"
    assert tenant_of_key("a-b-9.ffffffffffffffff") == "a-b-9"


@pytest.mark.parametrize(
    "key_id",
    [
        "acme",  # no secret part
        "acme.0123456789abcde",  # 15 hex
        "acme.0123456789abcdef0",  # 17 hex
        "acme.0123456789ABCDEF",  # upper-case hex
        "Acme.0123456789abcdef",  # upper-case tenant
        "-acme.0123456789abcdef",  # leading hyphen
        "ac.me.0123456789abcdef",  # dot in tenant
        "acme.0123456789abcdef\n",  # trailing newline ($ would allow it)
        "",
    ],
)
def test_malformed_key_ids_have_no_tenant(key_id: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        tenant_of_key(key_id)


def test_check_returns_a_matching_value_and_refuses_others() -> None:
    assert check(TENANT_ID, "acme-42", "tenant id") == "acme-42"
    assert check(FORM_ID, "contact_us", "form id") == "contact_us"
    assert check(SUBMISSION_ID, "Order.2024-05_01", "submission id") == "Order.2024-05_01"
    for bad in ("a#S#b", "acme\n", "x" * 41, "ACME", "acme-"):
        with pytest.raises(InvalidIdentifierError):
            check(TENANT_ID, bad, "tenant id")
    with pytest.raises(InvalidIdentifierError):
        check(SUBMISSION_ID, "s#1", "submission id")
