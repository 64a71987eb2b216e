"""What a use case's refusal means to a client: asserted in one place.

Use cases raise domain errors; what a client gets for one is what the error
map in formrelay.api says, so that is what a refusal is checked against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from formrelay.api.errors import problem_for
from formrelay.domain.errors import FormrelayError


@dataclass
class Refusal:
    """The refusal caught: filled in when the block has raised."""

    pointers: list[str] = field(default_factory=list)


@contextlib.contextmanager
def refused(status: int, slug: str) -> Iterator[Refusal]:
    """The block must refuse with this status and problem type (and its pointers are kept)."""
    refusal = Refusal()
    with pytest.raises(FormrelayError) as caught:
        yield refusal
    problem = problem_for(caught.value)
    assert problem is not None, f"{caught.value!r} is not in the error map: a 500"
    assert (problem.status, problem.slug) == (status, slug), problem
    refusal.pointers = [error["pointer"] for error in problem.errors]
