"""Merkle trees: every leaf of every tree proves its inclusion, and nothing else does."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formrelay.domain.merkle import inclusion_proof, leaf_hash, node_hash, root, root_from_proof

leaves = st.lists(st.binary(max_size=40), min_size=1, max_size=40)


def test_the_tree_heads_are_those_rfc_9162_defines() -> None:
    # Given three leaves, when hashed, then MTH = H(1 || H(1 || l0 || l1) || l2) with prefixes.
    a, b, c = (hashlib.sha256(b"\x00" + x).digest() for x in (b"a", b"b", b"c"))
    assert root([b"a"]) == a
    assert root([b"a", b"b", b"c"]) == node_hash(node_hash(a, b), c)
    assert leaf_hash(b"a") == a


@given(leaves, st.data())
def test_every_leaf_proves_its_inclusion(tree: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(tree) - 1))
    path = inclusion_proof(tree, index)
    assert root_from_proof(tree[index], index, len(tree), path) == root(tree)


@given(leaves, st.data())
def test_another_leaf_or_place_proves_nothing(tree: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(tree) - 1))
    path = inclusion_proof(tree, index)
    forged = tree[index] + b"!"
    assert root_from_proof(forged, index, len(tree), path) != root(tree)
    if len(tree) > 1:
        other = data.draw(st.integers(0, len(tree) - 1).filter(lambda i: i != index))
        if tree[other] != tree[index]:
            try:
                implied = root_from_proof(tree[index], other, len(tree), path)
            except ValueError:
                return
            assert implied != root(tree)


def test_a_path_of_the_wrong_length_is_refused() -> None:
    tree = [b"a", b"b", b"c", b"d"]
    path = inclusion_proof(tree, 1)
    with pytest.raises(ValueError):
        root_from_proof(b"b", 1, 4, path[:-1])
    with pytest.raises(ValueError):
        root_from_proof(b"b", 1, 4, [*path, path[0]])
    with pytest.raises(ValueError):
        root([])
