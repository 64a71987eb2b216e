"""What a use case's refusal means to a client: asserted in one place.

Use cases raise `Problem` today; once they raise domain errors, this helper is
the one place to change (map the error through formrelay.api's table).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from formrelay.api.problems import Problem


@dataclass
class Refusal:
    """The refusal caught: filled in when the block has raised."""

    pointers: list[str] = field(default_factory=list)


@contextlib.contextmanager
def refused(status: int, slug: str) -> Iterator[Refusal]:
    """The block must refuse with this status and problem type (and its pointers are kept)."""
    refusal = Refusal()
    with pytest.raises(Problem) as caught:
        yield refusal
    assert (caught.value.status, caught.value.slug) == (status, slug), caught.value
    refusal.pointers = [error["pointer"] for error in caught.value.errors]
