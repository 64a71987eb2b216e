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
    """Where jsonschema finds document wrong; a missing required property at its own place."""
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    found = set()
    for error in validator.iter_errors(document):
        at = "".join(f"/{p}" for p in error.absolute_path)
        if error.validator == "required":
            found |= {f"{at}/{p}" for p in error.validator_value if p not in error.instance}
        else:
            found.add(at)
    return sorted(found)


def test_examples_of_the_registered_schema_are_all_accepted(
    capsys: pytest.CaptureFixture[str], stack: RunningStack
) -> None:
    # When the demo's contact form is contract-tested from its registered schema (GET)
    before = stack.received_submissions()
    code, out = contract_test(capsys, stack, "--examples", "12")

    # Then every example was accepted, through the real ingest: each is on record
    assert code == 0, out
    assert "contract test of form contact (registered version 1, seed 0)" in out
    assert "examples sent: 12, accepted: 12, rejected: 0; schema problems: 0" in out
    assert stack.received_submissions() == before + 12


def test_each_tenant_is_tested_against_its_own_form(
    capsys: pytest.CaptureFixture[str], stack: RunningStack
) -> None:
    # Given another tenant whose form "contact" requires only a topic
    other = stack.seed_second_tenant("contracts")

    # When its contact form is contract-tested with its key
    code = main(["contract-test", "--form", "contact", "--endpoint", stack.endpoint,
                 "--key-id", other["key_id"], "--secret", other["secret"], "--examples", "6",
                 "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)

    # Then every example was accepted: generated from its own schema (the demo tenant's has
    # no topic, which its ingest requires) and checked against it (not the demo's: email)
    assert code == 0, report
    assert report["accepted"] == 6 and report["rejected"] == []
    assert report["schema"] == "registered version 1"


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
    assert {"/email", "/name"} <= found  # e.g. an email left out, a name not a string


def test_the_text_report_shows_each_rejection_with_its_pointer_and_example(
    capsys: pytest.CaptureFixture[str], stack: RunningStack, tmp_path: Path
) -> None:
    code, out = contract_test(
        capsys, stack, "--schema", schema_file(tmp_path, LOOSER), "--examples", "8"
    )
    assert code == 1
    lines = out.splitlines()
    rejected = [i for i, line in enumerate(lines) if line.startswith("REJECTED example ")]
    assert rejected
    first = rejected[0]
    assert ": 422 " in lines[first]
    assert lines[first + 1].startswith("  /")  # pointer: message
    assert any(line.startswith("  example: {") for line in lines[first + 1 :])
