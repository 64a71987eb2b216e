"""Standard Webhooks v1 signatures on outgoing deliveries.

`webhook-signature` holds one `v1,<base64 HMAC-SHA256>` per active secret,
separated by spaces, over `{webhook-id}.{webhook-timestamp}.{body}`; the
secret is `whsec_` + base64 of the key bytes. During a rotation every
unexpired secret signs, so receivers on the old or the new secret both verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A fresh destination signing secret (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded)


def signature_header(
    secrets_to_sign_with: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> str:
    """The webhook-signature header value for a delivery."""
    to_sign = f"{message_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets_to_sign_with:
        digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode("ascii"))
    return " ".join(parts)
