"""Managing a form's destinations: the use cases behind the admin API.

A destination's settings go to the Views table; its credentials (signing
secrets, auth values) go to Secrets Manager only. Every check runs before the
first write, so bad input leaves nothing behind. The Views item is written
last on PUT and removed first on DELETE: deliveries (which start from the
Views item) never see a destination whose credentials are not yet stored.
"""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass
from typing import Any, cast

from formrelay.delivery.destination_health import DestinationHealth, summary
from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.errors import (
    DestinationInvalidError,
    DestinationsBusyError,
    InvalidDestinationIdError,
)
from formrelay.delivery.mapping import mapping_problems
from formrelay.delivery.ssrf import (
    DEFAULT_RESOLVE_TIMEOUT_SECONDS,
    DestinationRefusedError,
    Resolver,
    check_destination_url,
)
from formrelay.domain.destinations import DEFAULT_RETRY_SCHEDULE, Destination
from formrelay.domain.errors import (
    InvalidIdentifierError,
    UnknownDestinationError,
    UnknownFormError,
    Violation,
)
from formrelay.domain.ids import DESTINATION_ID, FORM_ID, check
from formrelay.domain.strict_json import parse_body
from formrelay.registry.forms import FormCatalog
from formrelay.registry.schemas import api_schema
from formrelay.secrets.port import SecretDocumentBusyError

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_CONNECT_TIMEOUT_SECONDS = 5.0
HINT_LENGTH = 4

# Headers the delivery sets itself, or that only the HTTP connection may carry.
RESERVED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
RESERVED_HEADER_PREFIX = "webhook-"


@dataclass(frozen=True)
class PutResult:
    """What a PUT did: created or replaced, and the document to answer."""

    created: bool
    body: dict[str, Any]


def _reserved(name: str) -> bool:
    lowered = name.lower()
    return lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_HEADER_PREFIX)


def _rule_errors(body: dict[str, Any]) -> list[Violation]:
    """What the schema cannot say: reserved header names and mapping sources."""
    errors = []
    for name in body.get("headers", {}):
        if _reserved(name):
            errors.append(Violation(f"/headers/{_escape(name)}", f"{name} may not be set"))
    auth = body.get("auth", {"type": "none"})
    auth_header = {
        "api_key": auth.get("header", ""),
        "bearer": "Authorization",
        "basic": "Authorization",
    }.get(auth["type"], "")
    if auth["type"] == "api_key" and _reserved(auth_header):
        errors.append(Violation("/auth/header", f"{auth_header} may not be set"))
    if auth_header and auth_header.lower() in {h.lower() for h in body.get("headers", {})}:
        errors.append(
            Violation("/headers", f"{auth_header} is set by auth and may not be a header too")
        )
    for field, message in mapping_problems(body.get("mapping")):
        pointer = "/mapping" + (f"/{_escape(field)}" if field else "")
        errors.append(Violation(pointer, message))
    return errors


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _credentials(auth: dict[str, str]) -> dict[str, str]:
    """The secret part of auth, as DestinationSecrets stores it."""
    kind = auth["type"]
    if kind == "api_key":
        return {"api_key": auth["value"]}
    if kind == "bearer":
        return {"token": auth["token"]}
    if kind == "basic":
        return {"username": auth["username"], "password": auth["password"]}
    return {}


def _public_auth(auth: dict[str, str]) -> dict[str, str]:
    """The part of auth the Views item keeps: its type, and the api_key header name."""
    if auth["type"] == "api_key":
        return {"type": "api_key", "header": auth["header"]}
    return {"type": auth["type"]}


