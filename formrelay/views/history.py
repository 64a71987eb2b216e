"""Read-model queries behind the query API: status and verified history."""

from __future__ import annotations

from typing import Any

from formrelay.domain.errors import (
    IntegrityError,
    InvalidIdentifierError,
    StreamNotFoundError,
    UnknownSubmissionError,
)
from formrelay.domain.events import RecordedEvent, StreamId
from formrelay.domain.hashing import verify_chain
from formrelay.domain.ids import SUBMISSION_ID, check
from formrelay.store.port import EventStore
from formrelay.views.status import fold


def _stream(tenant_id: str, submission_id: str, events: EventStore) -> list[RecordedEvent]:
    try:
        check(SUBMISSION_ID, submission_id, "submission id")
        return events.read(StreamId(tenant_id, submission_id), verify=False)
    except (InvalidIdentifierError, StreamNotFoundError) as exc:
        raise UnknownSubmissionError() from exc


def submission_status(tenant_id: str, submission_id: str, *, events: EventStore) -> dict[str, Any]:
    """The status, folded from the submission's own stream: never behind its history.

    The projected status view serves listings, where lag is acceptable; one
    submission's stream is one strongly consistent query, so its status is read
    from the source and cannot lag behind what its history already shows.
    """
    return fold(_stream(tenant_id, submission_id, events))


def submission_history(tenant_id: str, submission_id: str, *, events: EventStore) -> dict[str, Any]:
    """Every event of a submission, and whether its hash chain verifies."""
    recorded = _stream(tenant_id, submission_id, events)
    try:
        verify_chain(recorded)
        verified, problem = True, None
    except IntegrityError as exc:
        verified, problem = False, str(exc)
    return {
        "submission_id": submission_id,
        "events": [event.to_dict() for event in recorded],
        "chain": {"verified": verified, "head": recorded[-1].hash, "problem": problem},
    }
