"""The form registry's routes through their real handler on the template's tables (moto).

Each request is an API Gateway v2 event the authorizer let through, for the tenant
it names; the refusals are pinned in test_problem_answers.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from formrelay.composition import services
from formrelay.local import dynamodb_atomicity
from formrelay.local.functions import load_handler
from formrelay.registry.registration import register
from tests.support.http_events import Context, http_event
from tests.support.template_aws import template_aws

PUT = "PUT /v1/forms/{form_id}"
GET = "GET /v1/forms/{form_id}"
VERSION = "GET /v1/forms/{form_id}/versions/{version}"
LIST = "GET /v1/forms"
NAME: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}}
NAME_REQUIRED: dict[str, Any] = {**NAME, "required": ["name"]}


@pytest.fixture(scope="module")
def tables() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env, template_aws() as aws:
        for name, value in {
            "VIEWS_TABLE": aws.views_table,
            "POWERTOOLS_LOG_LEVEL": "INFO",  # the routes log what they did: those lines run too
            "RATE_LIMIT_BURST": "100000",
        }.items():
            env.setenv(name, value)
        services.cache_clear()
        yield
        services.cache_clear()


@pytest.fixture
def tenant(tables: None) -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def send(tenant: str, route: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = b"" if body is None else json.dumps(body).encode()
    answer = load_handler("handlers.forms.handler")(
        http_event(route, path, tenant_id=tenant, body=raw), Context()
    )
    return answer["statusCode"], json.loads(answer["body"])


def test_a_new_form_is_201_at_version_1_and_readable(tenant: str) -> None:
    status, body = send(tenant, PUT, "/v1/forms/contact", {"schema": NAME})

    assert (status, body) == (
        201,
        {"form_id": "contact", "version": 1, "compatibility": "BACKWARD"},
    )
    assert send(tenant, GET, "/v1/forms/contact") == (
        200,
        {
            "form_id": "contact",
            "version": 1,
            "compatibility": "BACKWARD",
            "schema": NAME,
            "versions": 1,
        },
    )
    assert send(tenant, VERSION, "/v1/forms/contact/versions/1") == (
        200,
        {"form_id": "contact", "version": 1, "schema": NAME},
    )
    assert send(tenant, LIST, "/v1/forms") == (
        200,
        {"forms": [{"form_id": "contact", "version": 1, "compatibility": "BACKWARD"}]},
    )


def test_the_same_schema_again_is_200_at_the_current_version_and_writes_nothing(
    tenant: str,
) -> None:
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "FULL"})

    again = send(tenant, PUT, "/v1/forms/contact", {"schema": NAME})

    assert again == (200, {"form_id": "contact", "version": 1, "compatibility": "FULL"})
    assert send(tenant, GET, "/v1/forms/contact")[1]["versions"] == 1


def test_a_new_mode_with_the_same_schema_is_200_with_the_mode_changed(tenant: str) -> None:
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME})

    changed = send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "NONE"})

    assert changed == (200, {"form_id": "contact", "version": 1, "compatibility": "NONE"})
    assert send(tenant, GET, "/v1/forms/contact")[1]["compatibility"] == "NONE"


def test_under_none_a_new_schema_is_200_at_the_next_version_and_both_stay_readable(
    tenant: str,
) -> None:
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "NONE"})

    status, body = send(tenant, PUT, "/v1/forms/contact", {"schema": NAME_REQUIRED})

    assert (status, body) == (200, {"form_id": "contact", "version": 2, "compatibility": "NONE"})
    current = send(tenant, GET, "/v1/forms/contact")[1]
    assert (current["version"], current["versions"], current["schema"]) == (2, 2, NAME_REQUIRED)
    assert send(tenant, VERSION, "/v1/forms/contact/versions/1")[1]["schema"] == NAME
    assert send(tenant, VERSION, "/v1/forms/contact/versions/2")[1]["schema"] == NAME_REQUIRED


def test_the_listing_holds_every_form_of_the_tenant_by_id(tenant: str) -> None:
    send(tenant, PUT, "/v1/forms/survey", {"schema": NAME, "compatibility": "FORWARD"})
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "NONE"})
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME_REQUIRED})

    assert send(tenant, LIST, "/v1/forms") == (
        200,
        {
            "forms": [
                {"form_id": "contact", "version": 2, "compatibility": "NONE"},
                {"form_id": "survey", "version": 1, "compatibility": "FORWARD"},
            ]
        },
    )


def test_a_tenant_without_forms_lists_none(tenant: str) -> None:
    assert send(tenant, LIST, "/v1/forms") == (200, {"forms": []})


def test_another_tenant_sees_none_of_a_tenants_forms(tenant: str) -> None:
    # Given a tenant's form at version 2
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "NONE"})
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME_REQUIRED})
    other = f"o{uuid.uuid4().hex[:10]}"

    # Then another tenant's key gets 404 for it and each of its versions, lists nothing,
    for route, path in (
        (GET, "/v1/forms/contact"),
        (VERSION, "/v1/forms/contact/versions/1"),
        (VERSION, "/v1/forms/contact/versions/2"),
    ):
        status, body = send(other, route, path)
        assert (status, body["detail"]) == (404, "no such form"), path
        assert "name" not in json.dumps(body)
    assert send(other, LIST, "/v1/forms") == (200, {"forms": []})

    # and its PUT of the same id makes a form of its own, leaving the first one as it was
    assert send(other, PUT, "/v1/forms/contact", {"schema": {"type": "object"}}) == (
        201,
        {"form_id": "contact", "version": 1, "compatibility": "BACKWARD"},
    )
    mine = send(tenant, GET, "/v1/forms/contact")[1]
    assert (mine["version"], mine["schema"], mine["compatibility"]) == (2, NAME_REQUIRED, "NONE")
    theirs = send(other, GET, "/v1/forms/contact")[1]
    assert (theirs["version"], theirs["schema"]) == (1, {"type": "object"})


def test_registrations_at_once_each_get_their_own_version(tenant: str) -> None:
    # Given a form under NONE, and six writers registering a schema each at the same moment
    # through the use case the route calls, on the Views table
    dynamodb_atomicity.install()  # moto's conditional writes are not atomic across threads
    forms = services().forms
    register(forms, tenant, "contact", NAME, "NONE")
    versions: list[int] = []
    start = threading.Barrier(6)

    def put(n: int) -> None:
        start.wait()
        schema = {"type": "object", "required": [f"field{n}"]}
        versions.append(register(forms, tenant, "contact", schema).version)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then none lost its write: versions 2 to 7, each once, each schema kept
    assert sorted(versions) == [2, 3, 4, 5, 6, 7]
    history = forms.history(tenant, "contact")
    assert history is not None and history.head.version == 7
    assert sorted(s.get("required", ["-"])[0] for s in history.schemas[1:]) == [
        f"field{n}" for n in range(6)
    ]


COMPATIBILITY = "GET /v1/forms/{form_id}/compatibility"


def compare(tenant: str, query: str, form_id: str = "contact") -> tuple[int, Any]:
    answer = load_handler("handlers.forms.handler")(
        http_event(
            COMPATIBILITY, f"/v1/forms/{form_id}/compatibility", tenant_id=tenant, query=query
        ),
        Context(),
    )
    return answer["statusCode"], json.loads(answer["body"])


def test_two_versions_compare_under_the_forms_mode_or_the_one_asked(tenant: str) -> None:
    # Given a form whose v2 requires a name (registered under NONE: not BACKWARD compatible)
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "NONE"})
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME_REQUIRED})

    # Under the form's mode nothing is checked; under BACKWARD the change is refused, with
    # the document v1 accepts and v2 refuses
    assert compare(tenant, "from=1&to=2")[1]["compatible"] is True
    status, verdict = compare(tenant, "from=1&to=2&mode=BACKWARD")
    assert (status, verdict["mode"], verdict["form_compatibility"]) == (200, "BACKWARD", "NONE")
    [found] = verdict["incompatibilities"]
    assert (found["pointer"], found["accepted_by"], found["refused_by"]) == ("/required", 1, 2)
    assert "name" not in found["witness"]
    # The reverse way round is compatible: v1 accepts everything v2 does
    assert compare(tenant, "from=2&to=1&mode=BACKWARD")[1]["compatible"] is True


def test_a_malformed_comparison_is_a_400_problem(tenant: str) -> None:
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME})
    for query in ("to=1", "from=1&to=1", "from=x&to=1", "from=1&to=2&mode=full", "from=1&to=2&x=1"):
        status, problem = compare(tenant, query)
        assert (status, problem["title"]) == (400, "Bad request"), query


def test_another_tenants_form_and_a_missing_version_are_404(tenant: str) -> None:
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME, "compatibility": "NONE"})
    send(tenant, PUT, "/v1/forms/contact", {"schema": NAME_REQUIRED})
    other = f"o{uuid.uuid4().hex[:10]}"

    status, problem = compare(other, "from=1&to=2")
    assert (status, problem["detail"]) == (404, "no such form")
    assert "name" not in json.dumps(problem)
    assert compare(tenant, "from=1&to=3") == (
        404,
        compare(tenant, "from=3&to=1")[1],
    )
    assert compare(tenant, "from=1&to=3")[1]["detail"] == "no such version of this form"
