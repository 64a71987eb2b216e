"""The forms port over the Views table.

A form's items share the tenant's partition: its head `FORM#{form}` (current
version, mode, and a copy of the current schema), its destinations
`FORM#{form}#DEST#...` and its schema versions `FORM#{form}#SCHEMA#{n}`, in that
order, and its entry `FORMS#{form}` in the tenant's list of forms. So ingest
loads a form (head and destinations) in one query that reads no older schema,
a transitive check reads the whole history in one query, and listing the forms
reads the small entries only. A new version is one transaction: the schema
item (never overwritten), the head and the entry, conditioned on the head read.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from formrelay.registry.forms import (
    FormCatalog,
    FormChangedError,
    FormHead,
    FormHistory,
    StoredForm,
)
from formrelay.registry.verdicts import Mode
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter
from formrelay.tables.destination_items import destination_from_item

# Why a transaction may be cancelled when another writer got there first.
_LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict", "None"})
# Every id character sorts before '~': the last key of a range of ids.
_LAST = "~"


class DynamoDBFormCatalog(ViewsTableAdapter, FormCatalog):
    """Forms in the Views table."""

    def _load(self, tenant_id: str, form_id: str) -> StoredForm | None:
        start = vk.form_sk(form_id)
        # The head, then its destinations; its schema items sort after them (SCHEMA > DEST).
        items = self._query_range(tenant_id, start, vk.destination_sk(form_id, _LAST))
        head = next((i for i in items if i["sk"]["S"] == start), None)
        if head is None:
            return None
        destinations = tuple(
            destination_from_item(i) for i in items if i.get("kind", {}).get("S") == "destination"
        )
        return StoredForm(
            _head(head).version,
            _head(head).compatibility,
            json.loads(head["schema"]["S"]),
            destinations,
        )

    def _history(self, tenant_id: str, form_id: str) -> FormHistory | None:
        start = vk.form_sk(form_id)
        items = self._query_range(tenant_id, start, start + "#" + _LAST)
        head = next((i for i in items if i["sk"]["S"] == start), None)
        if head is None:
            return None
        # The schema keys hold zero-padded versions: they come in version order.
        schemas = tuple(
            json.loads(i["schema"]["S"])
            for i in items
            if i.get("kind", {}).get("S") == "form_schema"
        )
        return FormHistory(_head(head), schemas)

    def _schema_at(self, tenant_id: str, form_id: str, version: int) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={
                "pk": {"S": vk.tenant_pk(tenant_id)},
                "sk": {"S": vk.form_schema_sk(form_id, version)},
            },
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else dict(json.loads(item["schema"]["S"]))

    def _heads(self, tenant_id: str) -> list[FormHead]:
        paginator = self.dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.views_table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": vk.tenant_pk(tenant_id)},
                ":prefix": {"S": vk.FORM_ENTRY_PREFIX},
            },
            ConsistentRead=True,
        )
        return [_head(item) for page in pages for item in page.get("Items", [])]

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
        self,
        tenant_id: str,
        head: FormHead,
        schema: dict[str, Any],
        expected: FormHead | None,
    ) -> None:
        pk = {"S": vk.tenant_pk(tenant_id)}
        text = json.dumps(schema)
        schema_item = {
            "Put": {
                "TableName": self.views_table,
                "Item": {
                    "pk": pk,
                    "sk": {"S": vk.form_schema_sk(head.form_id, head.version)},
                    "kind": {"S": "form_schema"},
                    "form_id": {"S": head.form_id},
                    "version": {"N": str(head.version)},
                    "schema": {"S": text},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        self._transact(tenant_id, [schema_item, *self._head_puts(pk, head, text, expected)])

    def _replace_head(
        self,
        tenant_id: str,
        head: FormHead,
        schema: dict[str, Any],
        expected: FormHead,
    ) -> None:
        pk = {"S": vk.tenant_pk(tenant_id)}
        self._transact(tenant_id, self._head_puts(pk, head, json.dumps(schema), expected))

    def _head_puts(
        self, pk: dict[str, str], head: FormHead, schema_text: str, expected: FormHead | None
    ) -> list[dict[str, Any]]:
        """The head (conditioned on the one read) and the form's entry in the list."""
        attributes = {
            "pk": pk,
            "form_id": {"S": head.form_id},
            "current_version": {"N": str(head.version)},
            "compatibility": {"S": head.compatibility.value},
        }
        put_head: dict[str, Any] = {
            "TableName": self.views_table,
            "Item": {
                **attributes,
                "sk": {"S": vk.form_sk(head.form_id)},
                "kind": {"S": "form"},
                "schema": {"S": schema_text},
            },
        }
        if expected is None:
            put_head["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put_head["ConditionExpression"] = "current_version = :v AND compatibility = :m"
            put_head["ExpressionAttributeValues"] = {
                ":v": {"N": str(expected.version)},
                ":m": {"S": expected.compatibility.value},
            }
        put_entry = {
            "TableName": self.views_table,
            "Item": {
                **attributes,
                "sk": {"S": vk.form_entry_sk(head.form_id)},
                "kind": {"S": "form_entry"},
            },
        }
        return [{"Put": put_head}, {"Put": put_entry}]

    def _transact(self, tenant_id: str, items: list[dict[str, Any]]) -> None:
        try:
            self.dynamodb.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = {
                reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])
            }
            if reasons <= _LOST_RACE:
                raise FormChangedError(tenant_id) from exc
            raise


def _head(item: dict[str, Any]) -> FormHead:
    return FormHead(
        item["form_id"]["S"],
        int(item["current_version"]["N"]),
        Mode(item["compatibility"]["S"]),
    )
