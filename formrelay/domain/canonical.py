"""Canonical JSON: the one byte form of a value that hashes and signatures use.

Sorted keys, no insignificant white space, UTF-8, no NaN or infinities.
Python's float repr is the shortest round-tripping form, so a value parsed
back from canonical JSON canonicalises to the same bytes.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 bytes of a JSON value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
