"""Forms: each tenant's forms, their versioned schemas, and their destinations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from formrelay.domain.destinations import Destination
from formrelay.domain.ids import FORM_ID, check
from formrelay.registry.schemas import CompiledSchema
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter
from formrelay.tables.destination_items import destination_from_item

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Form:
    """A form at its current schema version, with its destinations."""

    tenant_id: str
    form_id: str
    schema_version: int
    schema: CompiledSchema
    destinations: tuple[Destination, ...]


class FormCatalog(ViewsTableAdapter):
    """Reads and writes forms in the Views table."""

    def load(self, tenant_id: str, form_id: str) -> Form | None:
        """A form with its current schema and destinations (one query), or None."""
        start = vk.form_sk(form_id)
        # Every id character sorts after '#', so this range holds this form only.
        items = self._query_range(tenant_id, start, start + "#~")
        head = next((i for i in items if i["sk"]["S"] == start), None)
        if head is None:
            return None
        version = int(head["current_version"]["N"])
        schema_item = next(
            (i for i in items if i["sk"]["S"] == vk.form_schema_sk(form_id, version)), None
        )
        if schema_item is None:
            return None
        destinations = tuple(
            destination_from_item(i) for i in items if i.get("kind", {}).get("S") == "destination"
        )
        return Form(
            tenant_id=tenant_id,
            form_id=form_id,
            schema_version=version,
            schema=CompiledSchema(json.loads(schema_item["schema"]["S"])),
            destinations=destinations,
        )

    def _query_range(self, tenant_id: str, low: str, high: str) -> list[dict[str, Any]]:
        paginator = self.dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.views_table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": vk.tenant_pk(tenant_id)},
                ":low": {"S": low},
                ":high": {"S": high},
            },
            ConsistentRead=True,
        )
        return [item for page in pages for item in page.get("Items", [])]

    def put_schema(self, tenant_id: str, form_id: str, schema: dict[str, Any]) -> int:
        """Register a new schema version for a form (creating the form); return its version."""
        check(FORM_ID, form_id, "form id")
        CompiledSchema(schema)  # refuse a schema that does not compile
        current = self.load(tenant_id, form_id)
        version = 1 if current is None else current.schema_version + 1
        pk = {"S": vk.tenant_pk(tenant_id)}
        self.dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.views_table,
                        "Item": {
                            "pk": pk,
                            "sk": {"S": vk.form_schema_sk(form_id, version)},
                            "kind": {"S": "form_schema"},
                            "schema": {"S": json.dumps(schema)},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.views_table,
                        "Item": {
                            "pk": pk,
                            "sk": {"S": vk.form_sk(form_id)},
                            "kind": {"S": "form"},
                            "form_id": {"S": form_id},
                            "current_version": {"N": str(version)},
                        },
                    }
                },
            ]
        )
        return version
