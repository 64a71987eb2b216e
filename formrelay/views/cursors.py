"""Listing cursors: opaque to clients, bound to their query, and signed so none can be forged.

A cursor carries where a page ended and the query it belongs to (tenant,
status, form, since), signed with HMAC-SHA256 under a key only the query
function can read (a Secrets Manager secret, see cursor_key.py). HMAC rather
than encryption: a position is the tenant's own data (a time and a submission
id), so it need not be hidden from the tenant, only kept from being edited or
made up, and HMAC needs nothing beyond the standard library.

A cursor that does not verify, or that was given out for another query
(another tenant's, status's, form's or since's), is refused before anything
reaches DynamoDB. What a verified cursor holds is checked for its exact shape
too, by the listing, which rebuilds the start key from it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping

from formrelay.views.errors import InvalidCursorError

# base64url of the payload (JSON), a dot, base64url of its 32-byte HMAC; no padding.
_CURSOR = re.compile(r"([A-Za-z0-9_-]{2,1400})\.([A-Za-z0-9_-]{43})")
# Bound into every signature, so no other signature made with the key can pass as a cursor.
_PURPOSE = b"formrelay listing cursor v1\n"
_VERSION = 1

Scope = Mapping[str, str | None]
Position = dict[str, str]


class CursorSigner:
    """Seals a page's end position with the query it belongs to, and opens only what it sealed."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        """key: the signing key, fetched when first needed (a listing of one page needs none)."""
        self._key = key

    def seal(self, scope: Scope, position: Position) -> str:
        """The cursor of `position` within the query `scope`."""
        payload = json.dumps(
            {"v": _VERSION, "scope": dict(scope), "position": position},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        return f"{_encode(payload)}.{_encode(self._mac(payload))}"

    def open(self, cursor: str, scope: Scope) -> Position:
        """The position a cursor holds, if this signer sealed it for this very query."""
        match = _CURSOR.fullmatch(cursor)
        if match is None:
            raise InvalidCursorError()
        payload, mac = _decode(match.group(1)), _decode(match.group(2))
        if not hmac.compare_digest(self._mac(payload), mac):
            raise InvalidCursorError()
        document = json.loads(payload)  # ours: it verified
        if not isinstance(document, dict) or document.get("v") != _VERSION:
            raise InvalidCursorError()
        if document.get("scope") != dict(scope):
            # Another tenant's, status's, form's or since's cursor opens nothing here.
            raise InvalidCursorError()
        position = document.get("position")
        if not isinstance(position, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in position.items()
        ):
            raise InvalidCursorError()
        return dict(position)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key(), _PURPOSE + payload, hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    """The bytes of base64url text, if it is exactly how _encode writes them: of the texts
    that decode alike (the spare bits of the last character), only one is accepted."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # a length no encoding produces
        raise InvalidCursorError() from exc
    if _encode(raw) != text:
        raise InvalidCursorError()
    return raw
