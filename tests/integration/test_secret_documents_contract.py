"""The secret-document contract: every back end of the port passes this one suite.

`SecretDocumentsContract` holds the tests; each back end subclasses it and
provides `documents` (a factory: several instances over the same storage are
several Lambda containers, each with its own cache) and `tamper` (write raw
text behind the port's back, which no public API offers). The in-memory fake
and the Secrets Manager back end (on moto) both run it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import boto3
import pytest
from moto import mock_aws

from formrelay.local import secretsmanager_atomicity
from formrelay.secrets.memory import InMemorySecretDocuments, InMemorySecretVault
from formrelay.secrets.port import (
    Document,
    SecretDocumentBusyError,
    SecretDocumentError,
    SecretDocuments,
    VersionedDocument,
)
from formrelay.secrets.secretsmanager import SecretsManagerDocuments
from tests.support.template_aws import LOCAL_CREDENTIALS

NAME = "formrelay/tenants/acme"
OTHER = "formrelay/tenants/globex"


class Factory(Protocol):
    def __call__(self, **options: Any) -> SecretDocuments: ...


Tamper = Callable[[str, str], None]


def no_wait(seconds: float) -> None:
    """A sleep that returns at once (the backoff is checked by what it was asked)."""


def add(key: str, value: object) -> Callable[[Document], str]:
    """A change that adds one entry under "items" and returns its key."""

    def change(document: Document) -> str:
        document.setdefault("items", {})[key] = value
        return key

    return change


def items(documents: SecretDocuments, name: str = NAME) -> dict[str, Any]:
    found: dict[str, Any] = documents.read_latest(name).document.get("items", {})
    return found


class SecretDocumentsContract:
    """The behaviour every SecretDocuments back end must show."""

    @pytest.fixture
    def documents(self) -> Iterator[Factory]:
        raise NotImplementedError  # each back end provides its factory

    @pytest.fixture
    def tamper(self) -> Tamper:
        raise NotImplementedError

    # -- reading and writing ------------------------------------------------

    def test_a_document_never_written_reads_empty_with_no_version(self, documents: Factory) -> None:
        store = documents()

        assert store.read(NAME, max_age=30) == {}
        assert store.read_latest(NAME) == VersionedDocument({}, None)

    def test_update_creates_the_document_and_returns_the_changes_result(
        self, documents: Factory
    ) -> None:
        store = documents()

        assert store.update(NAME, add("a", 1)) == "a"

        latest = store.read_latest(NAME)
        assert latest.document == {"items": {"a": 1}}
        assert latest.version is not None
        assert documents().read(NAME, max_age=30) == {"items": {"a": 1}}

    def test_each_stored_change_makes_a_new_version_keeping_earlier_changes(
        self, documents: Factory
    ) -> None:
        store = documents()
        store.update(NAME, add("a", 1))
        first = store.read_latest(NAME).version

        store.update(NAME, add("b", [1, 2]))

        latest = store.read_latest(NAME)
        assert latest.version not in (None, first)
        assert latest.document == {"items": {"a": 1, "b": [1, 2]}}

    def test_a_change_that_changes_nothing_stores_nothing(self, documents: Factory) -> None:
        store = documents()
        assert store.update(NAME, lambda document: "nothing") == "nothing"
        assert store.read_latest(NAME).version is None  # not even created

        store.update(NAME, add("a", 1))
        version = store.read_latest(NAME).version
        store.update(NAME, add("a", 1))  # the same value again

        assert store.read_latest(NAME).version == version

    def test_a_change_that_raises_stores_nothing(self, documents: Factory) -> None:
        store = documents()
        store.update(NAME, add("a", 1))
        version = store.read_latest(NAME).version

        def half_done(document: Document) -> None:
            document["items"]["b"] = 2
            raise LookupError("refused half-way")

        with pytest.raises(LookupError):
            store.update(NAME, half_done)

        assert store.read_latest(NAME) == VersionedDocument({"items": {"a": 1}}, version)

    def test_documents_of_other_names_are_apart(self, documents: Factory) -> None:
        # Given one tenant's document
        store = documents()
        store.update(NAME, add("mine", "secret-of-acme"))

        # Then another tenant's name reads empty, and its writes do not touch the first
        assert store.read(OTHER, max_age=30) == {}
        store.update(OTHER, add("theirs", "secret-of-globex"))
        assert items(store) == {"mine": "secret-of-acme"}
        assert items(store, OTHER) == {"theirs": "secret-of-globex"}

    def test_editing_what_was_read_changes_nothing_stored_or_cached(
        self, documents: Factory
    ) -> None:
        store = documents()
        store.update(NAME, add("a", {"deep": 1}))

        store.read(NAME, max_age=300)["items"]["a"]["deep"] = 2
        store.read_latest(NAME).document["items"]["a"]["deep"] = 3

        assert store.read(NAME, max_age=300) == {"items": {"a": {"deep": 1}}}
        assert items(store) == {"a": {"deep": 1}}

    def test_a_document_that_is_not_a_json_object_is_refused(
        self, documents: Factory, tamper: Tamper
    ) -> None:
        store = documents()
        for text in ('["not", "an", "object"]', "not json at all"):
            tamper(NAME, text)

            with pytest.raises(SecretDocumentError):
                store.read(NAME, max_age=0)
            with pytest.raises(SecretDocumentError):
                store.read_latest(NAME)
            with pytest.raises(SecretDocumentError):
                store.update(NAME, add("a", 1))

    # -- the cache ------------------------------------------------------------

    def test_a_cached_read_serves_the_old_document_until_refetched(
        self, documents: Factory
    ) -> None:
        # Given a reader (another container) that has cached the document
        writer, reader = documents(), documents()
        writer.update(NAME, add("a", 1))
        assert reader.read(NAME, max_age=300) == {"items": {"a": 1}}

        # When the writer changes it
        writer.update(NAME, add("b", 2))

        # Then the reader serves its cached copy within max_age, the new one when refetching
        assert reader.read(NAME, max_age=300) == {"items": {"a": 1}}
        assert reader.read(NAME, max_age=300, refetch=True) == {"items": {"a": 1, "b": 2}}
        assert reader.read(NAME, max_age=300) == {"items": {"a": 1, "b": 2}}

    def test_with_no_max_age_every_read_is_fresh(self, documents: Factory) -> None:
        writer, reader = documents(), documents()
        writer.update(NAME, add("a", 1))
        assert reader.read(NAME, max_age=0) == {"items": {"a": 1}}

        writer.update(NAME, add("b", 2))

        assert reader.read(NAME, max_age=0) == {"items": {"a": 1, "b": 2}}

    def test_a_writer_reads_its_own_write_although_it_had_cached_the_document(
        self, documents: Factory
    ) -> None:
        store = documents()
        store.update(NAME, add("a", 1))
        assert store.read(NAME, max_age=300) == {"items": {"a": 1}}

        store.update(NAME, add("b", 2))

        assert store.read(NAME, max_age=300) == {"items": {"a": 1, "b": 2}}

    # -- rival writers ----------------------------------------------------------

    @pytest.mark.parametrize("exists", [False, True], ids=["first-write", "existing"])
    def test_a_rival_saving_between_read_and_swap_keeps_both_changes(
        self, documents: Factory, monkeypatch: pytest.MonkeyPatch, exists: bool
    ) -> None:
        # Given a writer whose first read is followed at once by a rival's save
        writer, rival = documents(sleep=no_wait), documents()
        if exists:
            rival.update(NAME, add("old", 0))
        real_read = writer._read_latest
        raced = False

        def read_then_rival_saves(name: str) -> tuple[object, str] | None:
            nonlocal raced
            found = real_read(name)
            if not raced:
                raced = True
                rival.update(NAME, add("rival", 2))
            return found

        monkeypatch.setattr(writer, "_read_latest", read_then_rival_saves)

        # When the writer saves its own change
        writer.update(NAME, add("mine", 1))

        # Then both changes are stored (and what was there before)
        expected = {"mine": 1, "rival": 2} | ({"old": 0} if exists else {})
        assert items(documents()) == expected

    def test_a_writer_that_always_loses_gives_up_busy_and_stores_nothing_of_its_own(
        self, documents: Factory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given a writer that a rival beats to every swap
        waits: list[float] = []
        writer = documents(
            tries=4,
            backoff_seconds=0.1,
            max_backoff_seconds=0.3,
            sleep=waits.append,
            jitter=lambda low, high: high,  # the longest wait each round allows
        )
        rival = documents()
        real_read = writer._read_latest
        rounds = 0

        def read_then_rival_saves(name: str) -> tuple[object, str] | None:
            nonlocal rounds
            found = real_read(name)
            rival.update(NAME, add(f"rival-{rounds}", rounds))
            rounds += 1
            return found

        monkeypatch.setattr(writer, "_read_latest", read_then_rival_saves)

        # When it tries to save
        with pytest.raises(SecretDocumentBusyError):
            writer.update(NAME, add("loser", 1))

        # Then it tried `tries` times, waiting longer each time up to the cap, and
        # stored nothing; every rival change is kept
        assert rounds == 4
        assert waits == [0.1, 0.2, 0.3]
        assert items(documents()) == {f"rival-{n}": n for n in range(4)}

    def test_the_wait_between_tries_is_jittered_below_its_ceiling(self, documents: Factory) -> None:
        asked: list[tuple[float, float]] = []

        def jitter(low: float, high: float) -> float:
            asked.append((low, high))
            return low

        store = documents(backoff_seconds=0.05, max_backoff_seconds=1.0, jitter=jitter)

        assert [store.backoff(n) for n in range(7)] == [0.0] * 7
        assert asked == [(0.0, c) for c in (0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0)]

    def test_eight_rival_writers_on_threads_all_save_with_the_default_tries(
        self, documents: Factory
    ) -> None:
        # Each lost round means a rival saved meanwhile, and each rival saves once: seven
        # rivals can beat a writer seven times at most, within the default ten tries.
        stored = race(documents, writers=8, changes=1)

        assert stored == {f"w{n}-0": n for n in range(8)}

    def test_rival_writers_on_threads_saving_many_changes_lose_none(
        self, documents: Factory
    ) -> None:
        # 8 writers x 4 changes: a writer can be beaten once by each of the 31 other saves
        stored = race(documents, writers=8, changes=4, tries=32)

        assert stored == {f"w{n}-{c}": n for n in range(8) for c in range(4)}


def race(documents: Factory, *, writers: int, changes: int, **options: Any) -> dict[str, Any]:
    """Writers (one container each) start at one moment and save their changes; what is stored."""
    stores = [
        documents(backoff_seconds=0.005, max_backoff_seconds=0.05, **options)
        for _ in range(writers)
    ]
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def save(number: int, store: SecretDocuments) -> None:
        try:
            start.wait()
            for change in range(changes):
                store.update(NAME, add(f"w{number}-{change}", number))
        except BaseException as exc:  # reported below, as the writer's failure
            failures.append(exc)

    threads = [threading.Thread(target=save, args=(n, s)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return items(documents())


class TestInMemorySecretDocuments(SecretDocumentsContract):
    @pytest.fixture
    def vault(self) -> InMemorySecretVault:
        return InMemorySecretVault()

    @pytest.fixture
    def documents(self, vault: InMemorySecretVault) -> Iterator[Factory]:
        def make(**options: Any) -> SecretDocuments:
            return InMemorySecretDocuments(vault, **options)

        yield make

    @pytest.fixture
    def tamper(self, vault: InMemorySecretVault) -> Tamper:
        return vault.put_text

    def test_a_cached_document_is_fetched_again_once_its_max_age_has_passed(
        self, vault: InMemorySecretVault
    ) -> None:
        # The cache's age is measured on the clock the port is given (every back end).
        now = [0.0]
        writer = InMemorySecretDocuments(vault)
        reader = InMemorySecretDocuments(vault, clock=lambda: now[0])
        writer.update(NAME, add("a", 1))
        reader.read(NAME, max_age=30)
        writer.update(NAME, add("b", 2))

        now[0] = 30.0
        assert reader.read(NAME, max_age=30) == {"items": {"a": 1}}
        now[0] = 30.5
        assert reader.read(NAME, max_age=30) == {"items": {"a": 1, "b": 2}}


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """One emulated AWS per module (starting moto costs ~0.2 s); fresh names per test."""
    secretsmanager_atomicity.install()
    with pytest.MonkeyPatch.context() as env:
        for name, value in LOCAL_CREDENTIALS.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        with mock_aws():
            yield boto3.client("secretsmanager", region_name="us-east-1")


class TestSecretsManagerDocuments(SecretDocumentsContract):
    @pytest.fixture
    def client(self, aws: Any) -> Iterator[Any]:
        yield aws
        for name in (NAME, OTHER):
            with contextlib.suppress(aws.exceptions.ResourceNotFoundException):
                aws.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    @pytest.fixture
    def documents(self, client: Any) -> Iterator[Factory]:
        def make(**options: Any) -> SecretDocuments:
            return SecretsManagerDocuments(client, **options)

        yield make

    @pytest.fixture
    def tamper(self, client: Any) -> Tamper:
        def write(name: str, text: str) -> None:
            try:
                client.put_secret_value(SecretId=name, SecretString=text)
            except client.exceptions.ResourceNotFoundException:
                client.create_secret(Name=name, SecretString=text)

        return write

    def test_readers_ask_for_the_current_stage_and_never_see_a_staged_write(
        self, client: Any, documents: Factory
    ) -> None:
        # Given a document, and a write that staged its version but lost the swap
        store = documents()
        store.update(NAME, add("a", 1))
        client.put_secret_value(
            SecretId=NAME,
            SecretString='{"items": {"staged": 1}}',
            VersionStages=["FORMRELAY_STAGED"],
        )

        # Then readers, cached or not, see the current version only
        assert documents().read(NAME, max_age=30) == {"items": {"a": 1}}
        assert items(documents()) == {"a": 1}
