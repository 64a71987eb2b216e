"""`formrelay forms put|get|list` through the signed API of a local stack.

Given a local stack of the real authorizer and forms handler (the Views table as
infra/template.yaml declares it) and two tenants with admin keys, each test runs the
command line as a tenant's developer would, with the key's flags.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from formrelay.cli.forms import refusal
from formrelay.cli.main import main
from formrelay.composition import Services
from formrelay.local.dev import LocalStack
from tests.support.signed_api import SIGNED_HTTP_API

CONTACT: dict[str, Any] = {
    "type": "object",
    "required": ["email"],
    "properties": {"email": {"type": "string"}},
}
STRICTER: dict[str, Any] = {**CONTACT, "required": ["email", "name"]}

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 30
    Environment:
      Variables:
        VIEWS_TABLE: !Ref ViewsTable
        TENANT_SECRET_PREFIX: formrelay/tenants/
        POWERTOOLS_SERVICE_NAME: formrelay
        POWERTOOLS_LOG_LEVEL: WARNING
Resources:
  ViewsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{AttributeName: pk, AttributeType: S}}
        - {{AttributeName: sk, AttributeType: S}}
      KeySchema:
        - {{AttributeName: pk, KeyType: HASH}}
        - {{AttributeName: sk, KeyType: RANGE}}
{SIGNED_HTTP_API}  FormsFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handlers.forms.handler
      Events:
        ListForms:
          Type: HttpApi
          Properties: {{ApiId: !Ref HttpApi, Method: GET, Path: /v1/forms}}
        PutForm:
          Type: HttpApi
          Properties: {{ApiId: !Ref HttpApi, Method: PUT, Path: "/v1/forms/{{form_id}}"}}
        GetForm:
          Type: HttpApi
          Properties: {{ApiId: !Ref HttpApi, Method: GET, Path: "/v1/forms/{{form_id}}"}}
        GetFormVersion:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: GET
            Path: "/v1/forms/{{form_id}}/versions/{{version}}"
"""


