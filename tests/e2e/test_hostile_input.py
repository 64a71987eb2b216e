"""Hostile requests against the local stack over HTTP: each gets its intended 4xx, none a 5xx,
and the event table holds no event from any of them.

Every case is one row of ATTACKS. A row names the request (method, path, query, body,
content type), how it is signed (with whose key, over what), what is done to the signed
headers (dropped, replaced, repeated), and the answer it must get: from API Gateway (the
local front mirrors it: `{"message": ...}`) or from our code (problem+json).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formrelay.auth import scopes
from formrelay.auth.signing import (
    CONTENT_SHA256_HEADER,
    KEY_ID_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    SIGNED_HEADERS,
    TIMESTAMP_HEADER,
    sign_request,
)
from formrelay.client import FormrelayClient
from tests.e2e.conftest import RunningStack, running_stack

GOOD = json.dumps({"email": "ada@example.com", "name": "Ada"}).encode()
OTHER = json.dumps({"email": "eve@example.com", "name": "Eve"}).encode()
SUBMIT = "/v1/forms/contact/submissions"
# A form of the attacked tenant with no destinations: requests a case needs to succeed first
# (the original of a replay, the first use of an Idempotency-Key) cause no deliveries.
QUIET = "/v1/forms/quiet/submissions"
LISTING = "/v1/submissions"
GATEWAY, PROBLEM = "gateway", "problem"
UNAUTHORIZED = {"message": "Unauthorized"}
FORBIDDEN = {"message": "Forbidden"}


@dataclass(frozen=True)
class Attack:
    """One hostile request and the answer it must get."""

    name: str
    expect: int
    answered_by: str
    method: str = "POST"
    path: str = SUBMIT
    query: str = ""
    body: bytes = GOOD
    content_type: str | None = "application/json"
    key: str = "demo"  # whose credentials sign it (see Target.keys)
    signed: dict[str, Any] = field(default_factory=dict)  # what the signature is made over
    drop: tuple[str, ...] = ()  # signature headers left out
    replace: dict[str, str] = field(default_factory=dict)  # signature header values changed
    extra: tuple[tuple[str, str | bytes], ...] = ()  # more headers (repeats allowed)
    # Sent first and must pass: "same" (then replayed with its own headers) or "original"
    # (the attack with the good body, e.g. the first use of an Idempotency-Key).
    first: str | None = None


def a(name: str, expect: int, answered_by: str, **kwargs: Any) -> Attack:
    """A row of the table."""
    return Attack(name, expect, answered_by, **kwargs)


# A bodiless GET, as reads are sent.
READ: dict[str, Any] = {"method": "GET", "body": b"", "content_type": None}
DEEP = b'{"email": "a@b.co", "name": "A", "x": ' + b"[" * 33 + b"]" * 33 + b"}"
WIDE = json.dumps({f"k{i}": i for i in range(1001)}).encode()

ATTACKS: list[Attack] = [
    # Signature headers missing or empty: API Gateway answers 401 without calling the authorizer.
    *(a(f"missing {h}", 401, GATEWAY, drop=(h,)) for h in SIGNED_HEADERS),
    *(a(f"empty {h}", 401, GATEWAY, replace={h: ""}) for h in SIGNED_HEADERS),
    a("no signature headers at all", 401, GATEWAY, drop=SIGNED_HEADERS),
    # Malformed signature headers: the authorizer refuses, never saying why.
    a("signature repeated", 403, GATEWAY, extra=((SIGNATURE_HEADER, "0" * 64),)),
    a("key id repeated", 403, GATEWAY, extra=((KEY_ID_HEADER, "demo.0000000000000000"),)),
    a("nonce repeated", 403, GATEWAY, extra=((NONCE_HEADER, "n" * 20),)),
    a("timestamp repeated", 403, GATEWAY, extra=((TIMESTAMP_HEADER, "1"),)),
    a("signature not hex", 403, GATEWAY, replace={SIGNATURE_HEADER: "z" * 64}),
    a("signature upper-case hex", 403, GATEWAY, replace={SIGNATURE_HEADER: "AB" * 32}),
    a("signature one digit short", 403, GATEWAY, replace={SIGNATURE_HEADER: "a" * 63}),
    a("signature 1 KB long", 403, GATEWAY, replace={SIGNATURE_HEADER: "a" * 1024}),
    a("signature all zeros", 403, GATEWAY, replace={SIGNATURE_HEADER: "0" * 64}),
    a("key id with spaces", 403, GATEWAY, replace={KEY_ID_HEADER: "demo key"}),
    a("key id of no key", 403, GATEWAY, replace={KEY_ID_HEADER: "demo.0123456789abcdef"}),
    a("key id of no tenant", 403, GATEWAY, replace={KEY_ID_HEADER: "ghost.0123456789abcdef"}),
    a("key id without tenant", 403, GATEWAY, replace={KEY_ID_HEADER: "0123456789abcdef"}),
    a("nonce too short", 403, GATEWAY, replace={NONCE_HEADER: "n" * 15}),
    a("nonce too long", 403, GATEWAY, replace={NONCE_HEADER: "n" * 65}),
    a("nonce with slashes", 403, GATEWAY, replace={NONCE_HEADER: "../../" + "n" * 16}),
    a("timestamp not a number", 403, GATEWAY, replace={TIMESTAMP_HEADER: "yesterday"}),
    a("timestamp negative", 403, GATEWAY, replace={TIMESTAMP_HEADER: "-5"}),
    a("timestamp with decimals", 403, GATEWAY, replace={TIMESTAMP_HEADER: "1700000000.5"}),
    a("digest not hex", 403, GATEWAY, replace={CONTENT_SHA256_HEADER: "x" * 64}),
    # Well formed but wrongly signed.
    a("wrong secret", 403, GATEWAY, signed={"secret": "frsk_not-the-secret"}),
    a("timestamp 301 s old", 403, GATEWAY, signed={"timestamp": -301}),
    a("timestamp 301 s ahead", 403, GATEWAY, signed={"timestamp": 301}),
    a("timestamp in milliseconds", 403, GATEWAY, signed={"timestamp": "ms"}),
    a("timestamp zero", 403, GATEWAY, signed={"timestamp": "zero"}),
    a("signed as GET, sent as POST", 403, GATEWAY, signed={"method": "GET"}),
    a("signed for another form", 403, GATEWAY, signed={"path": "/v1/forms/other/submissions"}),
    a(
        "listing signature reused on submit",
        403,
        GATEWAY,
        signed={"method": "GET", "path": LISTING},
    ),
    a(
        "submit signature reused on listing",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        signed={"method": "POST", "path": SUBMIT, "body": GOOD},
    ),
    a(
        "tampered query",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=dead_lettered",
        signed={"query": "status=delivered"},
    ),
    a("query added after signing", 403, GATEWAY, query="form_id=contact", signed={"query": ""}),
    a("signed with path case changed", 403, GATEWAY, signed={"path": SUBMIT.upper()}),
    a("body tampered after signing", 401, PROBLEM, signed={"body": OTHER}),
    a("body dropped after signing", 401, PROBLEM, body=b"", signed={"body": GOOD}),
    # Replays: the first request passes (outside the count), the second is refused.
    a("exact replay of a submission", 403, GATEWAY, path=QUIET, first="same"),
    a("replay with another body", 403, GATEWAY, path=QUIET, first="same", body=OTHER),
    a(
        "exact replay of a read",
        403,
        GATEWAY,
        **READ,
        path=LISTING,
        query="status=received",
        first="same",
    ),
    # Keys without the route's scope, revoked keys, another tenant's key.
    a("read-only key submits", 403, GATEWAY, key="read_only"),
    a(
        "submit-only key reads",
        403,
        GATEWAY,
        **READ,
        path="/v1/submissions/{submission}",
        key="submit_only",
    ),
    a(
        "submit key manages destinations",
        403,
        GATEWAY,
        method="PUT",
        path="/v1/forms/contact/destinations/evil",
        body=b'{"url": "https://evil.example.com/"}',
        key="submit_only",
    ),
    a("revoked key", 403, GATEWAY, key="revoked"),
    a(
        "another tenant reads a submission",
        404,
        PROBLEM,
        **READ,
        path="/v1/submissions/{submission}",
        key="other_tenant",
    ),
    a(
        "another tenant reads a history naming the tenant in a header",
        404,
        PROBLEM,
        **READ,
        path="/v1/submissions/{submission}/events",
        key="other_tenant",
        extra=(("X-Fr-Tenant", "demo"), ("X-Tenant-Id", "demo")),
    ),
    a("another tenant submits to a form it lacks", 404, PROBLEM, path=QUIET, key="other_tenant"),
    a(
        "another tenant redelivers a submission",
        404,
        PROBLEM,
        path="/v1/submissions/{submission}/redeliveries",
        body=b"{}",
        key="other_tenant",
    ),
    # Limits and shapes of the body.
    a("body over 256 KB", 413, PROBLEM, body=b'{"name": "' + b"a" * (256 * 1024) + b'"}'),
    a("text/plain", 415, PROBLEM, content_type="text/plain"),
    a("no content type", 415, PROBLEM, content_type=None),
    a("form encoded", 415, PROBLEM, content_type="application/x-www-form-urlencoded"),
    a("multipart", 415, PROBLEM, content_type="multipart/form-data; boundary=x"),
    a("JSON in latin-1", 415, PROBLEM, content_type="application/json; charset=iso-8859-1"),
    a("JSON with an unknown parameter", 415, PROBLEM, content_type="application/json; v=2"),
    a("nesting 33 deep", 400, PROBLEM, body=DEEP),
    a("1,001 keys", 400, PROBLEM, body=WIDE),
    a("duplicate keys", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "name": "B"}'),
    a("malformed UTF-8", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\xff\xfe"}'),
    a("overlong UTF-8", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\xc0\xaf"}'),
    a("UTF-8 encoded surrogate", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\xed\xa0\x80"}'),
    a("lone surrogate escape", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "\\ud800"}'),
    a("number out of range", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "n": 1e400}'),
    a("integer of 200 digits", 400, PROBLEM, body=b'{"name": "A", "n": 1' + b"0" * 200 + b"}"),
    a("NaN", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "n": NaN}'),
    a("Infinity", 400, PROBLEM, body=b'{"email": "a@b.co", "name": "A", "n": -Infinity}'),
    a("byte order mark", 400, PROBLEM, body=b"\xef\xbb\xbf" + GOOD),
    a("empty body", 400, PROBLEM, body=b""),
    a("array body", 400, PROBLEM, body=b"[" + GOOD + b"]"),
    a("null body", 400, PROBLEM, body=b"null"),
    a("trailing garbage", 400, PROBLEM, body=GOOD + b"{}"),
    a("schema violation", 422, PROBLEM, body=b'{"email": "not-an-email"}'),
    # Path parameters and routes.
    a("form id with upper case", 404, PROBLEM, path="/v1/forms/Contact/submissions"),
    a("form id of 65 characters", 404, PROBLEM, path=f"/v1/forms/{'f' * 65}/submissions"),
    a("form id '..'", 404, PROBLEM, path="/v1/forms/%2E%2E/submissions"),
    a("path traversal", 404, GATEWAY, path="/v1/forms/..%2F..%2Fkeys/submissions"),
    a(
        "submission id with a quote",
        404,
        PROBLEM,
        **READ,
        path="/v1/submissions/abc'%20OR%201=1",
    ),
    a(
        "destination id with a hash",
        404,
        PROBLEM,
        **READ,
        path="/v1/forms/contact/destinations/a%23b",
    ),
    a("no such route", 404, GATEWAY, path="/v1/keys"),
    a("method without a route", 404, GATEWAY, method="PATCH"),
    # Idempotency keys.
    a("Idempotency-Key with spaces", 400, PROBLEM, extra=(("Idempotency-Key", "a b"),)),
    a("Idempotency-Key of 129 characters", 400, PROBLEM, extra=(("Idempotency-Key", "k" * 129),)),
    a(
        "Idempotency-Key reused with another body",
        409,
        PROBLEM,
        path=QUIET,
        body=OTHER,
        first="original",
        extra=(("Idempotency-Key", "hostile-reuse-1"),),
    ),
    # A tenant over its request rate (burst 1: the first read takes the only token).
    a(
        "over the tenant's rate limit",
        429,
        PROBLEM,
        **READ,
        path=LISTING,
        query="status=received",
        key="throttled",
        first="original",
    ),
    # Headers over HTTP API's quota on their total size.
    a("headers over 10,240 bytes", 431, GATEWAY, extra=(("X-Padding", "p" * 10300),)),
    # Redelivery options and destinations are bodies too.
    a(
        "redelivery with unknown options",
        400,
        PROBLEM,
        path="/v1/submissions/{submission}/redeliveries",
        body=b'{"tenant_id": "acme"}',
    ),
    a(
        "destination pointing at the metadata service",
        422,
        PROBLEM,
        method="PUT",
        path="/v1/forms/contact/destinations/meta",
        body=b'{"url": "http://169.254.169.254/latest/meta-data/"}',
    ),
]

# --- Odd input that once answered 500, and forged listing cursors --------------------------
# Numbers outside ASCII digits ('²'.isdigit() is true, int('²') raises), and cursors that are
# not one the API gave out for this query and this tenant. `{name}` in a query is one of
# Target.values: cursors the fixture obtained from real listings.
ODD = "status=received"
LISTED = "status=delivered&form_id=quiet"  # the query the attacked tenant's own cursor is of
# What cursors were before they were signed: base64 of DynamoDB's LastEvaluatedKey.
UNSIGNED_START_KEY = base64.urlsafe_b64encode(
    json.dumps(
        {
            "gsi1pk": {"S": "T#demo#STATUS#delivered"},
            "gsi1sk": {"S": "2026-01-01T00:00:00.000000Z#x"},
            "pk": {"S": "T#demo#S#x"},
            "sk": {"S": "STATUS"},
        }
    ).encode()
).decode()
WRONG_SHAPE = base64.urlsafe_b64encode(b'{"gsi1pk": {"S": "T#demo#STATUS#received"}}').decode()
LIST: dict[str, Any] = {**READ, "path": LISTING}

ATTACKS += [
    a("limit superscript two", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%C2%B2"),
    a("limit in fullwidth digits", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%EF%BC%95"),
    a("limit in Arabic-Indic digits", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%D9%A5"),
    a("limit negative", 400, PROBLEM, **LIST, query=f"{ODD}&limit=-1"),
    a("limit with a plus sign", 400, PROBLEM, **LIST, query=f"{ODD}&limit=%2B5"),
    a("limit with a trailing space", 400, PROBLEM, **LIST, query=f"{ODD}&limit=5%20"),
    a("limit of 400 digits", 400, PROBLEM, **LIST, query=f"{ODD}&limit={'9' * 400}"),
    a("limit empty", 400, PROBLEM, **LIST, query=f"{ODD}&limit="),
    a("limit in exponent form", 400, PROBLEM, **LIST, query=f"{ODD}&limit=1e2"),
    a("limit in hex", 400, PROBLEM, **LIST, query=f"{ODD}&limit=0x10"),
    a(
        "since in superscript digits",
        400,
        PROBLEM,
        **LIST,
        query=f"{ODD}&since=%C2%B2%C2%B2%C2%B2%C2%B2",
    ),
    a("since with a NUL", 400, PROBLEM, **LIST, query=f"{ODD}&since=2026%00"),
    a("cursor of garbage", 400, PROBLEM, **LIST, query=f"{ODD}&cursor=garbage"),
    a("cursor of non-ASCII", 400, PROBLEM, **LIST, query=f"{ODD}&cursor=%C2%B2"),
    a("cursor over 4 KB", 400, PROBLEM, **LIST, query=f"{ODD}&cursor={'A' * 4100}"),
    a(
        "cursor of base64 of a wrong shape",
        400,
        PROBLEM,
        **LIST,
        query=f"{ODD}&cursor={WRONG_SHAPE}",
    ),
    a(
        "cursor of an unsigned start key",
        400,
        PROBLEM,
        **LIST,
        query=f"status=delivered&cursor={UNSIGNED_START_KEY}",
    ),
    a("cursor edited", 400, PROBLEM, **LIST, query=LISTED + "&cursor={edited_cursor}"),
    a("cursor with its signature cut", 400, PROBLEM, **LIST, query=LISTED + "&cursor={cut_cursor}"),
    a(
        "cursor of another status's query",
        400,
        PROBLEM,
        **LIST,
        query="status=failed&form_id=quiet&cursor={own_cursor}",
    ),
    a(
        "cursor of another form's query",
        400,
        PROBLEM,
        **LIST,
        query="status=delivered&form_id=contact&cursor={own_cursor}",
    ),
    a(
        "cursor of a query without since",
        400,
        PROBLEM,
        **LIST,
        query=LISTED + "&since=2000&cursor={own_cursor}",
    ),
    a(
        "another tenant's cursor",
        400,
        PROBLEM,
        **LIST,
        query="status=delivered&form_id=contact&cursor={other_tenant_cursor}",
    ),
]


@dataclass
class Target:
    """The attacked stack, its keys by role, and a submission of the attacked tenant."""

    stack: RunningStack
    keys: dict[str, tuple[str, str]]
    values: dict[str, str]  # what `{name}` in a row's path or query stands for

    def fill(self, text: str) -> str:
        """A row's path or query with the fixture's values in."""
        return text.format(**self.values)

    def events(self) -> int:
        """Every item of the event table."""
        answer = self.stack.dynamodb().scan(
            TableName=self.stack.table("EventsTable"), Select="COUNT", ConsistentRead=True
        )
        return int(answer["Count"])

    def first(self, attack: Attack) -> list[tuple[str, str | bytes]] | None:
        """Send what must pass before the attack; for a replay, the headers to send again."""
        if attack.first is None:
            return None
        body = b"" if attack.method == "GET" else GOOD
        original = replace(attack, body=body, signed={}, first=None)
        headers = self.headers(original)
        answer = self.send(original, headers=headers)
        assert answer.is_success, answer.text
        return headers if attack.first == "same" else None

    def headers(self, attack: Attack) -> list[tuple[str, str | bytes]]:
        """The request's headers: signed as the attack says, then dropped, replaced, added."""
        key_id, secret = self.keys[attack.key]
        how = dict(attack.signed)
        signed = sign_request(
            key_id=key_id,
            secret=how.get("secret", secret),
            method=how.get("method", attack.method),
            path=self.fill(how.get("path", attack.path)),
            raw_query=self.fill(how.get("query", attack.query)),
            body=how.get("body", attack.body),
            timestamp=_timestamp(how.get("timestamp")),
        )
        pairs: list[tuple[str, str | bytes]] = [
            (name, attack.replace.get(name, value))
            for name, value in signed.items()
            if name not in attack.drop
        ]
        if attack.content_type is not None:
            pairs.append(("Content-Type", attack.content_type))
        pairs.extend(attack.extra)
        return pairs

    def send(
        self, attack: Attack, headers: list[tuple[str, str | bytes]] | None = None
    ) -> httpx.Response:
        """Send the attack's request (with its own headers unless given)."""
        path, query = self.fill(attack.path), self.fill(attack.query)
        raw_path = path + (f"?{query}" if query else "")
        url = httpx.URL(self.stack.endpoint).copy_with(raw_path=raw_path.encode())
        return httpx.request(
            attack.method,
            url,
            content=attack.body,
            headers=self.headers(attack) if headers is None else headers,
            timeout=30,
        )


