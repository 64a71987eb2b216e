"""`formrelay forms put` on moto: a schema file becomes the form's current version.

Given the template's Views table in moto and a deployed-looking stack naming it,
each test registers schemas through the command line and reads them back through
the form catalog the ingest function uses.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from formrelay.cli.main import main
from formrelay.registry.dynamodb import DynamoDBFormCatalog
from tests.support.stacks import create_stack, template_outputs
from tests.support.template_aws import TemplateAws, template_aws

CONTACT = {
    "type": "object",
    "required": ["email"],
    "properties": {"email": {"type": "string"}},
}


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        create_stack(cloudformation, "formrelay", template_outputs(provisioned.resources))
        yield provisioned


@pytest.fixture
def catalog(aws: TemplateAws) -> DynamoDBFormCatalog:
    return DynamoDBFormCatalog(aws.views_table, aws.dynamodb)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def new_tenant(capsys: pytest.CaptureFixture[str]) -> str:
    tenant = f"t-{secrets.token_hex(4)}"
    assert run(capsys, "tenants", "create", tenant, "--stack", "formrelay")[0] == 0
    return tenant


def schema_file(tmp_path: Path, schema: object, name: str = "schema.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(schema))
    return str(path)


def test_each_put_is_the_forms_next_current_version(
    catalog: DynamoDBFormCatalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = new_tenant(capsys)
    put = ["forms", "put", "--tenant", tenant, "--form", "contact", "--stack", "formrelay"]
    stricter = {**CONTACT, "required": ["email", "name"]}

    code, out, err = run(capsys, *put, "--schema", schema_file(tmp_path, CONTACT), "--json")
    assert code == 0, err
    assert json.loads(out) == {"tenant_id": tenant, "form_id": "contact", "schema_version": 1}
    first = catalog.load(tenant, "contact")
    assert first is not None and first.schema.violations({"email": "a@example.com"}) == []

    code, out, _ = run(capsys, *put, "--schema", schema_file(tmp_path, stricter, "v2.json"))

    assert code == 0 and "schema version 2 is current" in out
    second = catalog.load(tenant, "contact")
    assert second is not None and second.schema_version == 2
    assert [v.pointer for v in second.schema.violations({"email": "a@example.com"})] == [""]


def test_a_tenants_form_is_its_own(
    catalog: DynamoDBFormCatalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acme, globex = new_tenant(capsys), new_tenant(capsys)
    other = {"type": "object", "required": ["topic"]}
    put = ["forms", "put", "--form", "contact", "--stack", "formrelay"]

    assert run(capsys, *put, "--tenant", acme, "--schema", schema_file(tmp_path, CONTACT))[0] == 0
    assert catalog.load(globex, "contact") is None
    assert (
        run(capsys, *put, "--tenant", globex, "--schema", schema_file(tmp_path, other, "o"))[0] == 0
    )

    acme_form, globex_form = catalog.load(acme, "contact"), catalog.load(globex, "contact")
    assert acme_form is not None and globex_form is not None
    assert (acme_form.schema_version, globex_form.schema_version) == (1, 1)
    assert acme_form.schema.schema == CONTACT and globex_form.schema.schema == other


@pytest.mark.parametrize(
    ("schema_text", "form", "code", "message"),
    [
        ("{not json", "contact", 2, "is not JSON"),
        ("[1, 2]", "contact", 2, "holds no JSON object"),
        ('{"type": 12}', "contact", 2, "is not a JSON Schema"),
        (json.dumps(CONTACT), "Not A Form", 2, "form id"),
    ],
)
def test_a_bad_schema_or_form_id_is_refused_and_writes_nothing(
    catalog: DynamoDBFormCatalog,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    schema_text: str,
    form: str,
    code: int,
    message: str,
) -> None:
    tenant = new_tenant(capsys)
    path = tmp_path / "schema.json"
    path.write_text(schema_text)

    answer, out, err = run(
        capsys,
        "forms",
        "put",
        "--tenant",
        tenant,
        "--form",
        form,
        "--schema",
        str(path),
        "--stack",
        "formrelay",
    )

    assert (answer, out) == (code, "")
    assert message in err and len(err.strip().splitlines()) == 1
    assert catalog.load(tenant, "contact") is None


def test_an_unknown_tenant_or_a_missing_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put = ["forms", "put", "--form", "contact", "--stack", "formrelay"]

    code, _, err = run(
        capsys, *put, "--tenant", "nobody-here", "--schema", schema_file(tmp_path, CONTACT)
    )
    assert code == 1 and "no tenant nobody-here" in err
    code, _, err = run(capsys, *put, "--tenant", "nobody-here", "--schema", str(tmp_path / "none"))
    assert code == 2 and "cannot read" in err
