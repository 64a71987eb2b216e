"""`formrelay schemas diff|check`: exit codes, what each prints, the CI gate on the event registry.

`check` is the gate `make check` runs: given a copy of the repository's schemas/ with
one event type evolved, it passes a compatible version and fails an incompatible one,
naming the type, the version, the pointer and a witness that really is one. A broken
layout (a gap in versions, a type the manifest does not name) is refused as such.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from formrelay.cli.main import main
from formrelay.registry.event_registry import MANIFEST, read_manifest, read_registry
from formrelay.registry.schemas import CompiledSchema, event_schema, schemas_root

EVENT = "delivery.failed"
OBJECT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"name": {"type": "string"}},
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    return int(str(exited.value.code)), capsys.readouterr().err


def write(path: Path, document: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A copy of the repository's event registry, to evolve."""
    root = tmp_path / "schemas"
    shutil.copytree(schemas_root(), root)
    return root


def v1(root: Path, event_type: str = EVENT) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((root / "events" / event_type / "1.json").read_text())
    return document


def with_property(schema: dict[str, Any], name: str, rules: Any, *, required: bool) -> Any:
    evolved = json.loads(json.dumps(schema))
    evolved["properties"][name] = rules
    if required:
        evolved["required"] = [*evolved.get("required", []), name]
    return evolved


def set_mode(root: Path, event_type: str, mode: str) -> None:
    manifest = json.loads((root / MANIFEST).read_text())
    manifest["events"][event_type] = {"mode": mode}
    write(root / MANIFEST, manifest)


# --- the gate on the real registry ---------------------------------------------------


def test_the_repositorys_event_registry_passes_the_gate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schemas", "check")
    assert code == 0
    histories = read_registry(schemas_root())
    assert len(histories) >= 6
    for history in histories:  # one row per type and version
        for version in range(1, len(history.schemas) + 1):
            assert f"{history.event_type}" in out and f"v{version}" in out
    assert "all compatible" in out


def test_every_type_in_the_manifest_has_schemas_the_event_store_loads() -> None:
    modes = read_manifest(schemas_root())
    histories = {h.event_type: h for h in read_registry(schemas_root())}
    assert set(modes) == set(histories)
    for event_type, history in histories.items():
        for version, schema in enumerate(history.schemas, start=1):
            assert event_schema(event_type, version).schema == schema


def test_event_types_are_held_at_least_to_backward_transitive() -> None:
    # stored events are read back forever by later code: every version, not only the last
    assert set(read_manifest(schemas_root()).values()) <= {
        "BACKWARD_TRANSITIVE",
        "FULL_TRANSITIVE",
    }


# --- the gate on an evolved copy -------------------------------------------------------


