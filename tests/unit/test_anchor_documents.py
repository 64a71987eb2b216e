"""Anchor documents: what is written is what is read, and an altered one is refused."""

from __future__ import annotations

import json

import pytest

from formrelay.audit.anchors import Anchor, StreamHead, leaf_bytes
from formrelay.audit.errors import AnchorConflictError, AnchorDocumentError
from formrelay.audit.heads import AnchoredHead
from formrelay.audit.memory import InMemoryAnchoredHeads, InMemoryAnchorStore
from formrelay.domain.merkle import root_from_proof

H1, H2, H3 = ("1" * 64, "2" * 64, "3" * 64)


def an_anchor(sequence: int = 1, **overrides: object) -> Anchor:
    fields: dict[str, object] = {
        "created_at": "2026-12-03T06:00:00.000000Z",
        "since": "2026-12-03T05:55:00.000000Z",
        "until": "2026-12-03T06:00:00.000000Z",
        "previous_root": None,
    }
    fields.update(overrides)
    heads = [StreamHead("s-b", 3, H2), StreamHead("s-a", 1, H1), StreamHead("s-a", 2, H3)]
    return Anchor.of("demo", sequence, heads, **fields)  # type: ignore[arg-type]


def test_heads_are_one_per_stream_in_order_and_each_proves_its_inclusion() -> None:
    anchor = an_anchor()
    assert anchor.heads == (StreamHead("s-a", 2, H3), StreamHead("s-b", 3, H2))
    for index, head in enumerate(anchor.heads):
        path = [bytes.fromhex(node) for node in anchor.audit_path(index)]
        implied = root_from_proof(leaf_bytes("demo", head), index, len(anchor.heads), path)
        assert implied.hex() == anchor.root
    assert anchor.index_of("s-b") == 1 and anchor.index_of("s-c") is None


def test_a_document_reads_back_as_the_same_anchor() -> None:
    anchor = an_anchor(7, previous_root="a" * 64)
    assert Anchor.from_bytes(anchor.to_bytes()) == anchor
    assert anchor.key == "anchors/demo/000000000007.json"


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["heads"][0].update(version=1),
        lambda d: d["heads"][1].update(hash=H1),
        lambda d: d["heads"].pop(),
        lambda d: d.update(root="0" * 64),
        lambda d: d.update(tree_size=5),
        lambda d: d.update(format="formrelay-anchor/0"),
        lambda d: d["heads"].reverse(),
        lambda d: d.pop("since"),
        lambda d: d.update(sequence="7"),
    ],
)
def test_an_altered_document_is_refused(edit: object) -> None:
    document = an_anchor().to_document()
    edit(document)  # type: ignore[operator]
    with pytest.raises(AnchorDocumentError):
        Anchor.from_bytes(json.dumps(document).encode())


def test_not_json_is_refused() -> None:
    with pytest.raises(AnchorDocumentError):
        Anchor.from_bytes(b"\xff not json")


def test_the_store_writes_an_anchor_once_and_refuses_a_different_one() -> None:
    store = InMemoryAnchorStore()
    store.put(an_anchor(1))
    store.put(an_anchor(1))  # the same again: nothing changes
    with pytest.raises(AnchorConflictError):
        store.put(an_anchor(1, created_at="2026-12-03T06:05:00.000000Z"))
    store.put(an_anchor(2))
    store.objects["anchors/demo/notes.txt"] = b"x"
    assert store.sequences("demo") == [1, 2]
    assert store.sequences("rival") == []
    assert store.get("demo", 2) == an_anchor(2) and store.get("rival", 2) is None


def test_an_anchored_head_never_moves_back() -> None:
    heads = InMemoryAnchoredHeads()
    later = AnchoredHead("s-a", 5, H2, "000000000002", 0)
    heads.record("demo", [later])
    heads.record("demo", [AnchoredHead("s-a", 3, H1, "000000000001", 4)])
    assert heads.head_of("demo", "s-a") == later
    assert heads.head_of("rival", "s-a") is None
