"""A stream's head as an anchor recorded it: the one shape verification and anchoring share."""

from __future__ import annotations

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