def test_a_new_required_property_fails_the_gate_with_type_version_pointer_and_witness(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    # Given v2 of an event type requires a property v1 never had (a default or not:
    # validators do not fill defaults, so stored v1 events would fail v2)
    first = v1(registry)
    second = with_property(first, "channel", {"type": "string", "default": "web"}, required=True)
    write(registry / "events" / EVENT / "2.json", second)

    # When the gate runs
    code, out, _ = run(capsys, "schemas", "check", "--root", str(registry))

    # Then it fails, naming the type, the version, the pointer and a witness
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith(EVENT) and " v2 " in line)
    assert "INCOMPATIBLE" in row
    assert "/required (backward, against v1)" in out
    assert "witness: {" in out
    assert "1 incompatible" in out

    # and the JSON says the same, with a witness valid under v1 and invalid under v2
    code, out, _ = run(capsys, "schemas", "check", "--root", str(registry), "--json")
    assert code == 1
    document = json.loads(out)
    assert document["compatible"] is False
    versions = next(t for t in document["types"] if t["type"] == EVENT)["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["compatible"] is True
    found = versions[1]["incompatibilities"]
    assert versions[1]["compatible"] is False and found
    required = next(i for i in found if i["pointer"] == "/required")
    assert required["direction"] == "backward" and required["against_version"] == 1
    assert "channel" in required["reason"]
    assert CompiledSchema(first).violations(required["witness"]) == []
    assert CompiledSchema(second).violations(required["witness"]) != []
    # every other type is untouched and passes
    others = [t for t in document["types"] if t["type"] != EVENT]
    assert others and all(v["compatible"] for t in others for v in t["versions"])


def test_a_new_optional_property_in_a_closed_model_passes_the_gate(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    second = with_property(v1(registry), "channel", {"type": "string"}, required=False)
    write(registry / "events" / EVENT / "2.json", second)

    code, out, _ = run(capsys, "schemas", "check", "--root", str(registry))

    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(EVENT) and " v2 " in line)
    assert row.endswith("compatible")
    assert "8 versions: all compatible" in out


EVENT_TYPES = sorted(read_manifest(schemas_root()))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_passes_an_optional_v2_and_never_a_required_one(
    capsys: pytest.CaptureFixture[str], registry: Path, event_type: str
) -> None:
    first = v1(registry, event_type)
    second = registry / "events" / event_type / "2.json"

    write(second, with_property(first, "channel", {"type": "string"}, required=False))
    assert run(capsys, "schemas", "check", "--root", str(registry))[0] == 0

    write(second, with_property(first, "channel", {"type": "string"}, required=True))
    code, out, _ = run(capsys, "schemas", "check", "--root", str(registry))
    # 1 with a witness; 2 (undecided) where the checker cannot build an old instance
    # (submission.received: its body_sha256 pattern): either fails `make check`
    assert code in (1, 2), out
    if code == 1:
        assert "/required (backward, against v1)" in out and "witness: {" in out


def test_transitive_modes_judge_a_version_against_every_earlier_one(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    # v2 drops `name`, v3 brings it back as an integer: v3 accepts what v2 did, but not
    # the v1 events whose name is a string
    events = registry / "events" / "sample.evolved"
    write(events / "1.json", OBJECT)
    write(events / "2.json", {**OBJECT, "properties": {}})
    write(events / "3.json", {**OBJECT, "properties": {"name": {"type": "integer"}}})

    set_mode(registry, "sample.evolved", "BACKWARD")
    code, out, _ = run(capsys, "schemas", "check", "--root", str(registry), "--json")
    versions = next(t for t in json.loads(out)["types"] if t["type"] == "sample.evolved")
    assert code == 1
    assert [v["compatible"] for v in versions["versions"]] == [True, False, True]

    set_mode(registry, "sample.evolved", "BACKWARD_TRANSITIVE")
    code, out, _ = run(capsys, "schemas", "check", "--root", str(registry), "--json")
    versions = next(t for t in json.loads(out)["types"] if t["type"] == "sample.evolved")
    assert code == 1
    assert [v["compatible"] for v in versions["versions"]] == [True, False, False]
    third = versions["versions"][2]["incompatibilities"]
    assert {i["against_version"] for i in third} == {1}
    for found in third:
        assert CompiledSchema(OBJECT).violations(found["witness"]) == []
        assert CompiledSchema(json.loads((events / "3.json").read_text())).violations(
            found["witness"]
        )


def test_a_gap_in_versions_is_a_broken_registry(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    write(registry / "events" / EVENT / "3.json", v1(registry))

    code, out, err = run(capsys, "schemas", "check", "--root", str(registry))

    assert code == 4
    assert out == ""
    assert f"{EVENT}: versions must run 1..3; missing 2.json" in err


def test_a_type_the_manifest_does_not_name_is_a_broken_registry(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    write(registry / "events" / "form.archived" / "1.json", OBJECT)

    code, _, err = run(capsys, "schemas", "check", "--root", str(registry))

    assert code == 4
    assert f"event type form.archived has schemas but no entry in {MANIFEST}" in err


def test_a_manifest_entry_without_schemas_and_a_bad_mode_are_each_reported(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    set_mode(registry, "form.archived", "BACKWARD_TRANSITIVE")
    set_mode(registry, EVENT, "SIDEWAYS")

    code, _, err = run(capsys, "schemas", "check", "--root", str(registry), "--json")

    assert code == 4
    assert "names event type form.archived, which has no schemas" in err
    assert f'{EVENT} needs {{"mode": one of NONE, BACKWARD' in err


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("2.json", "{not json", "is not JSON"),
        ("2.json", json.dumps({"type": "text"}), "not a valid JSON Schema"),
        ("v2.json", json.dumps(OBJECT), "is not a version's schema"),
    ],
    ids=["not-json", "not-a-schema", "misnamed"],
)
def test_a_version_file_that_is_not_a_schema_is_a_broken_registry(
    capsys: pytest.CaptureFixture[str], registry: Path, name: str, content: str, says: str
) -> None:
    (registry / "events" / EVENT / name).write_text(content, encoding="utf-8")

    code, _, err = run(capsys, "schemas", "check", "--root", str(registry))

    assert code == 4
    assert says in err and name in err


# --- schemas diff ----------------------------------------------------------------------


def test_diff_of_a_compatible_change_exits_0_with_the_verdict_object(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    old = write(tmp_path / "old.json", OBJECT)
    new = write(
        tmp_path / "new.json", with_property(OBJECT, "age", {"type": "integer"}, required=False)
    )

    code, out, _ = run(capsys, "schemas", "diff", old, new, "--json")

    assert code == 0
    assert json.loads(out) == {
        "compatible": True,
        "mode": "BACKWARD",  # the default
        "incompatibilities": [],
        "undecided": [],
    }
    assert out.count("\n") == 1  # exactly one object
    code, out, _ = run(capsys, "schemas", "diff", old, new)
    assert (code, out) == (0, "BACKWARD: compatible\n")


def test_diff_of_an_incompatible_change_exits_1_with_every_reason_and_witness(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given v2 narrows name and adds a property v1 refused: neither reads the other's data
    narrowed = {**OBJECT, "properties": {"name": {"type": "string", "maxLength": 3}}}
    newer = with_property(narrowed, "age", {"type": "integer"}, required=False)
    old, new = write(tmp_path / "old.json", OBJECT), write(tmp_path / "new.json", newer)

    code, out, _ = run(capsys, "schemas", "diff", old, new, "--mode", "full", "--json")

    assert code == 1
    document = json.loads(out)
    assert set(document) == {"compatible", "mode", "incompatibilities", "undecided"}
    assert document["compatible"] is False and document["mode"] == "FULL"
    pointers = {i["pointer"] for i in document["incompatibilities"]}
    assert "/properties/name/maxLength" in pointers
    for found in document["incompatibilities"]:
        assert set(found) == {"pointer", "reason", "witness"}
        accepted = [CompiledSchema(s).violations(found["witness"]) == [] for s in (OBJECT, newer)]
        assert sorted(accepted) == [False, True]  # one schema takes it, the other refuses it

    code, out, _ = run(capsys, "schemas", "diff", old, new, "--mode", "FULL")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"FULL: INCOMPATIBLE ({len(document['incompatibilities'])} reasons)"
    for found in document["incompatibilities"]:
        compact = json.dumps(found["witness"], separators=(",", ":"))
        assert f"    witness: {compact}" in lines
        assert any(line.startswith(f"  {found['pointer']} (") for line in lines)


def test_diff_exits_2_and_says_what_it_could_not_decide(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    old = write(tmp_path / "old.json", {"type": "string"})
    new = write(tmp_path / "new.json", {"$ref": "https://schemas.example/name.json"})

    code, out, _ = run(capsys, "schemas", "diff", old, new, "--json")
    document = json.loads(out)
    assert code == 2
    assert document["compatible"] is None and document["incompatibilities"] == []
    assert document["undecided"] and {"pointer", "reason"} == set(document["undecided"][0])

    code, out, _ = run(capsys, "schemas", "diff", old, new)
    assert code == 2
    assert out.startswith("BACKWARD: undecided")
    assert "https://schemas.example/name.json" in out


@pytest.mark.parametrize("mode", ["none", "Backward_Transitive", "FORWARD", "full_transitive"])
def test_diff_takes_every_mode_in_any_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: str
) -> None:
    same = write(tmp_path / "same.json", OBJECT)

    code, out, _ = run(capsys, "schemas", "diff", same, same, "--mode", mode, "--json")

    assert code == 0
    assert json.loads(out)["mode"] == mode.upper()


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "holds no JSON object"),
        (json.dumps({"type": "text"}), "not a valid JSON Schema"),
    ],
    ids=["missing", "not-json", "not-an-object", "not-a-schema"],
)
def test_diff_of_a_file_that_is_not_a_schema_exits_4(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, says: str
) -> None:
    good = write(tmp_path / "good.json", OBJECT)
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")

    code, out, err = run(capsys, "schemas", "diff", good, str(bad))

    assert code == 4
    assert out == ""
    assert says in err


def test_a_wrong_command_line_exits_4_not_the_undecided_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    same = write(tmp_path / "same.json", OBJECT)

    code, err = usage_error(capsys, "schemas", "diff", same, same, "--mode", "sideways")
    assert code == 4
    assert "no mode 'sideways': one of NONE, BACKWARD" in err

    code, _ = usage_error(capsys, "schemas", "diff", same)
    assert code == 4


def test_a_missing_manifest_and_a_stray_file_are_each_reported(
    capsys: pytest.CaptureFixture[str], registry: Path
) -> None:
    (registry / MANIFEST).unlink()
    (registry / "events" / "notes.txt").write_text("not a type", encoding="utf-8")

    code, _, err = run(capsys, "schemas", "check", "--root", str(registry))

    assert code == 4
    assert f"{registry / MANIFEST} is missing" in err
    assert "notes.txt is not an event type's directory" in err
