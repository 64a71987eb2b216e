"""`formrelay contract-test` against the local stack: generated submissions through the real
signed ingest, every refusal reported with the API's own pointers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.cli.main import main
from tests.e2e.conftest import RunningStack

# Looser than the registered contact form: email neither required nor an address, name any type.
LOOSER = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "email": {"type": "string"},
        "name": {},
        "message": {"type": "string", "maxLength": 5000},
    },
}


def contract_test(
    capsys: pytest.CaptureFixture[str], stack: RunningStack, *argv: str
) -> tuple[int, str]:
    credentials = ["--endpoint", stack.endpoint, "--key-id", stack.demo["key_id"]]
    code = main(["contract-test", "--form", "contact", *credentials,
                 "--secret", stack.demo["secret"], *argv])  # fmt: skip
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out


def schema_file(tmp_path: Path, schema: dict[str, Any]) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    return str(path)


def _pointers(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return sorted(
        "".join(f"/{p}" for p in e.absolute_path) for e in validator.iter_errors(document)
    )


def test_examples_of_the_registered_schema_are_all_accepted(
    capsys: pytest.CaptureFixture[str], stack: RunningStack, tmp_path: Path
) -> None:
    before = stack.received_submissions()
    code, out = contract_test(
        capsys, stack, "--schema", schema_file(tmp_path, CONTACT_FORM_SCHEMA), "--examples", "12"
    )
    assert code == 0, out
    assert "examples sent: 12, accepted: 12, rejected: 0; schema problems: 0" in out
    # and they went through the real ingest: each is on record
    assert stack.received_submissions() == before + 12


def test_a_looser_schema_is_caught_with_the_apis_pointers(
    capsys: pytest.CaptureFixture[str], stack: RunningStack, tmp_path: Path
) -> None:
    # When examples of a schema looser than the registered one are sent
    code, out = contract_test(
        capsys, stack, "--schema", schema_file(tmp_path, LOOSER), "--examples", "15", "--json"
    )
    report = json.loads(out)

    # Then the test fails, naming each refused example with the API's errors
    assert code == 1
    assert report["rejected"], report
    assert report["accepted"] + len(report["rejected"]) == report["examples"] == 15
    for rejection in report["rejected"]:
        assert rejection["status"] == 422
        # the pointers are the API's, and exactly what the registered schema objects to
        pointers = sorted(error["pointer"] for error in rejection["errors"])
        assert pointers == _pointers(CONTACT_FORM_SCHEMA, rejection["example"])
    found = {e["pointer"] for r in report["rejected"] for e in r["errors"]}
    assert "/name" in found or "/email" in found


def test_the_text_report_shows_each_rejection_with_its_pointer_and_example(
    capsys: pytest.CaptureFixture[str], stack: RunningStack, tmp_path: Path
) -> None:
    code, out = contract_test(
        capsys, stack, "--schema", schema_file(tmp_path, LOOSER), "--examples", "15"
    )
    assert code == 1
    lines = out.splitlines()
    rejected = [i for i, line in enumerate(lines) if line.startswith("REJECTED example ")]
    assert rejected
    first = rejected[0]
    assert ": 422 " in lines[first]
    assert lines[first + 1].startswith("  /")  # pointer: message
    assert any(line.startswith("  example: {") for line in lines[first + 1 :])
