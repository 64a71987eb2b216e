"""Every key of the Views table, built in one place. Every key starts with the tenant."""

from __future__ import annotations


def tenant_pk(tenant_id: str) -> str:
    """The partition holding a tenant's catalogue: profile, keys, forms, destinations."""
    return f"T#{tenant_id}"


TENANT_SK = "TENANT"


def key_sk(key_id: str) -> str:
    """One API key's metadata (never its secret)."""
    return f"KEY#{key_id}"


def form_sk(form_id: str) -> str:
    """A form's current state; its schemas and destinations sort right after it."""
    return f"FORM#{form_id}"


def form_entry_sk(form_id: str) -> str:
    """A form's entry in the tenant's list of forms: a small copy of its head, so listing
    the forms reads no schemas (FORMS# sorts apart from every FORM# key)."""
    return f"{FORM_ENTRY_PREFIX}{form_id}"


FORM_ENTRY_PREFIX = "FORMS#"


def form_schema_sk(form_id: str, version: int) -> str:
    """One version of a form's schema."""
    return f"FORM#{form_id}#SCHEMA#{version:06d}"


def destination_sk(form_id: str, destination_id: str) -> str:
    """One of a form's destinations."""
    return f"FORM#{form_id}#DEST#{destination_id}"


def nonce_pk(tenant_id: str, key_id: str, nonce: str) -> str:
    """A used nonce: one partition each, so a busy key does not make a hot partition."""
    return f"T#{tenant_id}#NONCE#{key_id}#{nonce}"


NONCE_SK = "NONCE"


def status_pk(tenant_id: str, submission_id: str) -> str:
    """A submission's status view."""
    return f"T#{tenant_id}#S#{submission_id}"


STATUS_SK = "STATUS"


def listing_pk(tenant_id: str, status: str) -> str:
    """The tenant listing index (gsi1): submissions by status, newest last."""
    return f"T#{tenant_id}#STATUS#{status}"


def listing_sk(received_at: str, submission_id: str) -> str:
    """Listing order within a status: by time received."""
    return f"{received_at}#{submission_id}"


def lease_pk(tenant_id: str, delivery_id: str) -> str:
    """The lease that lets one connector at a time attempt a delivery."""
    return f"T#{tenant_id}#LEASE#{delivery_id}"


LEASE_SK = "LEASE"


def bucket_pk(tenant_id: str) -> str:
    """A tenant's request-rate token buckets: its own, and those of keys with their own limit."""
    return f"T#{tenant_id}#BUCKET"


TENANT_BUCKET_SK = "TENANT"


def key_bucket_sk(key_id: str) -> str:
    """The token bucket of one API key that has a limit of its own."""
    return f"KEY#{key_id}"
