"""Validation time per payload: the intake's compiled path against jsonschema (and jsonschema-rs).

The compiled path is formrelay.registry.schemas.CompiledSchema.violations: fastjsonschema
first, and on a failure jsonschema again to list every error (what a refusal really costs).
jsonschema is a Draft7Validator with FORMAT_CHECKER, built once, listing every error.
jsonschema-rs is measured when it is installed (it is not a dependency); absent otherwise.

Each figure times batches of calls with time.perf_counter_ns (garbage collection off
during a batch, as timeit does; no tracemalloc), a batch sized to last about half a
millisecond; medians and 95th percentiles are of the per-call times of the batches.

Prints a table and writes bench/results/validation.json. Run:
    .venv/bin/python bench/validation.py [--batches 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import copy
import gc
import importlib.metadata
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.registry.schemas import CompiledSchema

RESULTS = Path(__file__).parent / "results"
BATCH_NS = 500_000  # how long one timed batch should last

_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
_PHONE = {"type": "string", "pattern": r"^\+?[0-9 ()-]{6,20}$"}
_PERSON = {
    "type": "object",
    "required": ["name", "email"],
    "additionalProperties": False,
    "properties": {
        "name": _NAME,
        "email": {"type": "string", "format": "email"},
        "relation": {"enum": ["manager", "colleague", "client", "teacher"]},
    },
}

# A job application: 30 leaf fields, a nested object, arrays of objects, formats, enums.
APPLICATION_FORM_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "application",
    "type": "object",
    "required": ["first_name", "last_name", "email", "position", "address", "consent_privacy"],
    "additionalProperties": False,
    "properties": {
        "first_name": _NAME,
        "last_name": _NAME,
        "email": {"type": "string", "format": "email"},
        "phone": _PHONE,
        "birth_date": {"type": "string", "format": "date"},
        "submitted_at": {"type": "string", "format": "date-time"},
        "address": {
            "type": "object",
            "required": ["street", "city", "postal_code", "country"],
            "additionalProperties": False,
            "properties": {
                "street": {"type": "string", "maxLength": 200},
                "city": _NAME,
                "postal_code": {"type": "string", "pattern": r"^[A-Z0-9 -]{3,10}$"},
                "country": {"enum": ["DE", "FR", "GB", "IT", "NL", "PL", "SE", "US"]},
            },
        },
        "position": {"enum": ["engineer", "designer", "analyst", "manager", "support"]},
        "seniority": {"enum": ["junior", "mid", "senior", "lead"]},
        "salary_expectation": {"type": "integer", "minimum": 10_000, "maximum": 500_000},
        "currency": {"enum": ["EUR", "GBP", "USD", "SEK", "PLN"]},
        "start_date": {"type": "string", "format": "date"},
        "hours_per_week": {"type": "integer", "minimum": 4, "maximum": 60},
        "experience_years": {"type": "number", "minimum": 0, "maximum": 60},
        "remote": {"type": "boolean"},
        "relocation": {"type": "boolean"},
        "visa_required": {"type": "boolean"},
        "languages": {
            "type": "array",
            "maxItems": 10,
            "items": {
                "type": "object",
                "required": ["language", "level"],
                "properties": {
                    "language": {"type": "string", "pattern": "^[a-z]{2}$"},
                    "level": {"enum": ["A1", "A2", "B1", "B2", "C1", "C2", "native"]},
                },
            },
        },
        "skills": {
            "type": "array",
            "maxItems": 30,
            "uniqueItems": True,
            "items": {"type": "string", "minLength": 1, "maxLength": 50},
        },
        "availability": {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
        },
        "portfolio_url": {"type": "string", "maxLength": 300, "pattern": "^https://"},
        "linkedin": {"type": "string", "pattern": r"^https://(www\.)?linkedin\.com/in/"},
        "github": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,39}$"},
        "references": {"type": "array", "maxItems": 3, "items": _PERSON},
        "emergency_contact": {
            "type": "object",
            "required": ["name", "phone"],
            "properties": {"name": _NAME, "phone": _PHONE},
        },
        "cover_letter": {"type": "string", "maxLength": 10_000},
        "source": {"enum": ["website", "referral", "job_board", "event", "other"]},
        "referral_code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
        "consent_privacy": {"const": True},
        "consent_marketing": {"type": "boolean"},
        "notes": {"type": ["string", "null"], "maxLength": 2000},
    },
}

CONTACT_VALID = {"email": "ada@example.com", "name": "Ada", "message": "x" * 500}
# Two errors: a bad email and no name.
CONTACT_INVALID = {"email": "ada-at-example.com", "message": "x" * 500}

APPLICATION_VALID: dict[str, Any] = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "birth_date": "1990-12-10",
    "submitted_at": "2026-12-02T13:30:00Z",
    "address": {
        "street": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    },
    "position": "engineer",
    "seniority": "senior",
    "salary_expectation": 95_000,
    "currency": "GBP",
    "start_date": "2027-02-01",
    "hours_per_week": 40,
    "experience_years": 12.5,
    "remote": True,
    "relocation": False,
    "visa_required": False,
    "languages": [
        {"language": "en", "level": "native"},
        {"language": "fr", "level": "B2"},
        {"language": "it", "level": "A2"},
    ],
    "skills": ["python", "analysis", "engines", "mathematics", "writing", "dynamodb"],
    "availability": ["mon", "tue", "wed", "thu"],
    "portfolio_url": "https://ada.example.com/work",
    "linkedin": "https://www.linkedin.com/in/ada-lovelace",
    "github": "ada-l",
    "references": [
        {"name": "Charles Babbage", "email": "charles@example.com", "relation": "manager"},
        {"name": "Mary Somerville", "email": "mary@example.com", "relation": "teacher"},
    ],
    "emergency_contact": {"name": "Anne Byron", "phone": "+44 20 7946 0000"},
    "cover_letter": "I would like to build engines that compute. " * 40,
    "source": "referral",
    "referral_code": "ENG-0042",
    "consent_privacy": True,
    "consent_marketing": False,
    "notes": None,
}


def _application_invalid() -> dict[str, Any]:
    """Five mistakes a real form gets: bad email, salary out of range, an unknown language
    level, a missing postal code, a property the form does not have."""
    payload = copy.deepcopy(APPLICATION_VALID)
    payload["email"] = "ada.example.com"
    payload["salary_expectation"] = 5_000_000
    payload["languages"][1]["level"] = "fluent"
    del payload["address"]["postal_code"]
    payload["favourite_colour"] = "green"
    return payload


CASES: list[tuple[str, dict[str, Any], str, Any]] = [
    ("contact", CONTACT_FORM_SCHEMA, "valid", CONTACT_VALID),
    ("contact", CONTACT_FORM_SCHEMA, "invalid", CONTACT_INVALID),
    ("application", APPLICATION_FORM_SCHEMA, "valid", APPLICATION_VALID),
    ("application", APPLICATION_FORM_SCHEMA, "invalid", _application_invalid()),
]

Validate = Callable[[Any], list[Any]]


def _jsonschema_rs() -> Any | None:
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs


def validators(schema: dict[str, Any]) -> dict[str, Validate]:
    """Every contender, each answering with every error of a document (or none)."""
    compiled = CompiledSchema(schema)
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    built_once = jsonschema.Draft7Validator(schema, format_checker=checker)
    first_error_only = fastjsonschema.compile(schema)

    def fastjsonschema_alone(document: Any) -> list[Any]:
        try:
            first_error_only(document)
        except fastjsonschema.JsonSchemaValueException as exc:
            return [exc]
        return []

    contenders: dict[str, Validate] = {
        "compiled": compiled.violations,
        "fastjsonschema (first error only)": fastjsonschema_alone,
        "jsonschema": lambda document: list(built_once.iter_errors(document)),
        # What the compiled path pays on a refusal today: a validator built per document.
        "jsonschema (validator built per call)": lambda document: list(
            jsonschema.Draft7Validator(schema, format_checker=checker).iter_errors(document)
        ),
    }
    rs = _jsonschema_rs()
    if rs is not None:
        rs_validator = rs.Draft7Validator(schema, validate_formats=True)
        contenders["jsonschema-rs"] = lambda document: list(rs_validator.iter_errors(document))
    return contenders


def _batch_size(validate: Validate, document: Any) -> int:
    """How many calls last about BATCH_NS (at least one)."""
    calls = 1
    while True:
        started = time.perf_counter_ns()
        for _ in range(calls):
            validate(document)
        if time.perf_counter_ns() - started >= BATCH_NS or calls >= 1 << 20:
            return calls
        calls *= 2


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(validate: Validate, document: Any, batches: int) -> dict[str, float | int]:
    """Median and p95 microseconds per call over `batches` timed batches."""
    size = _batch_size(validate, document)
    per_call_us: list[float] = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(batches):
            started = time.perf_counter_ns()
            for _ in range(size):
                validate(document)
            per_call_us.append((time.perf_counter_ns() - started) / size / 1000)
    finally:
        gc.enable()
    ordered = sorted(per_call_us)
    return {
        "median_us": round(statistics.median(ordered), 2),
        "p95_us": round(_percentile(ordered, 0.95), 2),
        "calls": size * batches,
        "errors_reported": len(validate(document)),
    }


def _ratios(figures: dict[str, dict[str, float | int]]) -> dict[str, float]:
    """How many times slower than the compiled path each contender is (medians)."""
    base = float(figures["compiled"]["median_us"])
    return {
        f"{name} / compiled": round(float(f["median_us"]) / base, 2)
        for name, f in figures.items()
        if name != "compiled"
    }


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _verdict_on_rs(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Does jsonschema-rs beat the compiled path (fastjsonschema first) on our payloads?"""
    if _jsonschema_rs() is None:
        return {"available": False}
    speedups = {
        f"{c['form']}/{c['payload']}": round(
            c["figures"]["compiled"]["median_us"] / c["figures"]["jsonschema-rs"]["median_us"], 2
        )
        for c in cases
    }
    return {
        "available": True,
        "version": _version("jsonschema-rs"),
        "compiled_over_rs": speedups,
        "beats_compiled_on": sorted(case for case, s in speedups.items() if s > 1.0),
    }


