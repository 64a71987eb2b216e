"""Merkle trees as RFC 9162 (Certificate Transparency v2) defines them, and their proofs.

Leaves and inner nodes are hashed with distinct prefixes (0x00 and 0x01), so no
inner node can pass for a leaf. A tree of n leaves splits at the largest power of
two below n; an inclusion proof is the list of sibling hashes from the leaf up.
Stdlib only: an auditor can check a proof with the few lines of the README.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_LEAF, _NODE = b"\x00", b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf."""
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node."""
    return hashlib.sha256(_NODE + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The tree head of leaves in order; ValueError for no leaves (an anchor has some)."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    return _root([leaf_hash(leaf) for leaf in leaves])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaves[index]: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    return _path(index, [leaf_hash(leaf) for leaf in leaves])


def root_from_proof(leaf: bytes, index: int, tree_size: int, path: Sequence[bytes]) -> bytes:
    """The root that leaf at index, with this audit path, implies (RFC 9162 2.1.3.2).

    ValueError when the path cannot belong to a tree of that size.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf {index} is not in a tree of {tree_size}")
    fn, sn = index, tree_size - 1
    result = leaf_hash(leaf)
    for sibling in path:
        if sn == 0:
            raise ValueError("the audit path is longer than the tree is deep")
        if fn % 2 == 1 or fn == sn:
            result = node_hash(sibling, result)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the audit path is shorter than the tree is deep")
    return result


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def _path(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _split(len(hashes))
    if index < k:
        return [*_path(index, hashes[:k]), _root(hashes[k:])]
    return [*_path(index - k, hashes[k:]), _root(hashes[:k])]
