"""A stream's head as an anchor recorded it, and the port that remembers the latest one.

Verification asks it whether a stream was anchored, and at which version: a
stream shorter than its anchored head was truncated, a stream absent although
anchored was deleted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AnchoredHead:
    """The head (version and hash) of one stream when an anchor took it in.

    anchor_id names the anchor (its object on write-once storage and its event in the
    tenant's ledger); leaf_index is the head's place among that anchor's Merkle leaves.
    """

    submission_id: str
    version: int
    hash: str
    anchor_id: str
    leaf_index: int


class AnchoredHeads(ABC):
    """The latest anchored head of each stream, per tenant."""

    def head_of(self, tenant_id: str, submission_id: str) -> AnchoredHead | None:
        """The stream's latest anchored head, or None if no anchor took it in yet."""
        return self._get(tenant_id, submission_id)

    def record(self, tenant_id: str, heads: Sequence[AnchoredHead]) -> None:
        """Remember heads as anchored; a head never replaces a later anchored one
        (anchors taken again, or out of order, move nothing back)."""
        for head in heads:
            self._put_if_later(tenant_id, head)

    @abstractmethod
    def _get(self, tenant_id: str, submission_id: str) -> AnchoredHead | None:
        """The stored head, or None."""

    @abstractmethod
    def _put_if_later(self, tenant_id: str, head: AnchoredHead) -> None:
        """Store head unless a head of a later anchor (or the same) is stored."""
