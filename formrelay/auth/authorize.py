"""The authorizer's use case: who signed this request, and may they call this route?

Every refusal is the same answer to the caller (API Gateway's 403); the
reason goes to the log only, never to the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.auth.scopes import scopes_for_route
from formrelay.auth.signing import parse_signed_headers, verify_signature
from formrelay.domain.errors import FormrelayError, InvalidIdentifierError, SignatureError
from formrelay.domain.ids import tenant_of_key


class AccessDeniedError(FormrelayError):
    """The request may not pass; `reason` is for the log, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """Who a verified request acts for."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]

    def as_context(self) -> dict[str, str]:
        """The authorizer context API Gateway hands to the route's function."""
        return {
            "tenant_id": self.tenant_id,
            "key_id": self.key_id,
            "scopes": " ".join(sorted(self.scopes)),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, object]) -> Principal:
        """The principal back from an authorizer context."""
        return cls(
            tenant_id=str(context["tenant_id"]),
            key_id=str(context["key_id"]),
            scopes=frozenset(str(context.get("scopes", "")).split()),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """The parts of a request the authorizer sees (API Gateway gives it no body)."""

    route_key: str
    method: str
    path: str
    raw_query: str
    headers: Mapping[str, str]


def authorize(
    request: AuthorizationRequest,
    *,
    keys: KeyDirectory,
    nonces: NonceStore,
    now: float,
    window_seconds: int,
) -> Principal:
    """The principal of a well-signed, fresh, first-seen request; AccessDeniedError otherwise."""
    try:
        signed = parse_signed_headers(request.headers)
        tenant_id = tenant_of_key(signed.key_id)
    except (SignatureError, InvalidIdentifierError) as exc:
        raise AccessDeniedError(f"malformed signature headers: {exc}") from exc
    needed = scopes_for_route(request.route_key)
    key = keys.get(tenant_id, signed.key_id)
    if key is None or not key.active:
        raise AccessDeniedError("unknown or revoked key")
    if key.expired(now):
        raise AccessDeniedError("key expired")
    if not needed & key.scopes:
        raise AccessDeniedError(f"key holds none of the scopes {sorted(needed)}")
    try:
        verify_signature(
            signed,
            method=request.method,
            path=request.path,
            raw_query=request.raw_query,
            secrets_to_try=keys.secrets_for(tenant_id, signed.key_id),
            now=now,
            window_seconds=window_seconds,
        )
    except SignatureError as exc:
        raise AccessDeniedError(str(exc)) from exc
    # Only a verified request may use up a nonce: otherwise anyone could burn them.
    fresh = nonces.claim(
        tenant_id,
        signed.key_id,
        signed.nonce,
        now=int(now),
        expires_at=signed.timestamp + window_seconds + 1,
    )
    if not fresh:
        raise AccessDeniedError("nonce already used")
    return Principal(tenant_id=tenant_id, key_id=signed.key_id, scopes=key.scopes)
