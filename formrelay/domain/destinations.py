"""A destination: where a form's submissions are delivered, and how (no credentials)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# After the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27 hours in all).
DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
AUTH_TYPES = ("none", "api_key", "bearer", "basic")


@dataclass(frozen=True)
class Destination:
    """One webhook a form delivers to. Credentials are never here: see DestinationSecrets."""

    tenant_id: str
    form_id: str
    destination_id: str
    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    # {"type": "none" | "api_key" | "bearer" | "basic", "header": "X-Api-Key" (api_key only)}
    auth: dict[str, str] = field(default_factory=lambda: {"type": "none"})
    # Output field -> source: "/json/pointer" into the payload, {"const": value}, or
    # {"meta": "submission_id" | "form_id" | "received_at" | "tenant_id"}. None: default body.
    mapping: dict[str, Any] | None = None
    timeout_seconds: float = 10.0
    connect_timeout_seconds: float = 5.0
    retry_schedule_seconds: tuple[int, ...] = DEFAULT_RETRY_SCHEDULE
    enabled: bool = True
    disabled_reason: str | None = None

    def public(self) -> dict[str, Any]:
        """The destination as the API shows it (no credentials)."""
        return {
            "destination_id": self.destination_id,
            "form_id": self.form_id,
            "url": self.url,
            "method": self.method,
            "headers": self.headers,
            "auth": self.auth,
            "mapping": self.mapping,
            "timeout_seconds": self.timeout_seconds,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "retry_schedule_seconds": list(self.retry_schedule_seconds),
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
        }
