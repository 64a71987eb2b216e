"""schemathesis against the local stack: every operation of schemas/api/openapi.json, signed.

Requests are generated from the description the stack itself serves (`GET
/v1/openapi.json`, unsigned), signed with `formrelay.auth.signing.sign_request` as
`FormrelayClient` signs them, and each answer is held to the description: never a
5xx, a status code, content type, body and headers that the operation documents.
Bounded so that the module takes about a minute: each operation is fuzzed with a fixed
number of examples (hypothesis, derandomized: the same requests every run), with valid
requests, with invalid ones, and with valid ones naming the tenant's own resources.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from formrelay.auth.signing import sign_request
from formrelay.registry.schemas import schemas_root
from tests.e2e.conftest import RunningStack, running_stack

EXAMPLES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


class SignedRequests(requests.auth.AuthBase):
    """Signs each request as it goes out, over exactly what is sent (path, query, body)."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id, self.secret = key_id, secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(request.url or "")
        body = request.body or b""
        try:
            signed = sign_request(
                key_id=self.key_id,
                secret=self.secret,
                method=request.method or "GET",
                path=url.path,
                raw_query=url.query,
                body=body.encode() if isinstance(body, str) else body,
                content_type=request.headers.get("Content-Type"),
                idempotency_key=request.headers.get("Idempotency-Key"),
                correlation_id=request.headers.get("X-Correlation-Id"),
            )
        except ValueError:
            return request  # a header no client can sign (a control character): sent unsigned
        request.headers.update(signed)
        return request


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Given a local stack of this module's own (what the fuzzer writes stays in it)."""
    state: Path = tmp_path_factory.mktemp("fuzz-state")
    with running_stack(state) as running:
        yield running


@pytest.fixture(scope="module")
def session(fuzzed_stack: RunningStack) -> requests.Session:
    """A session whose every request is signed with the demo key (all scopes)."""
    signed = requests.Session()
    signed.trust_env = False
    signed.auth = SignedRequests(fuzzed_stack.demo["key_id"], fuzzed_stack.demo["secret"])
    return signed


@pytest.fixture(scope="module")
def resources(fuzzed_stack: RunningStack) -> dict[str, str]:
    """The demo tenant's form, destination, first schema version and one submission."""
    demo = fuzzed_stack.demo
    accepted = fuzzed_stack.client().submit(
        demo["form_id"], {"email": "ada@example.com", "name": "Ada"}
    )
    assert accepted.status_code == 202, accepted.text
    return {
        "form_id": demo["form_id"],
        "destination_id": "primary",  # the demo's one destination
        "version": "1",
        "submission_id": accepted.json()["submission_id"],
    }


@pytest.fixture(scope="module")
def api_schema(fuzzed_stack: RunningStack) -> schemathesis.BaseSchema:
    """The description as the stack serves it, unsigned."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": fuzzed_stack.endpoint,
            # The signing headers are the auth's to set, not the fuzzer's.
            "generation": {"with-security-parameters": False},
        }
    )
    return schemathesis.openapi.from_url(fuzzed_stack.endpoint + "/v1/openapi.json", config=config)


def _cases() -> list[tuple[str, GenerationMode]]:
    """Every operation of the description (the document the stack serves), with valid
    requests, and with invalid ones where it has a parameter or a body to get wrong."""
    document = json.loads((schemas_root() / "api" / "openapi.json").read_text(encoding="utf-8"))
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            cases.append((f"{method.upper()} {path}", GenerationMode.POSITIVE, False))
            if "{" in path:  # and on the tenant's own form, destination and submission
                cases.append((f"{method.upper()} {path}", GenerationMode.POSITIVE, True))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((f"{method.upper()} {path}", GenerationMode.NEGATIVE, False))
    return cases


# schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) does not run on
# pytest 9; each operation is a test of its own here, its cases drawn by hypothesis.
@pytest.mark.parametrize(("operation", "mode", "existing"), _cases())
def test_every_operation_answers_as_described(
    operation: str,
    mode: GenerationMode,
    existing: bool,
    api_schema: schemathesis.BaseSchema,
    session: requests.Session,
    fuzzed_stack: RunningStack,
    resources: dict[str, str],
) -> None:
    method, path = operation.split(" ", 1)
    # Random identifiers name nothing (404): with `existing`, the path names what the
    # tenant has, so that the operation's own answers are drawn too.
    named = {k: v for k, v in resources.items() if "{" + k + "}" in path} if existing else None
    strategy = api_schema[path][method].as_strategy(generation_mode=mode, path_parameters=named)
    statuses: Counter[int] = Counter()

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_described(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            base_url=fuzzed_stack.endpoint, session=session, checks=CHECKS
        )
        statuses[response.status_code] += 1

    answers_as_described()
    if mode is GenerationMode.POSITIVE:
        # Every valid request went out signed, and the signature held: the fuzzer reached
        # the function, not only API Gateway's refusals.
        assert not statuses.keys() & {401, 403}, statuses


def test_the_served_description_is_the_one_in_the_repository(fuzzed_stack: RunningStack) -> None:
    served = requests.get(fuzzed_stack.endpoint + "/v1/openapi.json", timeout=10)
    kept = (schemas_root() / "api" / "openapi.json").read_text(encoding="utf-8")
    assert served.status_code == 200 and served.json() == json.loads(kept)
