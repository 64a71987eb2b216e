"""Submissions generated from a form's JSON Schema, and what in the schema stood in the way.

Generation is hypothesis-jsonschema's, driven by hypothesis with a fixed seed (the same
seed and versions give the same examples, so a rejection can be reproduced). hypothesis
is a development dependency (the [contract] extra): it is imported inside `generate`
only, never when the CLI loads.

Only documents the ingest takes as JSON are kept: objects, encodable as UTF-8 (no lone
surrogates: generated text is UTF-8 already), finite numbers of at most 100 digits,
within the ingest's depth, key and size limits (checked by the ingest's own strict
parser). Any other draw is rejected and hypothesis draws again.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from formrelay.domain.errors import FormrelayError
from formrelay.domain.strict_json import MalformedJsonError, parse_body
from formrelay.intake.submissions import MAX_SUBMISSION_BYTES

# The formats hypothesis-jsonschema 0.23 draws strings of; for any other it draws any string.
GENERATED_FORMATS = frozenset(
    {
        "color", "date", "date-time", "email", "full-date", "full-time", "hostname",
        "idn-email", "idn-hostname", "iri", "iri-reference", "ipv4", "ipv6", "json-pointer",
        "partial-time", "regex", "relative-json-pointer", "time", "time-numoffset",
        "time-secfrac", "uri", "uri-reference", "uri-template",
    }
)  # fmt: skip

UNSATISFIABLE = "unsatisfiable"
UNSUPPORTED = "unsupported"
FORMAT = "format"


class ContractToolsMissingError(FormrelayError):
    """hypothesis or hypothesis-jsonschema is not installed (pip install 'formrelay[contract]')."""


@dataclass(frozen=True)
class SchemaProblem:
    """Something in the schema that kept examples from being generated as it says."""

    kind: str
    pointer: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        """{"kind", "pointer", "detail"}."""
        return {"kind": self.kind, "pointer": self.pointer, "detail": self.detail}


@dataclass
class Generated:
    """The examples, the problems met, and how many draws the ingest would not take as JSON."""

    examples: list[dict[str, Any]] = field(default_factory=list)
    problems: list[SchemaProblem] = field(default_factory=list)
    discarded: dict[str, int] = field(default_factory=dict)

    def discard(self, reason: str) -> None:
        """Count one draw left out, by reason."""
        self.discarded[reason] = self.discarded.get(reason, 0) + 1


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _formats(node: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """Every (pointer, format) in a schema, pointers into the schema document."""
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            yield pointer, node["format"]
        for key, child in node.items():
            if key not in ("const", "enum", "default", "examples"):
                yield from _formats(child, f"{pointer}/{_escape(key)}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _formats(child, f"{pointer}/{index}")


def format_problems(schema: dict[str, Any]) -> list[SchemaProblem]:
    """The formats hypothesis-jsonschema cannot generate (examples hold any string there)."""
    return [
        SchemaProblem(
            FORMAT,
            pointer,
            f"format {name!r} cannot be generated: examples hold any string there",
        )
        for pointer, name in _formats(schema)
        if name not in GENERATED_FORMATS
    ]


def submission_body(example: Any) -> bytes:
    """The body an example is sent as (UTF-8 JSON); ValueError if it cannot be JSON."""
    try:
        return json.dumps(example, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("a lone surrogate") from exc


def ingest_refusal(example: Any) -> str | None:
    """Why the ingest would not take this document as a submission's JSON, or None."""
    if not isinstance(example, dict):
        return "not an object"
    try:
        body = submission_body(example)
    except ValueError:
        return "not encodable as JSON"
    if len(body) > MAX_SUBMISSION_BYTES:
        return "over the size limit"
    try:
        parse_body(body)
    except MalformedJsonError:
        return "outside the ingest's JSON limits"
    return None


def _imports() -> tuple[Any, Any]:
    try:
        import hypothesis
        import hypothesis_jsonschema
    except ImportError as exc:
        raise ContractToolsMissingError(
            f"{exc.name} is not installed: pip install 'formrelay[contract]'"
        ) from exc
    return hypothesis, hypothesis_jsonschema


def generate(schema: dict[str, Any], count: int, seed: int) -> Generated:
    """Up to `count` distinct examples the schema allows and the ingest takes as JSON."""
    hypothesis, hypothesis_jsonschema = _imports()
    found = Generated(problems=format_problems(schema))
    seen: set[str] = set()

    def collect(example: Any) -> None:
        reason = ingest_refusal(example)
        key = json.dumps(example, sort_keys=True, ensure_ascii=False) if reason is None else ""
        if reason is None and key in seen:
            reason = "a repeat"
        if reason is not None:
            found.discard(reason)
            hypothesis.reject()
        seen.add(key)
        found.examples.append(example)

    run = hypothesis.given(hypothesis_jsonschema.from_schema(schema))(collect)
    run = hypothesis.settings(
        max_examples=count,
        database=None,
        derandomize=False,  # the seed decides (a loaded profile may say otherwise)
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )(run)
    run = hypothesis.seed(seed)(run)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nothing = _run(hypothesis, run, found)
    # What hypothesis-jsonschema warns of (a pattern it cannot read, ...) it generates nothing
    # for: then "unsatisfiable" would be a guess, the warning is the problem.
    unsupported = [
        SchemaProblem(UNSUPPORTED, "", str(w.message))
        for w in caught
        if "hypothesis_jsonschema" in w.filename
    ]
    found.problems += unsupported
    if nothing is not None and not (unsupported and nothing.kind == UNSATISFIABLE):
        found.problems.append(nothing)
    return found


def _run(hypothesis: Any, run: Any, found: Generated) -> SchemaProblem | None:
    """Run the generation; the problem that stopped it, if one did."""
    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        return _nothing_generated(found)
    except hypothesis.errors.InvalidArgument as exc:
        # Bounds hypothesis cannot meet (maxLength below minLength, ...): no document.
        return SchemaProblem(UNSATISFIABLE, "", f"no document fits: {exc}")
    except Exception as exc:  # what hypothesis-jsonschema raises for what it cannot read
        return SchemaProblem(UNSUPPORTED, "", f"hypothesis-jsonschema cannot generate: {exc}")
    return None


def _nothing_generated(found: Generated) -> SchemaProblem:
    if found.discarded:
        left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(found.discarded.items()))
        return SchemaProblem(
            UNSATISFIABLE, "", f"no example the ingest takes as JSON was drawn ({left_out})"
        )
    return SchemaProblem(UNSATISFIABLE, "", "no document satisfies the schema")
