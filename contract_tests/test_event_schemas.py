"""Property-based contract tests generated from every event schema in the registry.

Laws:
- any data an event schema allows, the store's data check allows (the registry
  and the generated documents agree: no schema the validators cannot compile
  or disagree about);
- storing and reloading a sealed event never changes it, nor its hash
  (to_item/from_item round-trip; the chain still verifies).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from formrelay.domain.events import NewEvent, StreamId
from formrelay.domain.hashing import GENESIS_HASH, chain_hash, seal, verify_chain
from formrelay.registry.schemas import check_event_data, schemas_root
from formrelay.store.items import from_item, to_item

SCHEMA_FILES = sorted((schemas_root() / "events").glob("*/*.json"))
PROFILE = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Ids as the API accepts them (formrelay.domain.ids patterns), not arbitrary text.
tenants = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?\Z")
submissions = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?\Z")


def test_the_registry_has_event_schemas() -> None:
    assert len(SCHEMA_FILES) >= 3


def _case(path: Path) -> tuple[str, int, dict[str, Any]]:
    return path.parent.name, int(path.stem), json.loads(path.read_text(encoding="utf-8"))


CASES = [_case(p) for p in SCHEMA_FILES]
IDS = [f"{t}/v{v}" for t, v, _ in CASES]


@pytest.mark.parametrize("event_type, version, schema", CASES, ids=IDS)
def test_generated_events_pass_their_check_and_survive_storage_unchanged(
    event_type: str, version: int, schema: dict[str, Any]
) -> None:
    @PROFILE
    @given(
        tenant=tenants,
        submission=submissions,
        batch=st.lists(from_schema(schema), min_size=1, max_size=2),
        causation=st.none() | st.uuids().map(str),
    )
    def law(
        tenant: str, submission: str, batch: list[dict[str, Any]], causation: str | None
    ) -> None:
        # Given data the schema allows: the store's data check allows it too
        # (one test for both laws: generating from these schemas is the slow part)
        for data in batch:
            check_event_data(event_type, version, data)  # raises EventSchemaError if not

        # and sealed events made of it
        stream = StreamId(tenant, submission)
        new = [
            NewEvent(
                type=event_type,
                schema_version=version,
                data=data,
                correlation_id="corr",
                causation_id=causation,
            )
            for data in batch
        ]
        sealed = seal(stream, new, after_version=0, prev_hash=GENESIS_HASH)

        # When each is stored as a DynamoDB item and read back
        reloaded = [from_item(to_item(event)) for event in sealed]

        # Then nothing changed, every hash recomputes the same, and the chain verifies
        assert reloaded == sealed
        for event in reloaded:
            assert chain_hash(event.prev_hash, event.body()) == event.hash
        verify_chain(reloaded)

    law()