def _timestamp(how: Any) -> int | None:
    now = int(time.time())
    if how is None:
        return None
    if how == "ms":
        return now * 1000
    if how == "zero":
        return 0
    return now + int(how)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A stack of its own, with keys of every kind and one submission to aim at."""
    state: Path = tmp_path_factory.mktemp("hostile-state")
    with running_stack(state) as stack:
        services = stack.services()
        # Only the "throttled" tenant is meant to meet its limit: however fast this machine
        # sends, the attacked tenant stays under its own (set before any request is cached).
        services.tenants.set_limits("demo", 10_000, 10_000)
        services.forms.put_schema(
            "demo",
            "quiet",
            {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}},
        )
        keys = {"demo": (stack.demo["key_id"], stack.demo["secret"])}
        for role, scope in (("read_only", scopes.READ), ("submit_only", scopes.SUBMIT)):
            key, secret = services.keys.create("demo", frozenset({scope}))
            keys[role] = (key.key_id, secret)
        revoked, secret = services.keys.create("demo", frozenset(scopes.ALL_SCOPES))
        services.keys.revoke("demo", revoked.key_id)
        keys["revoked"] = (revoked.key_id, secret)
        services.tenants.create("throttled", "throttled", rate_per_second=0.001, burst=1)
        throttled, secret = services.keys.create("throttled", frozenset({scopes.READ}))
        keys["throttled"] = (throttled.key_id, secret)
        other = stack.seed_second_tenant()
        keys["other_tenant"] = (other["key_id"], other["secret"])
        accepted = stack.client().submit("quiet", GOOD)
        assert accepted.status_code == 202, accepted.text
        values = {"submission": accepted.json()["submission_id"]}
        values.update(_cursors(stack, stack.client(other["key_id"], other["secret"])))
        yield Target(stack, keys, values)


def _cursors(stack: RunningStack, other: FormrelayClient) -> dict[str, str]:
    """Real cursors of the attacked tenant's listing and of the other tenant's, and forgeries
    made from them."""
    assert stack.client().submit("quiet", GOOD).status_code == 202
    for _ in range(2):
        assert other.submit("contact", {"topic": "t"}).status_code == 202
    own = _next_cursor(stack, stack.client(), {"status": "delivered", "form_id": "quiet"})
    theirs = _next_cursor(stack, other, {"status": "delivered", "form_id": "contact"})
    payload, signature = own.split(".")
    flipped = "B" if payload[5] != "B" else "C"
    return {
        "own_cursor": own,
        "edited_cursor": f"{payload[:5]}{flipped}{payload[6:]}.{signature}",
        "cut_cursor": own[:-1],
        "other_tenant_cursor": theirs,
    }


def _next_cursor(stack: RunningStack, client: FormrelayClient, query: dict[str, str]) -> str:
    """The cursor of a listing's first page of one (once the status views have caught up)."""

    def cursor() -> str | None:
        answer = client.request("GET", LISTING, query={**query, "limit": "1"})
        assert answer.status_code == 200, answer.text
        found: str | None = answer.json()["next_cursor"]
        return found

    return str(stack.wait_for(cursor, what=f"a second page of {query}"))


