"""What the delivery use cases refuse (destination admin, redelivery): one class per failure."""

from __future__ import annotations

from collections.abc import Sequence

from formrelay.domain.errors import FormrelayError, InvalidDocumentError, Violation


class InvalidDestinationIdError(FormrelayError):
    """A destination to create has an id outside its pattern."""


class DestinationInvalidError(InvalidDocumentError):
    """A destination fails its schema, the header rules or the SSRF guard."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__(f"{len(violations)} error(s) in the destination", violations)


class DestinationsBusyError(FormrelayError):
    """Other changes to the tenant's destinations kept winning the race: send it again."""

    def __init__(self) -> None:
        super().__init__(
            "other changes to this tenant's destinations were saved at the same moment; "
            "send the request again"
        )


class InvalidRedeliveryOptionsError(FormrelayError):
    """A redelivery's options hold something other than "destination_id" and "reason"."""


class UnknownDeliveryError(FormrelayError):
    """The submission has no delivery to the destination named."""

    def __init__(self, destination_id: str) -> None:
        super().__init__("the submission has no delivery to that destination")
        self.destination_id = destination_id


class DeliveryInProgressError(FormrelayError):
    """A delivery to redeliver has not ended yet."""

    def __init__(self, running: Sequence[str]) -> None:
        super().__init__(
            f"still being delivered to: {', '.join(running)}; redeliver once it has ended"
        )
        self.running = tuple(running)


class SubmissionChangedError(FormrelayError):
    """The submission's stream moved on while a redelivery was being recorded: try again."""

    def __init__(self) -> None:
        super().__init__("the submission changed meanwhile; try again")
