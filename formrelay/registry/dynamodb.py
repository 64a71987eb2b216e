"""The forms port over the Views table: a form's head, schemas and destinations share
one partition range, so a form loads in one query."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from formrelay.registry.forms import FormCatalog, SchemaVersionTakenError, StoredForm
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter
from formrelay.tables.destination_items import destination_from_item


class DynamoDBFormCatalog(ViewsTableAdapter, FormCatalog):
    """Forms in the Views table."""

    def _load(self, tenant_id: str, form_id: str) -> StoredForm | None:
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
        return StoredForm(version, json.loads(schema_item["schema"]["S"]), destinations)

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

    def _insert_version(
        self, tenant_id: str, form_id: str, version: int, schema: dict[str, Any]
    ) -> None:
        pk = {"S": vk.tenant_pk(tenant_id)}
        try:
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
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise SchemaVersionTakenError(version) from exc
            raise
