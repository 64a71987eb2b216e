"""Outgoing deliveries are signed per Standard Webhooks, checked by an independent library."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from formrelay.delivery.signatures import new_signing_secret, signature_header
from formrelay.delivery.webhook import build_request
from formrelay.domain.destinations import Destination

BODY = b'{"type":"submission.received","data":{"name":"Ada"}}'


def _destination(**overrides: object) -> Destination:
    fields: dict[str, object] = {
        "tenant_id": "acme",
        "form_id": "contact",
        "destination_id": "crm",
        "url": "https://hooks.example.com/in",
    }
    fields.update(overrides)
    return Destination(**fields)  # type: ignore[arg-type]


def _headers(secrets: list[str], timestamp: int) -> dict[str, str]:
    request = build_request(
        _destination(),
        delivery_id="msg_0123",
        body=BODY,
        signing_secrets=secrets,
        auth={},
        timestamp=timestamp,
    )
    return request.headers


def test_a_delivery_verifies_with_the_standard_webhooks_library() -> None:
    import time

    secret = new_signing_secret()
    headers = _headers([secret], int(time.time()))
    assert Webhook(secret).verify(BODY, headers)["data"] == {"name": "Ada"}


def test_during_rotation_both_secrets_verify() -> None:
    import time

    new, old = new_signing_secret(), new_signing_secret()
    headers = _headers([new, old], int(time.time()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)


def test_another_secret_or_a_changed_body_does_not_verify() -> None:
    import time

    headers = _headers([new_signing_secret()], int(time.time()))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, headers)


def test_the_signature_is_over_id_timestamp_and_body() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    # Given the example from the Standard Webhooks specification
    header = signature_header(
        [secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    ("auth", "credentials", "header", "value"),
    [
        ({"type": "bearer"}, {"token": "t0ken"}, "authorization", "Bearer t0ken"),
        ({"type": "basic"}, {"username": "u", "password": "p"}, "authorization", "Basic dTpw"),
        ({"type": "api_key", "header": "X-Key"}, {"api_key": "k"}, "X-Key", "k"),
    ],
)
def test_auth_credentials_become_headers(
    auth: dict[str, str], credentials: dict[str, str], header: str, value: str
) -> None:
    request = build_request(
        _destination(auth=auth),
        delivery_id="msg_1",
        body=BODY,
        signing_secrets=[],
        auth=credentials,
        timestamp=1,
    )
    assert request.headers[header] == value
    assert "webhook-signature" not in request.headers
