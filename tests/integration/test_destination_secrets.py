"""Destination credentials under concurrent writers: a change saved while another writer was
between its read and its write is never lost (compare-and-swap on AWSCURRENT)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from formrelay.delivery.destination_secrets import (
    DestinationSecrets,
    DestinationSecretsBusyError,
)
from tests.support.template_aws import TemplateAws, template_aws

PREFIX = "formrelay/destinations/"


class RacedSecrets(DestinationSecrets):
    """A writer that, after each of its reads, lets a rival writer save first."""

    def __init__(self, aws: TemplateAws, rivals: list[Callable[[], object]]) -> None:
        super().__init__(PREFIX, secretsmanager=aws.secretsmanager, cache_seconds=0)
        self.rivals = rivals

    def _read_for_write(self, tenant_id: str) -> tuple[dict[str, Any], str | None]:
        read = super()._read_for_write(tenant_id)
        if self.rivals:
            self.rivals.pop(0)()
        return read


@pytest.fixture
def aws() -> Iterator[TemplateAws]:
    with template_aws() as provisioned:
        yield provisioned


def _store(aws: TemplateAws) -> DestinationSecrets:
    return DestinationSecrets(PREFIX, secretsmanager=aws.secretsmanager, cache_seconds=0)


@pytest.mark.parametrize("secret_exists", [False, True], ids=["first-secret", "existing"])
def test_a_write_racing_another_keeps_both_changes(aws: TemplateAws, secret_exists: bool) -> None:
    rival = _store(aws)
    if secret_exists:
        rival.put("acme", "contact", "old", auth_credentials={"token": "old"})

    def rival_saves() -> str:
        return rival.put("acme", "contact", "b", auth_credentials={"token": "tok-b"})

    writer = RacedSecrets(aws, [rival_saves])
    writer.put("acme", "contact", "a", auth_credentials={"token": "tok-a"})

    reader = _store(aws)
    assert reader.credentials("acme", "contact", "a").auth == {"token": "tok-a"}
    assert reader.credentials("acme", "contact", "b").auth == {"token": "tok-b"}
    if secret_exists:
        assert reader.credentials("acme", "contact", "old").auth == {"token": "old"}


def test_a_delete_racing_a_put_keeps_the_put(aws: TemplateAws) -> None:
    rival = _store(aws)
    rival.put("acme", "contact", "gone", auth_credentials=None)

    def rival_saves() -> str:
        return rival.put("acme", "contact", "kept", auth_credentials={"token": "t"})

    RacedSecrets(aws, [rival_saves]).delete("acme", "contact", "gone")

    reader = _store(aws)
    assert reader.credentials("acme", "contact", "gone").signing_secrets == ()
    assert reader.credentials("acme", "contact", "kept").auth == {"token": "t"}


def test_a_writer_that_always_loses_gives_up_busy_and_writes_nothing(aws: TemplateAws) -> None:
    rival = _store(aws)
    rivals: list[Callable[[], object]] = [
        lambda n=n: rival.put("acme", "contact", f"r{n}", auth_credentials=None) for n in range(6)
    ]

    with pytest.raises(DestinationSecretsBusyError):
        RacedSecrets(aws, rivals).put("acme", "contact", "loser", auth_credentials=None)

    assert _store(aws).credentials("acme", "contact", "loser").signing_secrets == ()
    assert all(
        _store(aws).credentials("acme", "contact", f"r{n}").signing_secrets for n in range(6)
    )