def run(batches: int) -> dict[str, Any]:
    """Every case against every contender."""
    cases = []
    for form, schema, kind, payload in CASES:
        contenders = validators(schema)
        violations = len(CompiledSchema(schema).violations(payload))
        assert (violations == 0) == (kind == "valid"), (form, kind, violations)
        figures = {name: measure(v, payload, batches) for name, v in contenders.items()}
        cases.append(
            {
                "form": form,
                "payload": kind,
                "payload_bytes": len(json.dumps(payload)),
                "violations": violations,
                "figures": figures,
                "ratios": _ratios(figures),
            }
        )
    return {
        "python": platform.python_version(),
        "versions": {
            "fastjsonschema": _version("fastjsonschema"),
            "jsonschema": _version("jsonschema"),
            # None when it cannot be imported, installed or not
            "jsonschema-rs": _version("jsonschema-rs") if _jsonschema_rs() else None,
        },
        "batches": batches,
        "cases": cases,
        "jsonschema_rs": _verdict_on_rs(cases),
    }


def print_table(results: dict[str, Any]) -> None:
    """One line per case and contender: median, p95, times the compiled path."""
    print(
        f"{'form/payload':<20} {'validator':<38} {'median us':>10} {'p95 us':>9} "
        f"{'x compiled':>10} {'errors':>6}"
    )
    for case in results["cases"]:
        base = case["figures"]["compiled"]["median_us"]
        label = f"{case['form']}/{case['payload']}"
        for name, figure in case["figures"].items():
            ratio = figure["median_us"] / base
            print(
                f"{label:<20} {name:<38} {figure['median_us']:>10.2f} "
                f"{figure['p95_us']:>9.2f} {ratio:>10.2f} {figure['errors_reported']:>6}"
            )
            label = ""
    rs = results["jsonschema_rs"]
    if not rs["available"]:
        print("jsonschema-rs: absent (pip install jsonschema-rs to compare it)")
    else:
        print(
            f"jsonschema-rs {rs['version']} is faster than the compiled path on: "
            f"{', '.join(rs['beats_compiled_on']) or 'none'}"
        )


def main(argv: list[str] | None = None) -> None:
    """Measure, print, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300, help="timed batches per figure")
    parser.add_argument("--out", type=Path, default=RESULTS / "validation.json")
    args = parser.parse_args(argv)
    results = run(args.batches)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"written: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
