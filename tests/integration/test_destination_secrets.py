"""Destination credentials under concurrent writers: a change saved while another writer was
between its read and its write is never lost (secret documents: compare-and-swap on AWSCURRENT).

Run on Secrets Manager (moto) and on the in-memory fake, which unit tests use in its place."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.secrets.memory import InMemorySecretDocuments, InMemorySecretVault
from formrelay.secrets.port import SecretDocumentBusyError, SecretDocuments
from formrelay.secrets.secretsmanager import SecretsManagerDocuments
from tests.support.template_aws import template_aws

PREFIX = "formrelay/destinations/"
# One writer's documents (one container): a new instance over the same storage each time.
Documents = Callable[[], SecretDocuments]


@pytest.fixture(params=["secretsmanager", "memory"])
def documents(request: pytest.FixtureRequest) -> Iterator[Documents]:
    if request.param == "memory":
        vault = InMemorySecretVault()
        yield lambda: InMemorySecretDocuments(vault, sleep=lambda seconds: None)
        return
    with template_aws() as aws:
        yield lambda: SecretsManagerDocuments(aws.secretsmanager, sleep=lambda seconds: None)


def _store(documents: Documents) -> DestinationSecrets:
    return DestinationSecrets(PREFIX, documents=documents(), cache_seconds=0)


def raced(
    documents: Documents, rivals: list[Callable[[], object]], monkeypatch: pytest.MonkeyPatch
) -> DestinationSecrets:
    """A writer that, after each of its reads for writing, lets a rival writer save first."""
    store = _store(documents)
    real_read = store.documents._read_latest

    def read_then_rival_saves(name: str) -> tuple[object, str] | None:
        found = real_read(name)
        if rivals:
            rivals.pop(0)()
        return found

    monkeypatch.setattr(store.documents, "_read_latest", read_then_rival_saves)
    return store


@pytest.mark.parametrize("secret_exists", [False, True], ids=["first-secret", "existing"])
def test_a_write_racing_another_keeps_both_changes(
    documents: Documents, secret_exists: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival = _store(documents)
    if secret_exists:
        rival.put("acme", "contact", "old", auth_credentials={"token": "old"})

    def rival_saves() -> str:
        return rival.put("acme", "contact", "b", auth_credentials={"token": "tok-b"})

    writer = raced(documents, [rival_saves], monkeypatch)
    writer.put("acme", "contact", "a", auth_credentials={"token": "tok-a"})

    reader = _store(documents)
    assert reader.credentials("acme", "contact", "a").auth == {"token": "tok-a"}
    assert reader.credentials("acme", "contact", "b").auth == {"token": "tok-b"}
    if secret_exists:
        assert reader.credentials("acme", "contact", "old").auth == {"token": "old"}


def test_a_delete_racing_a_put_keeps_the_put(
    documents: Documents, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival = _store(documents)
    rival.put("acme", "contact", "gone", auth_credentials=None)

    def rival_saves() -> str:
        return rival.put("acme", "contact", "kept", auth_credentials={"token": "t"})

    raced(documents, [rival_saves], monkeypatch).delete("acme", "contact", "gone")

    reader = _store(documents)
    assert reader.credentials("acme", "contact", "gone").signing_secrets == ()
    assert reader.credentials("acme", "contact", "kept").auth == {"token": "t"}


def test_a_writer_that_always_loses_gives_up_busy_and_writes_nothing(
    documents: Documents, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival = _store(documents)
    tries = rival.documents.tries
    rivals: list[Callable[[], object]] = [
        lambda n=n: rival.put("acme", "contact", f"r{n}", auth_credentials=None)
        for n in range(tries)
    ]

    with pytest.raises(SecretDocumentBusyError):
        raced(documents, rivals, monkeypatch).put("acme", "contact", "loser", auth_credentials=None)

    reader = _store(documents)
    assert reader.credentials("acme", "contact", "loser").signing_secrets == ()
    assert all(reader.credentials("acme", "contact", f"r{n}").signing_secrets for n in range(tries))


def test_another_tenants_credentials_are_apart(documents: Documents) -> None:
    store = _store(documents)
    secret = store.put("acme", "contact", "crm", auth_credentials={"token": "acme-token"})

    other = _store(documents).credentials("globex", "contact", "crm")

    assert other.signing_secrets == () and other.auth == {}
    assert _store(documents).credentials("acme", "contact", "crm").signing_secrets == (secret,)
