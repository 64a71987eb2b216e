"""`formrelay console-link ...` on moto: what an operator types, what they see.

Given the template's tables in moto and VIEWS_TABLE/TENANT_SECRET_PREFIX set as on an
operator's shell, each test drives `formrelay.cli.main.main` and reads stdout (the
link, once) and stderr (messages, errors: never a traceback).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.cli.main import main
from tests.support.authorizer import authorized_tenant
from tests.support.template_aws import TemplateAws, template_aws

PREFIX = "formrelay/tenants/"
API = "https://abc123.execute-api.eu-west-1.amazonaws.com"


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


@pytest.fixture
def shell(aws: TemplateAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TemplateAws:
    """An operator's shell pointed at the tables and the API, in an empty directory."""
    monkeypatch.setenv("VIEWS_TABLE", aws.views_table)
    monkeypatch.setenv("TENANT_SECRET_PREFIX", PREFIX)
    monkeypatch.setenv("FORMRELAY_ENDPOINT", API)
    monkeypatch.delenv("FORMRELAY_STACK", raising=False)
    monkeypatch.chdir(tmp_path)
    return aws


@pytest.fixture
def tenant(shell: TemplateAws, capsys: pytest.CaptureFixture[str]) -> str:
    tenant_id = f"t-{secrets.token_hex(4)}"
    assert main(["tenants", "create", tenant_id]) == 0
    capsys.readouterr()
    return tenant_id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def keys_of(aws: TemplateAws, tenant_id: str) -> list[str]:
    directory = KeyDirectory(
        aws.views_table, PREFIX, dynamodb=aws.dynamodb, secretsmanager=aws.secretsmanager
    )
    return [entry.record.key_id for entry in directory.list(tenant_id)]


def works(aws: TemplateAws, key_id: str, secret: str) -> str | None:
    directory = KeyDirectory(
        aws.views_table, PREFIX, dynamodb=aws.dynamodb, secretsmanager=aws.secretsmanager
    )
    return authorized_tenant(directory, NonceStore(aws.views_table, aws.dynamodb), key_id, secret)


def test_console_link_prints_a_url_whose_key_works_for_an_hour(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = time.time()
    code, out, err = run(capsys, "console-link", "--tenant", tenant, "--json")

    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    assert set(document) == {"url", "key_id", "scopes", "expires_at", "tenant_id"}
    url = urlsplit(document["url"])
    assert f"{url.scheme}://{url.netloc}" == API and url.path == "/console/"
    fragment = parse_qs(url.fragment)
    assert fragment["k"] == [document["key_id"]] and fragment["s"][0].startswith("frsk_")
    assert document["scopes"] == ["audit", "read", "submit"]
    expires = datetime.fromisoformat(document["expires_at"].replace("Z", "+00:00"))
    assert before + 3599 <= expires.timestamp() <= time.time() + 3600
    assert keys_of(shell, tenant) == [document["key_id"]]
    assert works(shell, document["key_id"], fragment["s"][0]) == tenant
    assert "keys revoke" in err


def test_console_link_names_scopes_and_ttl_and_prints_lines(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "console-link", "--tenant", tenant, "--scopes", "read", "--ttl", "90s"
    )

    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert set(lines) == {"console", "key_id", "scopes", "expires"}
    assert lines["console"].startswith(f"{API}/console/#k={lines['key_id']}&s=frsk_")
    assert lines["scopes"] == "read"
    assert lines["console"].endswith("&scopes=read")


def test_revoking_the_links_key_ends_it(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "console-link", "--tenant", tenant, "--json")
    document = json.loads(out)
    secret = parse_qs(urlsplit(document["url"]).fragment)["s"][0]

    code, _, _ = run(capsys, "keys", "revoke", "--tenant", tenant, "--key-id", document["key_id"])

    assert code == 0
    assert works(shell, document["key_id"], secret) is None


@pytest.mark.parametrize(
    "flags",
    [
        ["--ttl", "13h"],
        ["--ttl", "0s"],
        ["--ttl", "30s"],
        ["--scopes", "read,root"],
        ["--scopes", ","],
    ],
    ids=" ".join,
)
def test_bad_scopes_or_ttl_are_bad_input_and_write_no_key(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    code, out, err = run(capsys, "console-link", "--tenant", tenant, *flags)

    assert (code, out) == (2, "")
    assert "console-link" in err
    assert keys_of(shell, tenant) == []


def test_an_unparseable_ttl_is_refused_by_the_parser(
    shell: TemplateAws, tenant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["console-link", "--tenant", tenant, "--ttl", "abc"])

    assert exited.value.code == 2
    assert "--ttl" in capsys.readouterr().err
    assert keys_of(shell, tenant) == []


def test_an_unknown_tenant_gets_no_link(
    shell: TemplateAws, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "console-link", "--tenant", "no-such-tenant")

    assert (code, out) == (1, "")
    assert "no tenant no-such-tenant" in err
    assert keys_of(shell, "no-such-tenant") == []


def test_without_an_endpoint_it_says_where_to_find_one(
    shell: TemplateAws,
    tenant: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FORMRELAY_ENDPOINT")

    code, out, err = run(capsys, "console-link", "--tenant", tenant)

    assert (code, out) == (2, "")
    assert "--endpoint" in err and "demo.json" in err
    assert keys_of(shell, tenant) == []


def test_the_local_stacks_state_file_names_the_api(
    shell: TemplateAws,
    tenant: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("FORMRELAY_ENDPOINT")
    state = tmp_path / "state"
    state.mkdir()
    (state / "demo.json").write_text(json.dumps({"endpoint": "http://127.0.0.1:8787"}))

    code, out, _ = run(
        capsys, "console-link", "--tenant", tenant, "--state-dir", str(state), "--json"
    )

    assert code == 0
    assert json.loads(out)["url"].startswith("http://127.0.0.1:8787/console/#k=")
