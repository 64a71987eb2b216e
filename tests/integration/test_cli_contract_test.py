"""`formrelay contract-test` over real HTTP against a scripted API: what it sends, how it
waits out a rate limit, how it reports schema problems and bad input.

The scripted server answers every submission as it is told (200 unless scripted), so
these tests show the command's side; tests/e2e/test_contract_test.py runs it against the
local stack's real ingest.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.cli.main import main
from tests.support.scripted_receiver import Answer, ScriptedReceiver

SUBMISSIONS = "/v1/forms/contact/submissions"


@pytest.fixture
def api() -> Iterator[ScriptedReceiver]:
    receiver = ScriptedReceiver().start()
    yield receiver
    receiver.stop()


def schema_file(tmp_path: Path, schema: Any) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    return str(path)


def contract_test(
    capsys: pytest.CaptureFixture[str], api: ScriptedReceiver, *argv: str
) -> tuple[int, str, str]:
    code = main(
        ["contract-test", "--form", "contact", "--endpoint", api.url, "--key-id", "k.0123",
         "--secret", "s" * 40, *argv]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_a_rate_limited_example_is_sent_again_after_retry_after_not_reported(
    capsys: pytest.CaptureFixture[str], api: ScriptedReceiver, tmp_path: Path
) -> None:
    # Given an API that answers the first submission 429 with Retry-After: 1
    api.play(SUBMISSIONS, [Answer(429, {"retry-after": "1"})])
    started = time.monotonic()

    # When one example is contract-tested
    code, out, _ = contract_test(
        capsys, api, "--schema", schema_file(tmp_path, CONTACT_FORM_SCHEMA), "--examples", "1"
    )

    # Then it waited the second asked for, sent the same example again, and it passed
    assert time.monotonic() - started >= 1.0
    bodies = [r["body"] for r in api.requests(SUBMISSIONS)]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert code == 0
    assert "examples sent: 1, accepted: 1, rejected: 0; schema problems: 0" in out


def test_every_example_is_signed_valid_json_of_the_schema_and_a_seed_repeats_them(
    capsys: pytest.CaptureFixture[str], api: ScriptedReceiver, tmp_path: Path
) -> None:
    schema = schema_file(tmp_path, CONTACT_FORM_SCHEMA)
    code, out, _ = contract_test(capsys, api, "--schema", schema, "--examples", "5", "--json")
    first = api.requests(SUBMISSIONS)
    assert code == 0 and json.loads(out)["accepted"] == 5
    assert all(r["headers"]["x-fr-signature"] for r in first)
    assert all({"email", "name"} <= json.loads(r["body"]).keys() for r in first)

    contract_test(capsys, api, "--schema", schema, "--examples", "5")
    again = api.requests(SUBMISSIONS)[5:]
    assert [r["body"] for r in again] == [r["body"] for r in first]


def test_an_unsatisfiable_schema_sends_nothing_and_fails_with_the_problem(
    capsys: pytest.CaptureFixture[str], api: ScriptedReceiver, tmp_path: Path
) -> None:
    schema = {"type": "string", "minLength": 5, "maxLength": 2}
    code, out, _ = contract_test(capsys, api, "--schema", schema_file(tmp_path, schema))
    assert code == 1
    assert "SCHEMA PROBLEM (unsatisfiable)" in out
    assert api.requests() == []


def test_an_unknown_format_fails_the_test_even_when_every_example_is_accepted(
    capsys: pytest.CaptureFixture[str], api: ScriptedReceiver, tmp_path: Path
) -> None:
    schema = {**CONTACT_FORM_SCHEMA, "properties": {
        **CONTACT_FORM_SCHEMA["properties"], "phone": {"type": "string", "format": "phone"}
    }}  # fmt: skip
    code, out, _ = contract_test(
        capsys, api, "--schema", schema_file(tmp_path, schema), "--examples", "3", "--json"
    )
    report = json.loads(out)
    assert code == 1
    assert report["accepted"] == 3 and report["rejected"] == []
    assert report["schema_problems"] == [
        {
            "kind": "format",
            "pointer": "/properties/phone",
            "detail": "format 'phone' cannot be generated: examples hold any string there",
        }
    ]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refused_key_or_unknown_form_stops_the_test_as_bad_input(
    capsys: pytest.CaptureFixture[str], api: ScriptedReceiver, tmp_path: Path, status: int
) -> None:
    api.play(SUBMISSIONS, [Answer(status)])
    code, _, err = contract_test(
        capsys, api, "--schema", schema_file(tmp_path, {}), "--examples", "1"
    )
    assert code == 2
    assert f"refused to take submissions to form contact: {status}" in err
    assert len(api.requests()) == 1


@pytest.mark.parametrize(
    "content, complaint",
    [
        ("{not json", "is not JSON"),
        ('{"type": 5}', "is not a JSON Schema"),
        ("[]", "no JSON object"),
    ],
)
def test_a_schema_file_that_is_no_schema_is_bad_input(
    capsys: pytest.CaptureFixture[str],
    api: ScriptedReceiver,
    tmp_path: Path,
    content: str,
    complaint: str,
) -> None:
    path = tmp_path / "schema.json"
    path.write_text(content)
    code, _, err = contract_test(capsys, api, "--schema", str(path))
    assert code == 2 and complaint in err
    assert api.requests() == []


def test_an_unreachable_api_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    receiver = ScriptedReceiver().start()
    receiver.stop()  # nothing listens there any more
    code, _, err = contract_test(capsys, receiver, "--schema", schema_file(tmp_path, {}))
    assert code == 3 and "could not reach the API" in err


def test_without_the_contract_extra_the_command_says_what_to_install(
    capsys: pytest.CaptureFixture[str],
    api: ScriptedReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis_jsonschema", None)  # import fails as if absent
    code, _, err = contract_test(capsys, api, "--schema", schema_file(tmp_path, {}))
    assert code == 2
    assert "hypothesis_jsonschema is not installed: pip install 'formrelay[contract]'" in err
