"""Used nonces: a conditional put per (tenant, key, nonce), with an expiry checked on read.

DynamoDB TTL deletes expired items days late (and moto never), so the
condition treats an item whose expiry has passed as free, and no code relies
on the item being gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter

if TYPE_CHECKING:
    pass


class NonceStore(ViewsTableAdapter):
    """Claims nonces once per key within their lifetime."""

    def claim(self, tenant_id: str, key_id: str, nonce: str, *, now: int, expires_at: int) -> bool:
        """True if the nonce was free (and is now used until expires_at), False if replayed."""
        return self.put_unless_live(
            {
                "pk": {"S": vk.nonce_pk(tenant_id, key_id, nonce)},
                "sk": {"S": vk.NONCE_SK},
                "tenant_id": {"S": tenant_id},
                "expires_at": {"N": str(expires_at)},
            },
            now=now,
        )
