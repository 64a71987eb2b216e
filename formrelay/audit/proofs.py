"""One submission's record, checked: its verdict (`/verify`) and its inclusion proof (`/proof`).

The anchored head comes from the Views table, which the writer of the event store
could also change; so each is checked against the anchor object it names, on
write-once storage, and the proof is made from that object's heads, never from
the item.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from formrelay.audit.anchor_store import AnchorStore
from formrelay.audit.anchors import Anchor, StreamHead, leaf_bytes
from formrelay.audit.errors import AnchorDocumentError
from formrelay.audit.heads import AnchoredHeads
from formrelay.audit.verification import BadLink, StreamVerdict, verify_stream
from formrelay.domain import merkle
from formrelay.domain.errors import (
    InvalidIdentifierError,
    StreamNotFoundError,
    UnknownSubmissionError,
)
from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.domain.ids import SUBMISSION_ID, check
from formrelay.store.port import EventStore


@dataclass(frozen=True)
class SubmissionRecord:
    """What checking one submission's record needs."""

    events: EventStore
    heads: AnchoredHeads
    anchors: AnchorStore

    def verdict(self, tenant_id: str, submission_id: str) -> StreamVerdict:
        """The stream verified against its chain and its anchored head; UnknownSubmissionError
        when there are no events and no anchor ever took the stream in."""
        verdict, _, _ = self._checked(tenant_id, submission_id)
        return verdict

    def proof(self, tenant_id: str, submission_id: str) -> dict[str, Any]:
        """The stream's head and verdict, and the inclusion proof of its anchored head in
        its anchor's Merkle tree (null until an anchor took the stream in)."""
        verdict, recorded, anchor = self._checked(tenant_id, submission_id)
        answer: dict[str, Any] = {
            "submission_id": submission_id,
            "head": (
                {"version": recorded[-1].version, "hash": recorded[-1].hash} if recorded else None
            ),
            **verdict.to_dict(),
            "proof": None,
        }
        if anchor is not None and verdict.anchored is not None:
            index = verdict.anchored.leaf_index
            head = anchor.heads[index]
            answer["proof"] = {
                "anchor": {
                    "anchor_id": anchor.anchor_id,
                    "sequence": anchor.sequence,
                    "key": anchor.key,
                    "root": anchor.root,
                    "tree_size": len(anchor.heads),
                    "created_at": anchor.created_at,
                    "previous_root": anchor.previous_root,
                },
                "leaf": leaf_bytes(tenant_id, head).decode(),
                "leaf_index": index,
                "audit_path": anchor.audit_path(index),
                "algorithm": "RFC 9162 (SHA-256, 0x00 leaf and 0x01 node prefixes)",
            }
        return answer

    def _checked(
        self, tenant_id: str, submission_id: str
    ) -> tuple[StreamVerdict, list[RecordedEvent], Anchor | None]:
        try:
            check(SUBMISSION_ID, submission_id, "submission id")
        except InvalidIdentifierError as exc:
            raise UnknownSubmissionError() from exc
        stream = StreamId(tenant_id, submission_id)
        try:
            recorded = self.events.read(stream, verify=False)
        except StreamNotFoundError:
            recorded = []
        anchored = self.heads.head_of(tenant_id, submission_id)
        try:
            verdict = verify_stream(recorded, anchored=anchored, stream=stream)
        except StreamNotFoundError as exc:
            raise UnknownSubmissionError() from exc
        if anchored is None:
            return verdict, recorded, None
        try:
            anchor = self.anchors.get(tenant_id, int(anchored.anchor_id))
        except AnchorDocumentError:  # an altered object: no anchor vouches for the head
            anchor = None
        held = StreamHead(submission_id, anchored.version, anchored.hash)
        index = None if anchor is None else anchor.index_of(submission_id)
        if anchor is None or index is None or anchor.heads[index] != held:
            earlier = verdict.first_bad
            if earlier is not None and earlier.version <= anchored.version:
                return verdict, recorded, None
            bad = BadLink(
                anchored.version,
                f"the anchored head is not the one anchor {anchored.anchor_id} holds "
                "(the record of anchored heads was changed, or the anchor is missing or altered)",
            )
            return replace(verdict, verified=False, first_bad=bad), recorded, None
        if index != anchored.leaf_index:
            verdict = replace(verdict, anchored=replace(anchored, leaf_index=index))
        return verdict, recorded, anchor


def root_from_proof(leaf: str, leaf_index: int, tree_size: int, audit_path: list[str]) -> str:
    """The root a proof's leaf and audit path make (hex): equal to the anchor's, it proves
    the leaf is in the anchor."""
    return merkle.root_from_proof(
        leaf.encode(), leaf_index, tree_size, [bytes.fromhex(node) for node in audit_path]
    ).hex()