class Registry:
    """The running stack and the flags that sign as each tenant's keys."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.services: Services = stack.operator_services()
        self.acme = self._key("acme", {"admin"})
        self.globex = self._key("globex", {"admin"})
        self.acme_reader = self._key("acme", {"submit", "read"})

    def _key(self, tenant_id: str, scopes: set[str]) -> list[str]:
        self.services.tenants.create(tenant_id, tenant_id)
        key, secret = self.services.keys.create(tenant_id, frozenset(scopes))
        return ["--endpoint", self.stack.endpoint, "--key-id", key.key_id, "--secret", secret]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    template = tmp_path_factory.mktemp("infra") / "template.yaml"
    template.write_text(textwrap.dedent(TEMPLATE))
    with LocalStack(template, stack_name="frforms") as stack:
        yield Registry(stack)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def schema_file(tmp_path: Path, schema: object, name: str = "schema.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(schema))
    return str(path)


def test_put_registers_versions_and_get_and_list_read_them(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = registry.acme
    v1, v2 = schema_file(tmp_path, CONTACT), schema_file(tmp_path, STRICTER, "v2.json")

    # A new form, then the same schema again (nothing written), then a stricter one
    # under NONE (which allows it unchecked)
    code, out, err = run(capsys, "forms", "put", "signup", "--schema", v1, *key)
    assert (code, out.strip()) == (0, "form signup: created, version 1 is current (BACKWARD)"), err
    code, out, _ = run(capsys, "forms", "put", "signup", "--schema", v1, "--json", *key)
    assert (code, json.loads(out)) == (
        0,
        {"form_id": "signup", "version": 1, "compatibility": "BACKWARD"},
    )
    code, out, _ = run(
        capsys, "forms", "put", "signup", "--schema", v2, "--compatibility", "NONE", *key
    )
    assert (code, out.strip()) == (0, "form signup: version 2 is current (NONE)")

    # get: the current version readably, one version as the API's JSON
    code, out, _ = run(capsys, "forms", "get", "signup", *key)
    first_line, schema_text = out.split("\n", 1)
    assert code == 0 and first_line == "form signup: version 2 of 2 is current (NONE)"
    assert json.loads(schema_text) == STRICTER
    code, out, _ = run(capsys, "forms", "get", "signup", "--version", "1", "--json", *key)
    assert (code, json.loads(out)) == (0, {"form_id": "signup", "version": 1, "schema": CONTACT})

    # list: the tenant's forms in a table, or as JSON
    run(capsys, "forms", "put", "a-much-longer-form-id", "--schema", v1, *key)
    code, out, _ = run(capsys, "forms", "list", *key)
    assert code == 0
    assert out.splitlines() == [
        "FORM                   VERSION  COMPATIBILITY",
        "a-much-longer-form-id        1  BACKWARD",
        "signup                       2  NONE",
    ]
    code, out, _ = run(capsys, "forms", "list", "--json", *key)
    assert [form["form_id"] for form in json.loads(out)["forms"]] == [
        "a-much-longer-form-id",
        "signup",
    ]


def test_a_tenants_forms_are_its_own(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        capsys,
        "forms",
        "put",
        "private",
        "--schema",
        schema_file(tmp_path, CONTACT),
        *registry.acme,
    )

    for argv in (["get", "private"], ["get", "private", "--version", "1"]):
        code, out, err = run(capsys, "forms", *argv, *registry.globex)
        assert (code, out) == (1, ""), err
        assert err.strip() == "refused (404): no such form"
    code, out, _ = run(capsys, "forms", "list", "--json", *registry.globex)
    assert "private" not in out

    # globex's form of the same id is its own: version 1 of its schema
    other = schema_file(tmp_path, {"type": "object"}, "other.json")
    code, out, _ = run(capsys, "forms", "put", "private", "--schema", other, *registry.globex)
    assert (code, out.strip()) == (0, "form private: created, version 1 is current (BACKWARD)")
    code, out, _ = run(capsys, "forms", "get", "private", "--json", *registry.acme)
    assert json.loads(out)["schema"] == CONTACT


@pytest.mark.parametrize(
    ("schema_text", "form", "code", "message"),
    [
        ("{not json", "contact", 2, "is not JSON"),
        ("[1, 2]", "contact", 2, "holds no JSON object"),
        ('{"type": 12}', "contact", 1, "refused (422): not a draft-07 JSON Schema at /type"),
        ('{"type": "string"}', "contact", 1, "refused (422): a form's schema must describe"),
        (json.dumps(CONTACT), "Not-A-Form", 1, "refused (400): form id does not match"),
    ],
)
def test_a_bad_schema_or_form_id_is_refused_and_writes_nothing(
    registry: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    schema_text: str,
    form: str,
    code: int,
    message: str,
) -> None:
    path = tmp_path / "schema.json"
    path.write_text(schema_text)

    answer, out, err = run(capsys, "forms", "put", form, "--schema", str(path), *registry.globex)

    assert (answer, out) == (code, "")
    assert message in err, err
    assert registry.services.forms.load("globex", "contact") is None


def test_a_missing_file_is_bad_input_and_a_key_without_admin_is_refused(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "forms", "put", "c", "--schema", str(tmp_path / "none"), *registry.acme
    )
    assert code == 2 and "cannot read" in err

    # A reader may read the forms (it reads every payload already), never register one
    code, _, err = run(
        capsys,
        "forms",
        "put",
        "c",
        "--schema",
        schema_file(tmp_path, CONTACT),
        *registry.acme_reader,
    )
    assert code == 1 and '"Forbidden"' in err
    assert registry.services.forms.load("acme", "c") is None
    code, _, err = run(capsys, "forms", "list", *registry.acme_reader)
    assert code == 0, err


def test_an_incompatible_schema_prints_every_reason_and_exits_1(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a form under BACKWARD
    key = registry.acme
    run(capsys, "forms", "put", "strict", "--schema", schema_file(tmp_path, CONTACT), *key)

    # When a schema requiring a new field (what was valid before is not) is put
    code, out, err = run(
        capsys, "forms", "put", "strict", "--schema", schema_file(tmp_path, STRICTER, "s"), *key
    )

    # Then it is refused, with each incompatibility's pointer and reason
    assert (code, out) == (1, "")
    lines = err.strip().splitlines()
    assert lines[0].startswith("refused (409): the schema is not BACKWARD compatible")
    assert any(line.startswith("  /") for line in lines[1:]), err
    current = registry.services.forms.load("acme", "strict")
    assert current is not None and current.schema_version == 1


def test_a_refusal_reads_as_its_detail_then_each_item_with_its_pointer() -> None:
    problem = {
        "type": "https://formrelay.dev/problems/incompatible-schema",
        "title": "Incompatible schema",
        "status": 409,
        "detail": "the schema is not BACKWARD compatible with form contact: 2 incompatibilities",
        "errors": [
            {
                "pointer": "/required",
                "reason": "name is required now",
                "witness": {"email": "a@b.co"},
            },
            {"pointer": "", "reason": "additional properties are refused now"},
        ],
    }

    assert refusal(problem).splitlines() == [
        "refused (409): the schema is not BACKWARD compatible with form contact: "
        "2 incompatibilities",
        "  /required: name is required now",
        '    for example: {"email": "a@b.co"}',
        "  /: additional properties are refused now",
    ]
    assert refusal({"message": "Forbidden"}) == 'refused: {"message": "Forbidden"}'
