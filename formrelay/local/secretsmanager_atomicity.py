"""Make moto's Secrets Manager calls atomic, as Secrets Manager's are.

A write to a secret document is a compare-and-swap: move AWSCURRENT to the new
version only if it is still on the version read. moto checks that, then moves
the label, in plain Python on whichever thread serves the request, so two
rival writers can both pass the check and leave two versions labelled
AWSCURRENT (one change lost); a read iterating the versions meanwhile can fail
with "dictionary changed size". One lock around every call that reads or
writes versions makes each call atomic, at no cost the single-process
emulator does not pay under the GIL anyway.
"""

from __future__ import annotations

import threading

from moto.secretsmanager.models import SecretsManagerBackend

from formrelay.local.serialised import serialise

_CALLS = (
    "create_secret",
    "put_secret_value",
    "update_secret_version_stage",
    "update_secret",
    "delete_secret",
    "restore_secret",
    "get_secret_value",
    "batch_get_secret_value",
    "list_secret_version_ids",
)
_lock = threading.RLock()


def install() -> None:
    """Serialise moto's Secrets Manager calls in this process (idempotent)."""
    serialise(SecretsManagerBackend, _CALLS, _lock)