def test_the_table_holds_as_many_distinct_attacks_as_the_readme_says() -> None:
    names = [attack.name for attack in ATTACKS]
    assert len(set(names)) == len(names)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"sends {len(names)} hostile requests" in readme.replace("\n", " ")


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.name for attack in ATTACKS])
def test_a_hostile_request_gets_its_4xx_and_writes_no_event(target: Target, attack: Attack) -> None:
    replayed = target.first(attack)
    before = target.events()

    response = target.send(attack, replayed)

    assert response.status_code == attack.expect, response.text
    if attack.answered_by == PROBLEM:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == attack.expect
        assert {"type", "title", "detail"} <= problem.keys()
    else:
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()) == {"message"}
        if attack.expect == 401:
            assert response.json() == UNAUTHORIZED
        if attack.expect == 403:
            assert response.json() == FORBIDDEN
    assert "Traceback" not in response.text
    assert target.events() == before


def test_a_real_cursor_turns_the_page_of_its_own_query(target: Target) -> None:
    answer = target.send(
        a("next page", 200, PROBLEM, **LIST, query=LISTED + "&limit=1&cursor={own_cursor}")
    )

    assert answer.status_code == 200, answer.text
    assert all(item["form_id"] == "quiet" for item in answer.json()["submissions"])


def test_a_schema_violation_names_each_error_by_pointer(target: Target) -> None:
    body = json.dumps({"email": "not-an-email", "message": "x" * 5001}).encode()

    response = target.send(a("schema", 422, PROBLEM, body=body))

    assert response.status_code == 422
    errors = response.json()["errors"]
    # name is missing (reported at the object), email is malformed, message too long
    assert sorted(error["pointer"] for error in errors) == ["", "/email", "/message"]
    assert all(error["message"] for error in errors)


