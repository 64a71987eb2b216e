"""What audit refuses or finds: one class per failure."""

from __future__ import annotations

from formrelay.domain.errors import FormrelayError


class AnchorDocumentError(FormrelayError):
    """An anchor object is not a well-formed anchor, or its root does not match its heads."""


class AnchorConflictError(FormrelayError):
    """An anchor with this sequence number exists already and says something else."""
