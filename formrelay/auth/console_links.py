"""Console links: a short-lived key, and the URL that opens the console with it.

A link is an ordinary key (KeyDirectory.create, as `formrelay keys create` makes
one) with an expiry; the console signs every request with it, so it passes the
same authorizer, scopes, nonces and rate limits as any client, and revoking the
key or its expiry ends the session. The URL carries the secret in its fragment
(`<api>/console/#k=<key id>&s=<secret>&scopes=read,audit,submit`), which browsers
never send to a server; the scopes there only tell the console what to offer (the
API still checks every request against the key's own scopes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from formrelay.auth import scopes as scope_names
from formrelay.domain.clock import rfc3339
from formrelay.domain.durations import parse_duration
from formrelay.domain.errors import ConsoleLinkScopeError, InvalidConsoleLinkError
from formrelay.domain.strict_json import parse_body

if TYPE_CHECKING:
    from formrelay.auth.keys import KeyDirectory

CONSOLE_PATH = "/console/"
DEFAULT_SCOPES = frozenset({scope_names.READ, scope_names.AUDIT, scope_names.SUBMIT})
DEFAULT_TTL_SECONDS = 3600
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 12 * 3600
# The order a link's fragment names its scopes in.
_SCOPE_ORDER = (scope_names.READ, scope_names.AUDIT, scope_names.SUBMIT, scope_names.ADMIN)
# What a POST /v1/console-links body may hold.
_FIELDS = frozenset({"scopes", "ttl"})


@dataclass(frozen=True)
class ConsoleLinkRequest:
    """What a console link is asked for with: its scopes and how long it lasts."""

    scopes: frozenset[str] = DEFAULT_SCOPES
    ttl_seconds: int = DEFAULT_TTL_SECONDS


@dataclass(frozen=True)
class ConsoleLink:
    """A made link: the URL (with the secret, shown once) and its key's metadata."""

    url: str
    key_id: str
    scopes: frozenset[str]
    expires_at: int  # unix seconds

    def as_dict(self) -> dict[str, Any]:
        """The link as the API and `formrelay console-link --json` answer it."""
        return {
            "url": self.url,
            "key_id": self.key_id,
            "scopes": sorted(self.scopes),
            "expires_at": rfc3339(datetime.fromtimestamp(self.expires_at, tz=UTC), "seconds"),
        }


def link_scopes(names: Iterable[str]) -> frozenset[str]:
    """A link's scopes: known ones, read or audit among them; InvalidConsoleLinkError if not."""
    scopes = frozenset(names)
    if not scopes or scopes - scope_names.ALL_SCOPES:
        raise InvalidConsoleLinkError(
            f"scopes must be a non-empty subset of {sorted(scope_names.ALL_SCOPES)}"
        )
    # The console reads before anything else, and takes a refused read for a link that
    # expired or was revoked: a link that can read nothing would only ever show that.
    if not scopes & {scope_names.READ, scope_names.AUDIT}:
        raise InvalidConsoleLinkError("a console link holds the read or the audit scope")
    return scopes


def link_ttl(seconds: float) -> int:
    """A link's time to live in whole seconds, between 60 s and 12 h."""
    if not math.isfinite(seconds) or not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        raise InvalidConsoleLinkError(
            f"a console link lives between {MIN_TTL_SECONDS} s and {MAX_TTL_SECONDS // 3600} h"
        )
    return int(seconds)


def parse_ttl(text: str) -> int:
    """A ttl written as a duration (`90s`, `30m`, `1h`), held to the bounds."""
    try:
        return link_ttl(parse_duration(text))
    except ValueError as exc:
        raise InvalidConsoleLinkError(f"ttl: {exc}") from exc


def parse_request(body: bytes) -> ConsoleLinkRequest:
    """A POST /v1/console-links body: `{"scopes": [...], "ttl": "1h"}`, both optional."""
    if not body.strip():
        return ConsoleLinkRequest()
    document = parse_body(body)
    if not isinstance(document, dict):
        raise InvalidConsoleLinkError("the body must be a JSON object")
    unknown = set(document) - _FIELDS
    if unknown:
        raise InvalidConsoleLinkError(
            f"unknown fields {sorted(unknown)}: the body may hold only scopes and ttl"
        )
    scopes, ttl = document.get("scopes", sorted(DEFAULT_SCOPES)), document.get("ttl", "1h")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise InvalidConsoleLinkError("scopes must be an array of scope names")
    if not isinstance(ttl, str):
        raise InvalidConsoleLinkError('ttl must be a duration string such as "90s", "30m" or "1h"')
    return ConsoleLinkRequest(link_scopes(scopes), parse_ttl(ttl))


def console_url(api_endpoint: str, key_id: str, secret: str, scopes: Iterable[str]) -> str:
    """`<api>/console/#k=<key id>&s=<secret>&scopes=read,...`: the secret in the fragment only.

    The scopes are a hint for the console (which actions to offer), in a fixed order.
    """
    held = set(scopes)
    names = [s for s in _SCOPE_ORDER if s in held] + sorted(held - set(_SCOPE_ORDER))
    return (
        f"{api_endpoint.rstrip('/')}{CONSOLE_PATH}"
        f"#k={quote(key_id, safe='')}&s={quote(secret, safe='')}"
        f"&scopes={quote(','.join(names), safe=',')}"
    )


def create_console_link(
    keys: KeyDirectory,
    tenant_id: str,
    api_endpoint: str,
    *,
    now: float,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    within: frozenset[str] | None = None,
) -> ConsoleLink:
    """Make a key that expires `ttl_seconds` after `now` (unix seconds) and its link.

    within: the scopes of the key asking for the link (None: an operator's, any scope);
    a link holding a scope beyond them is refused (ConsoleLinkScopeError). The key is
    made as every key is (KeyDirectory.create); nothing is written when the scopes or
    the ttl are refused.
    """
    held, ttl = link_scopes(scopes), link_ttl(ttl_seconds)
    beyond = held - within if within is not None else frozenset()
    if beyond:
        raise ConsoleLinkScopeError(
            f"the link may hold only scopes your key holds; it lacks {sorted(beyond)}"
        )
    expires_at = int(now) + ttl
    key, secret = keys.create(tenant_id, held, expires_at=expires_at)
    return ConsoleLink(
        console_url(api_endpoint, key.key_id, secret, held), key.key_id, held, expires_at
    )
