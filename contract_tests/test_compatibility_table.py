"""The compatibility checker against a table of truths, through `formrelay schemas diff|check`.

Every change in compatibility_table.CHANGES is judged under each of the 7 modes by
`formrelay schemas diff --json` (the command a developer runs); every history in
HISTORIES by `formrelay schemas check --json` on a registry of one event type, where
transitive and non-transitive modes differ. Each verdict must be the table's, and
every witness a real counterexample: jsonschema (Draft7Validator with its format
checker) and the registry's compiled validator both accept it under the schema it must
be valid under and both refuse it under the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contract_tests.compatibility_table import (
    CHANGES,
    HISTORIES,
    MODES,
    Change,
    History,
)
from formrelay.cli.main import main
from formrelay.registry.schemas import CompiledSchema

FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER
EXIT = {True: 0, False: 1, None: 2}


def accepts(schema: Any, instance: Any) -> bool:
    """Whether both validators accept instance; a disagreement between them fails the test."""
    reference = jsonschema.Draft7Validator(schema, format_checker=FORMATS).is_valid(instance)
    compiled = CompiledSchema(schema).violations(instance) == []
    assert reference == compiled, f"the validators disagree on {instance!r} under {schema}"
    return reference


def is_counterexample(witness: Any, valid_under: Any, invalid_under: Any) -> bool:
    """Valid under one schema and invalid under the other."""
    return accepts(valid_under, witness) and not accepts(invalid_under, witness)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


def write(path: Path, document: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_the_table_covers_at_least_forty_changes_with_unique_ids() -> None:
    assert len(CHANGES) >= 40
    assert len({c.id for c in CHANGES}) == len(CHANGES)
    # both truths appear in both directions, and changes compatible both ways exist
    assert {(c.backward, c.forward) for c in CHANGES} == {
        (True, True),
        (True, False),
        (False, True),
        (False, False),
    }


CASES = [pytest.param(c, m, id=f"{c.id}-{m}") for c in CHANGES for m in MODES]


@pytest.mark.parametrize("change, mode", CASES)
def test_diff_gives_the_tables_verdict_with_real_witnesses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: Change, mode: str
) -> None:
    old, new = write(tmp_path / "old.json", change.old), write(tmp_path / "new.json", change.new)

    code, verdict = run_json(capsys, "schemas", "diff", old, new, "--mode", mode, "--json")

    expected = change.expected(mode)
    if verdict["compatible"] is None and change.may_be_undecided:
        assert verdict["undecided"], "undecided must say where"
    else:
        assert verdict["compatible"] is expected, verdict
    assert code == EXIT[verdict["compatible"]]
    assert verdict["mode"] == mode

    witnesses = [i["witness"] for i in verdict["incompatibilities"] if "witness" in i]
    for witness in witnesses:
        if mode.startswith("BACKWARD"):
            assert is_counterexample(witness, change.old, change.new), witness
        elif mode.startswith("FORWARD"):
            assert is_counterexample(witness, change.new, change.old), witness
        else:  # FULL: either direction, but a real one
            assert is_counterexample(witness, change.old, change.new) or is_counterexample(
                witness, change.new, change.old
            ), witness
    if verdict["compatible"] is False:
        # every incompatible verdict in this table can be shown by a small instance
        assert witnesses, f"no witness for {change.id} under {mode}"


HISTORY_CASES = [pytest.param(h, m, id=f"{h.id}-{m}") for h in HISTORIES for m in MODES]


@pytest.mark.parametrize("history, mode", HISTORY_CASES)
def test_check_judges_each_version_against_the_versions_its_mode_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, history: History, mode: str
) -> None:
    root = tmp_path / "schemas"
    write(root / "registry.json", {"events": {"sample.history": {"mode": mode}}})
    for number, schema in enumerate(history.versions, start=1):
        write(root / "events" / "sample.history" / f"{number}.json", schema)

    code, document = run_json(capsys, "schemas", "check", "--root", str(root), "--json")

    (only,) = document["types"]
    assert only["mode"] == mode
    verdicts = {v["version"]: v for v in only["versions"]}
    assert sorted(verdicts) == [1, 2, 3]
    for number, judged in verdicts.items():
        assert judged["compatible"] is history.expected(mode, number), (number, judged)
        for found in judged["incompatibilities"]:
            earlier = history.versions[found["against_version"] - 1]
            later = history.versions[number - 1]
            assert found["against_version"] < number
            if found["direction"] == "backward":
                assert is_counterexample(found["witness"], earlier, later), found
            else:
                assert is_counterexample(found["witness"], later, earlier), found
    overall = all(history.expected(mode, n) for n in verdicts)
    assert code == EXIT[overall]


def test_the_histories_show_transitive_and_latest_only_verdicts_differ() -> None:
    differing = [
        h
        for h in HISTORIES
        for m in ("BACKWARD", "FORWARD", "FULL")
        if h.expected(m, 3) != h.expected(f"{m}_TRANSITIVE", 3)
    ]
    assert len({h.id for h in differing}) >= 2
