"""Does a key work? Ask the authorizer's use case with a fresh, well-signed request."""

from __future__ import annotations

import time

from formrelay.auth.authorize import AccessDeniedError, AuthorizationRequest, authorize
from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.auth.signing import sign_request

# A route every key with the read scope may call.
READ_ROUTE = "GET /v1/submissions/{submission_id}"
READ_PATH = "/v1/submissions/any"


def authorized_tenant(
    keys: KeyDirectory, nonces: NonceStore, key_id: str, secret: str
) -> str | None:
    """The tenant a GET signed now with this key and secret acts for; None if it is refused."""
    now = int(time.time())
    headers = sign_request(
        key_id=key_id, secret=secret, method="GET", path=READ_PATH, timestamp=now
    )
    request = AuthorizationRequest(READ_ROUTE, "GET", READ_PATH, "", headers)
    try:
        return authorize(request, keys=keys, nonces=nonces, now=now, window_seconds=300).tenant_id
    except AccessDeniedError:
        return None
