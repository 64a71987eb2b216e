"""Identifiers: uuid7 (RFC 9562) and the strict patterns every id must match.

Python 3.11 has no uuid7 in the standard library; the layout is short enough
to write here: 48 bits of unix milliseconds, version 7, 12 bits of a
monotonic counter seeded at random, variant 10, 62 random bits.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

from formrelay.domain.errors import InvalidIdentifierError

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A time-ordered UUID, monotonic within this process."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= _counter << 64
        value |= 0b10 << 62
        value |= rand_b
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new uuid7 as its canonical string."""
    return str(uuid7())


TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
FORM_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
DESTINATION_ID = FORM_ID
SUBMISSION_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")
KEY_ID = re.compile(r"^([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)\.([a-f0-9]{16})$")


def check(pattern: re.Pattern[str], value: str, what: str) -> str:
    """Return value if it matches pattern, else raise InvalidIdentifierError."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidIdentifierError(f"{what} does not match {pattern.pattern}")
    return value


def tenant_of_key(key_id: str) -> str:
    """The tenant a key id belongs to: key ids are `<tenant>.<16 hex>`."""
    match = KEY_ID.fullmatch(key_id) if isinstance(key_id, str) else None
    if match is None:
        raise InvalidIdentifierError("key id is not of the form <tenant>.<16 hex>")
    return match.group(1)
