"""Functions import only what they use: the compatibility checker (its prover and
greenery's automata, ~75 ms cold) belongs to the forms function alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECKER = ("formrelay.registry.inclusion", "greenery")


@pytest.mark.parametrize("handler", ["ingest", "authorizer", "query", "connector"])
def test_a_function_that_registers_no_form_does_not_import_the_checker(handler: str) -> None:
    probe = (
        f"import sys, handlers.{handler}; "
        f"print(','.join(m for m in {CHECKER!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_forms_function_does_import_it() -> None:
    probe = "import sys, handlers.forms; print('greenery' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