class DestinationAdmin:
    """Create, replace, read and delete a tenant's destinations."""

    def __init__(
        self,
        *,
        forms: FormCatalog,
        destinations: DestinationDirectory,
        secrets: DestinationSecrets,
        allowed: frozenset[str] = frozenset(),
        resolve: Resolver = socket.getaddrinfo,
        resolve_timeout_seconds: float = DEFAULT_RESOLVE_TIMEOUT_SECONDS,
        default_schedule: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE,
        health: DestinationHealth | None = None,
    ) -> None:
        self.forms = forms
        self.health = health
        self.default_schedule = default_schedule
        self.destinations = destinations
        self.secrets = secrets
        self.allowed = allowed
        self.resolve = resolve
        self.resolve_timeout_seconds = resolve_timeout_seconds

    def put(self, tenant_id: str, form_id: str, destination_id: str, raw: bytes) -> PutResult:
        """Create or replace (and re-enable) a destination from a PUT body."""
        self._check_ids(form_id, destination_id, creating=True)
        body = self._parsed(raw)
        if self.forms.load(tenant_id, form_id) is None:
            raise UnknownFormError()
        auth = body.get("auth", {"type": "none"})
        timeout = float(body.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
        destination = Destination(
            tenant_id=tenant_id,
            form_id=form_id,
            destination_id=destination_id,
            url=body["url"],
            method=body.get("method", "POST"),
            headers=dict(body.get("headers", {})),
            auth=_public_auth(auth),
            mapping=body.get("mapping"),
            timeout_seconds=timeout,
            connect_timeout_seconds=min(MAX_CONNECT_TIMEOUT_SECONDS, timeout),
            retry_schedule_seconds=tuple(body.get("retry_schedule_seconds", self.default_schedule)),
            enabled=True,
            disabled_reason=None,
        )
        created = self.destinations.get(tenant_id, form_id, destination_id) is None
        try:
            signing_secret = self.secrets.put(
                tenant_id, form_id, destination_id, auth_credentials=_credentials(auth)
            )
        except SecretDocumentBusyError as exc:
            raise DestinationsBusyError() from exc
        if created and self.health is not None:
            # a deleted destination's late attempts may have written health since: a new
            # destination under its id starts with none
            self.health.forget(tenant_id, form_id, destination_id)
        self.destinations.put(destination)
        return PutResult(created, {**destination.public(), "signing_secret": signing_secret})

    def get(self, tenant_id: str, form_id: str, destination_id: str) -> dict[str, Any]:
        """A destination as the API shows it: no secrets, only a hint of the signing secret."""
        destination = self._existing(tenant_id, form_id, destination_id)
        signing = self.secrets.credentials(tenant_id, form_id, destination_id).signing_secrets
        hint = signing[0][-HINT_LENGTH:] if signing else None
        return {**destination.public(), "signing_secret_hint": hint}

    def listing(self, tenant_id: str, form_id: str) -> dict[str, Any]:
        """A form's destinations as the API shows them (no secrets), each with its health:
        state, recent success rate and latency, last success and last error."""
        try:
            check(FORM_ID, form_id, "form id")
        except InvalidIdentifierError as exc:
            raise UnknownFormError() from exc
        form = self.forms.load(tenant_id, form_id)
        if form is None:
            raise UnknownFormError()
        health = self.health.for_form(tenant_id, form_id) if self.health is not None else {}
        return {
            "form_id": form_id,
            "destinations": [
                {**d.public(), "health": summary(health.get(d.destination_id))}
                for d in sorted(form.destinations, key=lambda d: d.destination_id)
            ],
        }

    def enable(
        self, tenant_id: str, form_id: str, destination_id: str, raw: bytes = b""
    ) -> dict[str, Any]:
        """Deliver to a disabled destination again (its settings and secrets untouched);
        one already enabled is answered as it is. `re_enabled` says which it was. The
        request has nothing to say: its body is empty or `{}`."""
        if raw and parse_body(raw) != {}:
            raise DestinationInvalidError([Violation("", "the body must be empty or {}")])
        destination = self._existing(tenant_id, form_id, destination_id)
        if not destination.enabled and not self.destinations.enable(
            tenant_id, form_id, destination_id
        ):
            raise UnknownDestinationError()  # deleted in between
        enabled = dataclasses.replace(destination, enabled=True, disabled_reason=None)
        return {**enabled.public(), "re_enabled": not destination.enabled}

    def delete(self, tenant_id: str, form_id: str, destination_id: str) -> None:
        """Remove a destination, its credentials and its health; 404 if there is none."""
        self._check_ids(form_id, destination_id, creating=False)
        if not self.destinations.delete(tenant_id, form_id, destination_id):
            raise UnknownDestinationError()
        if self.health is not None:
            self.health.forget(tenant_id, form_id, destination_id)
        try:
            self.secrets.delete(tenant_id, form_id, destination_id)
        except SecretDocumentBusyError as exc:
            raise DestinationsBusyError() from exc

    def rotate_signing_secret(
        self, tenant_id: str, form_id: str, destination_id: str, *, overlap_seconds: int = 86400
    ) -> str:
        """A new signing secret; the previous ones stay valid for overlap_seconds."""
        self._existing(tenant_id, form_id, destination_id)
        return self.secrets.rotate_signing_secret(
            tenant_id, form_id, destination_id, overlap_seconds=overlap_seconds
        )

    def _existing(self, tenant_id: str, form_id: str, destination_id: str) -> Destination:
        self._check_ids(form_id, destination_id, creating=False)
        destination = self.destinations.get(tenant_id, form_id, destination_id)
        if destination is None:
            raise UnknownDestinationError()
        return destination

    @staticmethod
    def _check_ids(form_id: str, destination_id: str, *, creating: bool) -> None:
        try:
            check(FORM_ID, form_id, "form id")
        except InvalidIdentifierError as exc:
            raise UnknownFormError() from exc
        try:
            check(DESTINATION_ID, destination_id, "destination id")
        except InvalidIdentifierError as exc:
            if creating:
                raise InvalidDestinationIdError(str(exc)) from exc
            raise UnknownDestinationError() from exc

    def _parsed(self, raw: bytes) -> dict[str, Any]:
        """The PUT body, checked against its schema, the header rules and the SSRF guard."""
        body = parse_body(raw)
        violations = api_schema("destination_put").violations(body)
        if violations:
            raise DestinationInvalidError([Violation(v.pointer, v.message) for v in violations])
        errors = _rule_errors(body)
        try:
            # A host that takes too long to resolve is its own answer
            # (DestinationResolutionTimeoutError), never a request held open.
            check_destination_url(
                body["url"],
                allowed=self.allowed,
                resolve=self.resolve,
                timeout=self.resolve_timeout_seconds,
            )
        except DestinationRefusedError as exc:
            errors.append(Violation("/url", str(exc)))
        if errors:
            raise DestinationInvalidError(errors)
        return cast(dict[str, Any], body)  # the schema says it is an object
