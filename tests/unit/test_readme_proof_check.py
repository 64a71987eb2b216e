"""The README's stdlib proof check, run as printed: it accepts every head of every anchor
and refuses a forged leaf, a wrong index and another anchor's root."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from formrelay.audit.anchors import Anchor, StreamHead, leaf_bytes

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_check() -> Any:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```python proof-check\n(.*?)```", text, re.S)
    assert block, "the README shows the proof check"
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(block.group(1), "README proof-check", "exec"), namespace)
    return namespace["check"]


CHECK = _readme_check()


def _anchor(size: int) -> Anchor:
    heads = [StreamHead(f"sub_{n:04d}", n + 1, f"{n:064x}") for n in range(size)]
    return Anchor.of("acme", 1, heads, created_at="t", since="s", until="u", previous_root=None)


def _proof(anchor: Anchor, index: int) -> dict[str, Any]:
    return {
        "leaf": leaf_bytes(anchor.tenant_id, anchor.heads[index]).decode(),
        "leaf_index": index,
        "audit_path": anchor.audit_path(index),
    }


@given(
    st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1))
    )
)
def test_the_readme_check_accepts_every_head_of_every_anchor(case: tuple[int, int]) -> None:
    size, index = case
    anchor = _anchor(size)
    assert CHECK(_proof(anchor, index), anchor.to_document())


@given(
    st.integers(min_value=2, max_value=40).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1))
    )
)
def test_the_readme_check_refuses_forgeries(case: tuple[int, int]) -> None:
    size, index = case
    anchor = _anchor(size)
    document = anchor.to_document()
    forged = {**_proof(anchor, index), "leaf": _proof(anchor, index)["leaf"] + "0"}
    assert not CHECK(forged, document)
    elsewhere = {**_proof(anchor, index), "leaf_index": (index + 1) % size}
    assert not CHECK(elsewhere, document)
    other = _anchor(size + 1).to_document()
    assert not CHECK(_proof(anchor, index), other)
