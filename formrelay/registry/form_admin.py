"""The form registry's use cases behind the API: register a schema, read a form, list forms.

A PUT body is parsed strictly and checked against schemas/api/form_put.json
before the registration (formrelay.registry.registration) sees it. Reads answer
another tenant's form, an id outside its pattern and a version that is not one
(0, past the current, not digits) alike: 404.
"""

from __future__ import annotations

import re
from typing import Any, cast

from formrelay.domain.errors import UnknownFormError, Violation
from formrelay.domain.strict_json import parse_body
from formrelay.registry.errors import FormPutInvalidError, UnknownFormVersionError
from formrelay.registry.forms import FormCatalog
from formrelay.registry.registration import Registration, register
from formrelay.registry.schemas import api_schema

# A PUT body over this many bytes is refused (413). A schema is stored twice (its
# version and the head's copy of the current one), each in an item of at most 400 KB.
MAX_FORM_BYTES = 128 * 1024
# Keys of every object of a PUT body together: a schema of many fields needs more than
# a submission may hold (strict_json.MAX_KEYS); the size limit bounds it as well.
MAX_FORM_KEYS = 10_000
# A version in a path: 1 to 6 ASCII digits, no sign, no leading zero.
_VERSION = re.compile(r"[1-9][0-9]{0,5}")


def put_form(forms: FormCatalog, tenant_id: str, form_id: str, raw: bytes) -> Registration:
    """Register the schema a PUT body holds, under the mode it names (if any)."""
    body = parse_body(raw, max_keys=MAX_FORM_KEYS)
    violations = api_schema("form_put").violations(body)
    if violations:
        raise FormPutInvalidError([Violation(v.pointer, v.message) for v in violations])
    body = cast(dict[str, Any], body)  # the schema says it is an object
    return register(forms, tenant_id, form_id, body["schema"], body.get("compatibility"))


def form_document(forms: FormCatalog, tenant_id: str, form_id: str) -> dict[str, Any]:
    """A form at its current version: {"form_id", "version", "compatibility", "schema",
    "versions"} (versions are 1..n, so there are as many as the current one's number)."""
    form = forms.load(tenant_id, form_id)
    if form is None:
        raise UnknownFormError()
    return {
        "form_id": form.form_id,
        "version": form.schema_version,
        "compatibility": form.compatibility.value,
        "schema": form.schema.schema,
        "versions": form.schema_version,
    }


def version_document(
    forms: FormCatalog, tenant_id: str, form_id: str, version: str
) -> dict[str, Any]:
    """One schema version of a form: {"form_id", "version", "schema"}."""
    number = int(version) if _VERSION.fullmatch(version) else None
    schema = None if number is None else forms.schema_at(tenant_id, form_id, number)
    if schema is None:
        if forms.load(tenant_id, form_id) is None:
            raise UnknownFormError()
        raise UnknownFormVersionError()
    return {"form_id": form_id, "version": number, "schema": schema}


def form_list(forms: FormCatalog, tenant_id: str) -> dict[str, Any]:
    """The tenant's forms by id: {"forms": [{"form_id", "version", "compatibility"}]}."""
    return {
        "forms": [
            {
                "form_id": head.form_id,
                "version": head.version,
                "compatibility": head.compatibility.value,
            }
            for head in forms.heads(tenant_id)
        ]
    }