def test_concurrent_repeats_of_an_idempotency_key_write_one_event(target: Target) -> None:
    # The submission's only write is one conditional put, so there is no window in which a
    # concurrent repeat could write again: each repeat gets the first answer (or 409 with
    # another body).
    same = a("same", 202, PROBLEM, path=QUIET, extra=(("Idempotency-Key", "concurrent-1"),))
    other = replace(same, body=json.dumps({"email": "other@example.com"}).encode())
    before = target.events()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(target.send, [same] * 6 + [other] * 2))

    assert target.events() == before + 1
    same_won = answers[0].status_code == 202
    expected = [202] * 6 + [409] * 2 if same_won else [202] * 2 + [409] * 6
    assert sorted(answer.status_code for answer in answers) == expected
    accepted = {answer.json()["submission_id"] for answer in answers if answer.status_code == 202}
    assert accepted == {"concurrent-1"}


# Fuzzing: what a header or body may be, generated; the answer is never a 5xx.

# What an HTTP client can send at all: no leading or trailing whitespace, no controls.
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
).map(str.strip)
HEADER_BYTES = st.binary(max_size=40).map(
    lambda raw: bytes(b for b in raw if 0x21 <= b <= 0xFF and b != 0x7F)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(
        st.sampled_from(SIGNED_HEADERS),
        st.one_of(st.none(), HEADER_TEXT, HEADER_BYTES),
        max_size=5,
    ),
    repeat=st.lists(st.tuples(st.sampled_from(SIGNED_HEADERS), HEADER_TEXT), max_size=2),
)
def test_fuzzed_signature_headers_never_get_a_5xx(
    target: Target, changes: dict[str, str | bytes | None], repeat: list[tuple[str, str]]
) -> None:
    drop = tuple(name for name, value in changes.items() if value is None)
    replace = {name: value for name, value in changes.items() if isinstance(value, str)}
    raw = tuple((name, value) for name, value in changes.items() if isinstance(value, bytes))
    attack = a(
        "fuzz",
        0,
        GATEWAY,
        path=QUIET,
        drop=drop + tuple(n for n, _ in raw),
        replace=replace,
        extra=raw + tuple(repeat),
    )
    before = target.events()

    response = target.send(attack)

    assert response.status_code < 500, response.text
    if response.status_code != 202:
        assert target.events() == before


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["email", "name", "x"]), JSON_VALUES, max_size=3).map(
        lambda value: json.dumps(value).encode()
    ),
    st.text(max_size=100).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.x+json",
        "text/json",
        "application/json; charset=utf-16",
        "",
    ]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_fuzzed_bodies_signed_correctly_never_get_a_5xx(
    target: Target, body: bytes, content_type: str
) -> None:
    attack = a("fuzz", 0, PROBLEM, path=QUIET, body=body, content_type=content_type or None)
    before = target.events()

    response = target.send(attack)

    assert response.status_code in (202, 400, 415, 422), response.text
    if response.status_code == 202:
        assert target.events() == before + 1
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert target.events() == before
