"""What the read models refuse: one class per failure."""

from __future__ import annotations

from formrelay.domain.errors import FormrelayError


class InvalidListingQueryError(FormrelayError):
    """A listing's query parameters are unknown, missing or malformed."""


class InvalidCursorError(InvalidListingQueryError):
    """The cursor is not one this API gave out for this very query."""

    def __init__(self) -> None:
        super().__init__("cursor is not one this API gave out")


class ListingRefusedError(InvalidListingQueryError):
    """DynamoDB refused the listing's query as invalid (a ValidationException)."""

    def __init__(self) -> None:
        super().__init__("the listing query is not one that can be answered")


class ListingIncompleteError(FormrelayError):
    """DynamoDB left some of a page's status items unread, however often they were asked for."""

    def __init__(self) -> None:
        super().__init__("some of the page's submissions could not be read")
