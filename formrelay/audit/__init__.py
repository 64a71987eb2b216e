"""Audit: export, verification of the hash chains, anchors on write-once storage and proofs."""
