"""The report `formrelay contract-test` prints: each rejection readable, and safe on a terminal."""

from __future__ import annotations

import io

from formrelay.cli.contract_examples import FORMAT, Generated, SchemaProblem
from formrelay.cli.contract_test import Rejection, Report, print_report


def test_a_rejection_shows_its_pointers_and_example_with_control_characters_escaped() -> None:
    example = {"name": "\x1b[2J", "email": "x"}
    problem = {
        "title": "Submission does not match the form's schema",
        "errors": [
            {"pointer": "/email", "message": "'x' is not a 'email'"},
            {"pointer": "", "message": "'\x1b[2J' is bad"},
        ],
    }
    report = Report(
        "contact",
        "file next.json",
        0,
        Generated(
            examples=[example, {"name": "Ada", "email": "ada@example.com"}],
            problems=[SchemaProblem(FORMAT, "/properties/p", "format 'phone' cannot be generated")],
        ),
        accepted=1,
        rejections=[Rejection(1, 422, problem, example)],
    )
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()

    assert "\x1b" not in text
    assert text.splitlines() == [
        "contract test of form contact (file next.json, seed 0)",
        "REJECTED example 1: 422 Submission does not match the form's schema",
        "  /email: 'x' is not a 'email'",
        "  (document): '\\x1b[2J' is bad",
        '  example: {"name": "\\u001b[2J", "email": "x"}',
        "SCHEMA PROBLEM (format) at /properties/p: format 'phone' cannot be generated",
        "examples sent: 2, accepted: 1, rejected: 1; schema problems: 1",
    ]
    assert not report.passed
