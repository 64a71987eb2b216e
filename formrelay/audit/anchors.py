"""An anchor: a tenant's stream heads at one moment, summed up in one Merkle root.

The anchor document is what goes to write-once storage (S3 Object Lock), at
`anchors/{tenant}/{sequence:012d}.json`, and what an auditor checks proofs
against. Its format, `formrelay-anchor/1`:

    {"format": "formrelay-anchor/1", "tenant_id": ..., "sequence": 7,
     "created_at": RFC 3339, "since": RFC 3339, "until": RFC 3339,
     "previous_root": hex | null, "tree_size": n, "root": hex,
     "heads": [{"submission_id": ..., "version": n, "hash": hex}, ...]}

heads are sorted by submission_id and leaf i is heads[i]; a leaf's bytes are
`tenant_id \\n submission_id \\n version \\n hash` in UTF-8 (see leaf_bytes), hashed
as RFC 9162 says (formrelay/domain/merkle.py). since..until is the window of the
tenant's events whose streams the anchor took in; previous_root chains each
anchor to the one before it, so a deleted anchor leaves a visible gap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from formrelay.audit.errors import AnchorDocumentError
from formrelay.domain import merkle

ANCHOR_FORMAT = "formrelay-anchor/1"
_HEX64 = frozenset("0123456789abcdef")


@dataclass(frozen=True, order=True)
class StreamHead:
    """A stream's last version and its hash."""

    submission_id: str
    version: int
    hash: str


def leaf_bytes(tenant_id: str, head: StreamHead) -> bytes:
    """The bytes of a head's Merkle leaf."""
    return f"{tenant_id}\n{head.submission_id}\n{head.version}\n{head.hash}".encode()


def anchor_key(tenant_id: str, sequence: int) -> str:
    """Where an anchor object is kept on write-once storage."""
    return f"{anchor_prefix(tenant_id)}{sequence:012d}.json"


def anchor_prefix(tenant_id: str) -> str:
    """Where every anchor object of a tenant is kept."""
    return f"anchors/{tenant_id}/"


@dataclass(frozen=True)
class Anchor:
    """A tenant's anchor: heads in submission-id order and the root they make."""

    tenant_id: str
    sequence: int
    created_at: str
    since: str
    until: str
    previous_root: str | None
    heads: tuple[StreamHead, ...]

    @classmethod
    def of(
        cls,
        tenant_id: str,
        sequence: int,
        heads: Iterable[StreamHead],
        *,
        created_at: str,
        since: str,
        until: str,
        previous_root: str | None,
    ) -> Anchor:
        """An anchor over heads (at most one per stream: the highest version is kept)."""
        latest: dict[str, StreamHead] = {}
        for head in heads:
            if (
                head.submission_id not in latest
                or head.version > latest[head.submission_id].version
            ):
                latest[head.submission_id] = head
        ordered = tuple(latest[key] for key in sorted(latest))
        return cls(tenant_id, sequence, created_at, since, until, previous_root, ordered)

    @property
    def anchor_id(self) -> str:
        """The anchor's name: its sequence number, as in its object key."""
        return f"{self.sequence:012d}"

    @property
    def key(self) -> str:
        """Its object key on write-once storage."""
        return anchor_key(self.tenant_id, self.sequence)

    def leaves(self) -> list[bytes]:
        """Its Merkle leaves, in order."""
        return [leaf_bytes(self.tenant_id, head) for head in self.heads]

    @property
    def root(self) -> str:
        """The Merkle root over its heads, hex."""
        return merkle.root(self.leaves()).hex()

    def index_of(self, submission_id: str) -> int | None:
        """The leaf index of a stream's head, or None if the anchor did not take it in."""
        for index, head in enumerate(self.heads):
            if head.submission_id == submission_id:
                return index
        return None

    def audit_path(self, index: int) -> list[str]:
        """The inclusion proof of leaf `index`, hex, leaf to root."""
        return [node.hex() for node in merkle.inclusion_proof(self.leaves(), index)]

    def to_document(self) -> dict[str, Any]:
        """The anchor object's JSON document."""
        return {
            "format": ANCHOR_FORMAT,
            "tenant_id": self.tenant_id,
            "sequence": self.sequence,
            "created_at": self.created_at,
            "since": self.since,
            "until": self.until,
            "previous_root": self.previous_root,
            "tree_size": len(self.heads),
            "root": self.root,
            "heads": [
                {"submission_id": h.submission_id, "version": h.version, "hash": h.hash}
                for h in self.heads
            ],
        }

    def to_bytes(self) -> bytes:
        """The anchor object's bytes (sorted keys, so the same anchor is the same object)."""
        return json.dumps(self.to_document(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Anchor:
        """An anchor from its object's document; AnchorDocumentError unless it is whole and
        its stated root and tree size are the ones its heads make."""
        try:
            if document["format"] != ANCHOR_FORMAT:
                raise AnchorDocumentError(f"unknown anchor format {document['format']!r}")
            heads = tuple(
                StreamHead(str(h["submission_id"]), _int(h["version"]), _hex(h["hash"]))
                for h in document["heads"]
            )
            previous = document["previous_root"]
            anchor = cls(
                tenant_id=str(document["tenant_id"]),
                sequence=_int(document["sequence"]),
                created_at=str(document["created_at"]),
                since=str(document["since"]),
                until=str(document["until"]),
                previous_root=None if previous is None else _hex(previous),
                heads=heads,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AnchorDocumentError(f"not a well-formed anchor: {exc}") from exc
        if (
            not heads
            or list(heads) != sorted(heads)
            or len({h.submission_id for h in heads}) != len(heads)
        ):
            raise AnchorDocumentError(
                "an anchor's heads are one per stream, in submission-id order"
            )
        if document.get("tree_size") != len(heads) or document.get("root") != anchor.root:
            raise AnchorDocumentError(
                f"anchor {anchor.anchor_id}: its root is not the one its heads make"
            )
        return anchor

    @classmethod
    def from_bytes(cls, raw: bytes) -> Anchor:
        """An anchor from its object's bytes; AnchorDocumentError if they are not one."""
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise AnchorDocumentError("an anchor object is not JSON") from exc
        if not isinstance(document, dict):
            raise AnchorDocumentError("an anchor object is a JSON object")
        return cls.from_document(document)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def _hex(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX64:
        raise ValueError(f"{value!r} is not a SHA-256 in hex")
    return value
