"""Request signing (tenant -> API): FR1-HMAC-SHA256 over a canonical request.

Canonical string, lines joined by "\\n": the algorithm name, timestamp, nonce,
METHOD, path, canonical query (pairs percent-encoded, then sorted), key id,
hex SHA-256 of the raw body. Signature = hex HMAC-SHA256(secret, string).
The body itself is not signed here: its digest is, and whoever holds the
body (the ingest handler) checks the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from formrelay.domain.errors import SignatureError

ALGORITHM = "FR1-HMAC-SHA256"
KEY_ID_HEADER = "X-Fr-Key-Id"
TIMESTAMP_HEADER = "X-Fr-Timestamp"
NONCE_HEADER = "X-Fr-Nonce"
CONTENT_SHA256_HEADER = "X-Fr-Content-Sha256"
SIGNATURE_HEADER = "X-Fr-Signature"
SIGNED_HEADERS = (
    KEY_ID_HEADER,
    TIMESTAMP_HEADER,
    NONCE_HEADER,
    CONTENT_SHA256_HEADER,
    SIGNATURE_HEADER,
)
DEFAULT_WINDOW_SECONDS = 300

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of a raw body."""
    return hashlib.sha256(body).hexdigest()


def canonical_query(raw_query: str) -> str:
    """Query pairs decoded, re-encoded the one canonical way, then sorted."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


@dataclass(frozen=True)
class SignedRequest:
    """What a request claims about itself in its signature headers."""

    key_id: str
    timestamp: int
    nonce: str
    content_sha256: str
    signature: str

    def canonical_string(self, method: str, path: str, raw_query: str) -> str:
        """The string this request's signature must be over."""
        return "\n".join(
            (
                ALGORITHM,
                str(self.timestamp),
                self.nonce,
                method.upper(),
                path,
                canonical_query(raw_query),
                self.key_id,
                self.content_sha256,
            )
        )


def _hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_request(
    *,
    key_id: str,
    secret: str,
    method: str,
    path: str,
    raw_query: str = "",
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The five signature headers for a request (the client side)."""
    unsigned = SignedRequest(
        key_id=key_id,
        timestamp=int(time.time()) if timestamp is None else timestamp,
        nonce=nonce or secrets.token_urlsafe(18),
        content_sha256=body_sha256(body),
        signature="",
    )
    signature = _hmac(secret, unsigned.canonical_string(method, path, raw_query))
    return {
        KEY_ID_HEADER: unsigned.key_id,
        TIMESTAMP_HEADER: str(unsigned.timestamp),
        NONCE_HEADER: unsigned.nonce,
        CONTENT_SHA256_HEADER: unsigned.content_sha256,
        SIGNATURE_HEADER: signature,
    }


def parse_signed_headers(headers: Mapping[str, str]) -> SignedRequest:
    """Read the signature headers (names case-insensitive); SignatureError if malformed."""
    lowered = {name.lower(): value for name, value in headers.items()}
    values = {name: lowered.get(name.lower(), "") for name in SIGNED_HEADERS}
    # API Gateway joins repeated headers with a comma: a repeated header is refused.
    if any("," in value for value in values.values()):
        raise SignatureError("a signature header is repeated")
    checks = (
        (KEY_ID_HEADER, _KEY_ID),
        (TIMESTAMP_HEADER, _TIMESTAMP),
        (NONCE_HEADER, _NONCE),
        (CONTENT_SHA256_HEADER, _HEX64),
        (SIGNATURE_HEADER, _HEX64),
    )
    for name, pattern in checks:
        if not pattern.fullmatch(values[name]):
            raise SignatureError(f"{name} is missing or malformed")
    return SignedRequest(
        key_id=values[KEY_ID_HEADER],
        timestamp=int(values[TIMESTAMP_HEADER]),
        nonce=values[NONCE_HEADER],
        content_sha256=values[CONTENT_SHA256_HEADER],
        signature=values[SIGNATURE_HEADER],
    )


def verify_signature(
    request: SignedRequest,
    *,
    method: str,
    path: str,
    raw_query: str,
    secrets_to_try: Iterable[str],
    now: float,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> None:
    """Raise SignatureError unless the request is fresh and signed by one of the secrets."""
    if abs(now - request.timestamp) > window_seconds:
        raise SignatureError("timestamp outside the window")
    message = request.canonical_string(method, path, raw_query)
    matched = False
    for secret in secrets_to_try:
        # Check every secret: constant time per secret, and no early exit to time.
        matched |= hmac.compare_digest(_hmac(secret, message), request.signature)
    if not matched:
        raise SignatureError("signature does not verify")
