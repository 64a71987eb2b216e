"""How two schema versions of a form compare, as the registry's checker sees it.

GET /v1/forms/{form_id}/compatibility?from=N&to=M[&mode=MODE] asks: would version M
be registered as the version after N? The checker (formrelay.registry.compatibility)
compares the two under the form's mode, or under the mode asked for, and proves each
incompatibility with a witness: a document one version accepts and the other refuses.
Only the two versions named are compared, whatever the mode: a *_TRANSITIVE mode over
one earlier version is its plain mode (the registration, not this read, checks a new
version against all of a form's history). N may be later than M: the question is then
whether M could follow N, as when a change is undone.

A malformed query is refused before anything is read (InvalidCompatibilityQueryError);
another tenant's form, a form id outside its pattern and a version the form does not
have are as absent as a form that never was (UnknownFormError).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from formrelay.domain.errors import UnknownFormError
from formrelay.registry.compatibility import Incompatibility, Mode, check
from formrelay.registry.errors import InvalidCompatibilityQueryError, UnknownFormVersionError
from formrelay.registry.forms import FormCatalog

PARAMETERS = frozenset({"from", "to", "mode"})
# A version in a query: as in a path, 1 to 6 ASCII digits, no sign, no leading zero.
VERSION = re.compile(r"[1-9][0-9]{0,5}")
MODES = tuple(mode.value for mode in Mode)


@dataclass(frozen=True)
class CompatibilityQuery:
    """Which two versions to compare (`older` as the earlier one), and under which mode."""

    older: int
    newer: int
    mode: Mode | None = None  # None: the form's own


def parse_compatibility_query(params: Mapping[str, str]) -> CompatibilityQuery:
    """The query of a compatibility read; InvalidCompatibilityQueryError if malformed."""
    unknown = set(params) - PARAMETERS
    if unknown:
        raise InvalidCompatibilityQueryError(
            f"unknown query parameters: {', '.join(sorted(unknown))}"
        )
    older, newer = _version(params, "from"), _version(params, "to")
    if older == newer:
        raise InvalidCompatibilityQueryError("from and to must name two different versions")
    given = params.get("mode")
    if given is not None and given not in MODES:
        raise InvalidCompatibilityQueryError(f"mode must be one of {', '.join(MODES)}")
    return CompatibilityQuery(older, newer, None if given is None else Mode(given))


def _version(params: Mapping[str, str], name: str) -> int:
    text = params.get(name)
    if text is None:
        raise InvalidCompatibilityQueryError(f"{name} is required: a version number, 1, 2, ...")
    if not VERSION.fullmatch(text):
        raise InvalidCompatibilityQueryError(f"{name} must be a version number: 1, 2, ...")
    return int(text)


def version_compatibility(
    forms: FormCatalog, tenant_id: str, form_id: str, query: CompatibilityQuery
) -> dict[str, Any]:
    """The checker's verdict on version `newer` as the version after `older`.

    {"form_id", "from", "to", "mode", "form_compatibility", "compatible",
    "incompatibilities": [{"pointer", "reason", "direction", "witness", "accepted_by",
    "refused_by"}], "undecided": [{"pointer", "reason"}]}: `compatible` is true, false,
    or null when the checker could not decide; each witness is accepted by version
    `accepted_by` and refused by version `refused_by`.
    """
    form = forms.load(tenant_id, form_id)
    if form is None:
        raise UnknownFormError()
    older = forms.schema_at(tenant_id, form_id, query.older)
    newer = forms.schema_at(tenant_id, form_id, query.newer)
    if older is None or newer is None:
        raise UnknownFormVersionError()
    mode = query.mode or form.compatibility
    verdict = check([older], newer, mode)
    return {
        "form_id": form_id,
        "from": query.older,
        "to": query.newer,
        "mode": verdict.mode.value,
        "form_compatibility": form.compatibility.value,
        "compatible": verdict.compatible,
        "incompatibilities": [
            _incompatibility(found, query) for found in verdict.incompatibilities
        ],
        "undecided": [open_.as_dict() for open_ in verdict.undecided],
    }


def _incompatibility(found: Incompatibility, query: CompatibilityQuery) -> dict[str, Any]:
    """One reason, with the version its witness is valid under and the one refusing it.

    Backward: a document the earlier version accepted is refused by the later one;
    forward: the reverse (an old reader refuses what the new version accepts).
    """
    backward = found.direction == "backward"
    return {
        **found.as_dict(),
        "direction": found.direction,
        "accepted_by": query.older if backward else query.newer,
        "refused_by": query.newer if backward else query.older,
    }
