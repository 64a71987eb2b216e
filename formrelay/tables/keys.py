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

# A stream's latest anchored head (formrelay/audit/dynamodb.py), beside its status view.
ANCHORED_SK = "ANCHORED"

# The directory of tenants: one item per tenant under one partition, so the scheduled
# anchor run finds every tenant with one query, not a scan of the table.
TENANTS_PK = "TENANTS"


# The listing indexes of the Views table: one per combination of the listing's filters,
# each partitioned by the tenant and the filters, all sorted by `listing_sk` (attribute
# gsi1sk, shared by the four). gsi1 projects every attribute; gsi2-gsi4 only keys.


def listing_pk(tenant_id: str, status: str) -> str:
    """gsi1: a tenant's submissions in one status."""
    return f"T#{tenant_id}#STATUS#{status}"


def tenant_listing_pk(tenant_id: str) -> str:
    """gsi2: all of a tenant's submissions."""
    return f"T#{tenant_id}#SUBMISSIONS"


def form_listing_pk(tenant_id: str, form_id: str) -> str:
    """gsi3: a tenant's submissions of one form."""
    return f"T#{tenant_id}#FORM#{form_id}#SUBMISSIONS"


def form_status_listing_pk(tenant_id: str, form_id: str, status: str) -> str:
    """gsi4: a tenant's submissions of one form in one status."""
    return f"T#{tenant_id}#FORM#{form_id}#STATUS#{status}"


def listing_sk(received_at: str, submission_id: str) -> str:
    """Listing order in every listing index: by time received (microsecond Z form, so
    text order is time order), then submission id."""
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


def reconcile_pk(tenant_id: str) -> str:
    """A tenant's reconciler records: its checkpoint, and one item per run that repaired."""
    return f"T#{tenant_id}#RECONCILE"


RECONCILE_CHECKPOINT_SK = "CHECKPOINT"


def reconcile_run_sk(started_at: str) -> str:
    """One reconcile run's repairs for the tenant (sorted by when the run started)."""
    return f"RUN#{started_at}"


def health_pk(tenant_id: str, form_id: str) -> str:
    """A form's destinations' health records: apart from the tenant's catalogue partition,
    which every attempt would otherwise write to."""
    return f"T#{tenant_id}#HEALTH#{form_id}"


def health_sk(destination_id: str) -> str:
    """One destination's health record."""
    return f"DEST#{destination_id}"
