"""The formrelay API client: signs every request as the API expects."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from formrelay.auth.signing import sign_request
from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.domain.hashing import verify_chain

DEMO_FILE = Path(".formrelay") / "demo.json"


class CredentialsError(Exception):
    """No endpoint or key could be found."""


@dataclass(frozen=True)
class Credentials:
    """Where the API is and which key signs for us."""

    endpoint: str
    key_id: str
    secret: str

    @classmethod
    def resolve(
        cls,
        endpoint: str | None = None,
        key_id: str | None = None,
        secret: str | None = None,
        demo_file: Path | None = DEMO_FILE,
    ) -> Credentials:
        """Flags first, then FORMRELAY_* variables, then the local demo file (None: none)."""
        demo: dict[str, Any] = {}
        if demo_file is not None and demo_file.is_file():
            demo = json.loads(demo_file.read_text(encoding="utf-8"))
        values = {
            "endpoint": endpoint or os.environ.get("FORMRELAY_ENDPOINT") or demo.get("endpoint"),
            "key_id": key_id or os.environ.get("FORMRELAY_KEY_ID") or demo.get("key_id"),
            "secret": secret or os.environ.get("FORMRELAY_SECRET") or demo.get("secret"),
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            local = f", or run `formrelay dev --demo` ({demo_file})" if demo_file else ""
            raise CredentialsError(
                "missing " + ", ".join(missing) + ": pass flags or set FORMRELAY_ENDPOINT/"
                f"FORMRELAY_KEY_ID/FORMRELAY_SECRET{local}"
            )
        return cls(
            str(values["endpoint"]).rstrip("/"), str(values["key_id"]), str(values["secret"])
        )


class FormrelayClient:
    """Signed calls to the formrelay API."""

    def __init__(self, credentials: Credentials, http: httpx.Client | None = None) -> None:
        self.credentials = credentials
        self.http = http or httpx.Client(timeout=30.0, trust_env=False)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one signed request: its Content-Type, Idempotency-Key and X-Correlation-Id too."""
        raw_query = urlencode(query or {})
        base_path = urlsplit(self.credentials.endpoint).path.rstrip("/")
        sent = {name.lower(): value for name, value in (headers or {}).items()}
        if body:
            sent.setdefault("content-type", "application/json")
        signed = sign_request(
            key_id=self.credentials.key_id,
            secret=self.credentials.secret,
            method=method,
            path=base_path + path,
            raw_query=raw_query,
            body=body,
            content_type=sent.get("content-type"),
            idempotency_key=sent.get("idempotency-key"),
            correlation_id=sent.get("x-correlation-id"),
        )
        url = self.credentials.endpoint + path + (f"?{raw_query}" if raw_query else "")
        return self.http.request(method, url, content=body, headers={**sent, **signed})

    def submit(
        self, form_id: str, data: Any, *, idempotency_key: str | None = None
    ) -> httpx.Response:
        """POST a submission (data is JSON-encoded unless already bytes)."""
        body = data if isinstance(data, bytes) else json.dumps(data).encode("utf-8")
        headers = {"idempotency-key": idempotency_key} if idempotency_key else None
        return self.request("POST", f"/v1/forms/{form_id}/submissions", body=body, headers=headers)

    def status(self, submission_id: str) -> httpx.Response:
        """GET a submission's status."""
        return self.request("GET", f"/v1/submissions/{submission_id}")

    def history(self, submission_id: str) -> httpx.Response:
        """GET a submission's events."""
        return self.request("GET", f"/v1/submissions/{submission_id}/events")

    def verify(self, submission_id: str) -> httpx.Response:
        """GET whether a submission's record verifies against its chain and its anchor."""
        return self.request("GET", f"/v1/submissions/{submission_id}/verify")

    def proof(self, submission_id: str) -> httpx.Response:
        """GET a submission's head and the Merkle inclusion proof of its anchored head."""
        return self.request("GET", f"/v1/submissions/{submission_id}/proof")

    def audit_events(
        self,
        since: str,
        until: str | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> httpx.Response:
        """GET a page of the tenant's events as NDJSON; the next cursor is in X-Fr-Next-Cursor."""
        query = {"since": since}
        if until is not None:
            query["until"] = until
        if limit is not None:
            query["limit"] = str(limit)
        if cursor is not None:
            query["cursor"] = cursor
        return self.request("GET", "/v1/audit/events", query=query)

    def audit_verify(
        self, since: str | None = None, *, limit: int | None = None, cursor: str | None = None
    ) -> httpx.Response:
        """GET a page of the tenant's verification against its anchors; its next_cursor, if
        not null, asks for the next page."""
        query = {"since": since, "limit": None if limit is None else str(limit), "cursor": cursor}
        sent = {name: value for name, value in query.items() if value is not None}
        return self.request("GET", "/v1/audit/verify", query=sent)

    def list_submissions(self, **query: str) -> httpx.Response:
        """GET a page of the tenant's submissions, newest first: filters form_id, status,
        since, until; limit and the cursor of the page before."""
        return self.request("GET", "/v1/submissions", query=query)

    def put_form(
        self, form_id: str, schema: dict[str, Any], compatibility: str | None = None
    ) -> httpx.Response:
        """PUT a form's schema: its first version, its next (checked), or the current again."""
        body: dict[str, Any] = {"schema": schema}
        if compatibility is not None:
            body["compatibility"] = compatibility
        return self.request("PUT", f"/v1/forms/{form_id}", body=json.dumps(body).encode("utf-8"))

    def get_form(self, form_id: str) -> httpx.Response:
        """GET a form at its current version, with its schema and compatibility mode."""
        return self.request("GET", f"/v1/forms/{form_id}")

    def get_form_version(self, form_id: str, version: int) -> httpx.Response:
        """GET one schema version of a form."""
        return self.request("GET", f"/v1/forms/{form_id}/versions/{version}")

    def list_forms(self) -> httpx.Response:
        """GET the tenant's forms."""
        return self.request("GET", "/v1/forms")

    def put_destination(
        self, form_id: str, destination_id: str, body: dict[str, Any]
    ) -> httpx.Response:
        """PUT (create or replace) a destination; the answer holds its signing secret."""
        return self.request(
            "PUT",
            f"/v1/forms/{form_id}/destinations/{destination_id}",
            body=json.dumps(body).encode("utf-8"),
        )

    def get_destination(self, form_id: str, destination_id: str) -> httpx.Response:
        """GET a destination (no secrets)."""
        return self.request("GET", f"/v1/forms/{form_id}/destinations/{destination_id}")

    def list_destinations(self, form_id: str) -> httpx.Response:
        """GET a form's destinations (no secrets), each with its health."""
        return self.request("GET", f"/v1/forms/{form_id}/destinations")

    def enable_destination(self, form_id: str, destination_id: str) -> httpx.Response:
        """POST: deliver to a destination again after a 410 disabled it."""
        return self.request("POST", f"/v1/forms/{form_id}/destinations/{destination_id}/enable")

    def delete_destination(self, form_id: str, destination_id: str) -> httpx.Response:
        """DELETE a destination and its credentials."""
        return self.request("DELETE", f"/v1/forms/{form_id}/destinations/{destination_id}")


def verify_history(document: dict[str, Any]) -> None:
    """Recompute a history's hash chain here, trusting nothing the server said about it.

    Raises IntegrityError if any event was altered, dropped or reordered.
    """
    events = [
        RecordedEvent(
            stream=StreamId(e["tenant_id"], e["submission_id"]),
            version=e["version"],
            event_id=e["event_id"],
            type=e["type"],
            schema_version=e["schema_version"],
            occurred_at=e["occurred_at"],
            correlation_id=e["correlation_id"],
            causation_id=e["causation_id"],
            data=e["data"],
            prev_hash=e["prev_hash"],
            hash=e["hash"],
        )
        for e in document["events"]
    ]
    verify_chain(events)
