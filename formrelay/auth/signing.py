"""Request signing (tenant -> API): FR2-HMAC-SHA256 over a canonical request.

Canonical string, 11 lines joined by "\\n": the algorithm name, timestamp, nonce,
METHOD, path, canonical query (pairs percent-encoded, then sorted), key id,
hex SHA-256 of the raw body, then the Content-Type, Idempotency-Key and
X-Correlation-Id values (trimmed; an empty line when absent): every header
that changes what the server does is signed. Signature = hex
HMAC-SHA256(secret, string).

A repeated signed header (API Gateway joins repeats with a comma) and a query
with a repeated key (two requests, one canonical query) are refused. The body
itself is not signed here: its digest is, and whoever holds the body (the
shared HTTP app, for every route) checks the digest.
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

ALGORITHM = "FR2-HMAC-SHA256"
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
CONTENT_TYPE_HEADER = "Content-Type"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
CORRELATION_ID_HEADER = "X-Correlation-Id"
# Optional request headers that change what the server does: their values are signed too.
BOUND_HEADERS = (CONTENT_TYPE_HEADER, IDEMPOTENCY_KEY_HEADER, CORRELATION_ID_HEADER)
DEFAULT_WINDOW_SECONDS = 300

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A control character would let one value pass for two lines of the canonical string.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of a raw body."""
    return hashlib.sha256(body).hexdigest()


def canonical_query(raw_query: str) -> str:
    """Query pairs decoded, re-encoded the one canonical way, then sorted."""
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def has_repeated_key(raw_query: str) -> bool:
    """Whether a key occurs twice once decoded (`a=1&a=2`, `a=1&%61=2`)."""
    keys = [key for key, _ in parse_qsl(raw_query, keep_blank_values=True)]
    return len(keys) != len(set(keys))


def bound_value(value: str | None) -> str:
    """A bound header's value as signed: trimmed of spaces and tabs, empty when absent."""
    return (value or "").strip(" \t")


@dataclass(frozen=True)
class SignedRequest:
    """What a request claims about itself in its signature and bound headers."""

    key_id: str
    timestamp: int
    nonce: str
    content_sha256: str
    signature: str
    content_type: str = ""
    idempotency_key: str = ""
    correlation_id: str = ""

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
                self.content_type,
                self.idempotency_key,
                self.correlation_id,
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
    content_type: str | None = None,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The five signature headers for a request (the client side).

    `content_type`, `idempotency_key` and `correlation_id` are the values of the
    request's Content-Type, Idempotency-Key and X-Correlation-Id headers exactly
    as they will be sent (None when the header is not sent). The request must
    send those headers once each and the query with each key once: the API
    refuses anything else.
    """
    bound = tuple(bound_value(v) for v in (content_type, idempotency_key, correlation_id))
    if any(_CONTROL.search(value) for value in bound):
        raise ValueError("a header value holds a control character")
    unsigned = SignedRequest(
        key_id=key_id,
        timestamp=int(time.time()) if timestamp is None else timestamp,
        nonce=nonce or secrets.token_urlsafe(18),
        content_sha256=body_sha256(body),
        signature="",
        content_type=bound[0],
        idempotency_key=bound[1],
        correlation_id=bound[2],
    )
    signature = _hmac(secret, unsigned.canonical_string(method, path, raw_query))
    return {
        KEY_ID_HEADER: unsigned.key_id,
        TIMESTAMP_HEADER: str(unsigned.timestamp),
        NONCE_HEADER: unsigned.nonce,
        CONTENT_SHA256_HEADER: unsigned.content_sha256,
        SIGNATURE_HEADER: signature,
    }


def _single_values(headers: Mapping[str, str]) -> dict[str, str]:
    """The signed and bound headers by lower-case name; SignatureError if one is repeated.

    API Gateway joins a repeated header's values with a comma, so a comma in one of
    these values is a repeat (none of them has a comma in a form the API accepts).
    """
    wanted = {name.lower() for name in (*SIGNED_HEADERS, *BOUND_HEADERS)}
    found: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in wanted:
            continue
        if lowered in found or "," in value:
            raise SignatureError(f"{name} is repeated")
        found[lowered] = value
    return found


def parse_signed_headers(headers: Mapping[str, str]) -> SignedRequest:
    """The signature and bound headers (names case-insensitive); SignatureError if malformed."""
    single = _single_values(headers)
    values = {name: single.get(name.lower(), "") for name in SIGNED_HEADERS}
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
    bound = {name: bound_value(single.get(name.lower())) for name in BOUND_HEADERS}
    if any(_CONTROL.search(value) for value in bound.values()):
        raise SignatureError("a bound header holds a control character")
    return SignedRequest(
        key_id=values[KEY_ID_HEADER],
        timestamp=int(values[TIMESTAMP_HEADER]),
        nonce=values[NONCE_HEADER],
        content_sha256=values[CONTENT_SHA256_HEADER],
        signature=values[SIGNATURE_HEADER],
        content_type=bound[CONTENT_TYPE_HEADER],
        idempotency_key=bound[IDEMPOTENCY_KEY_HEADER],
        correlation_id=bound[CORRELATION_ID_HEADER],
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
    """Raise SignatureError unless the request is fresh, unambiguous and signed by a secret."""
    if abs(now - request.timestamp) > window_seconds:
        raise SignatureError("timestamp outside the window")
    # API Gateway joins a repeated key's values in arrival order, but the canonical query
    # sorts them: `a=1&a=2` and `a=2&a=1` would share a signature and differ to the route.
    if has_repeated_key(raw_query):
        raise SignatureError("a query key is repeated")
    message = request.canonical_string(method, path, raw_query)
    matched = False
    for secret in secrets_to_try:
        # Check every secret: constant time per secret, and no early exit to time.
        matched |= hmac.compare_digest(_hmac(secret, message), request.signature)
    if not matched:
        raise SignatureError("signature does not verify")
