"""The reconciler's reads and records in the Views table.

`DynamoDBReconcileState`: the checkpoint and run records (the `ReconcileState` port).
`StatusIndex`: the status views a run looks at, found on the listing index by status
and time (gsi1: a tenant's views in one status, sorted by time received, every
attribute projected), and views' versions by key: never a scan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from formrelay.reconciliation.state import RUN_RECORD_DAYS, ReconcileState
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

# BatchGetItem takes at most this many keys a call.
_BATCH_GET = 100


class DynamoDBReconcileState(ViewsTableAdapter, ReconcileState):
    """Checkpoint and run items under `T#{tenant}#RECONCILE`."""

    def _read_checkpoint(self, tenant_id: str) -> str | None:
        answer = self.dynamodb.get_item(
            TableName=self.views_table,
            Key={
                "pk": {"S": vk.reconcile_pk(tenant_id)},
                "sk": {"S": vk.RECONCILE_CHECKPOINT_SK},
            },
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return item["until"]["S"] if item else None

    def _write_checkpoint_if_later(self, tenant_id: str, until: str) -> None:
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item={
                    "pk": {"S": vk.reconcile_pk(tenant_id)},
                    "sk": {"S": vk.RECONCILE_CHECKPOINT_SK},
                    "tenant_id": {"S": tenant_id},
                    "until": {"S": until},
                },
                ConditionExpression="attribute_not_exists(pk) OR #until <= :until",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":until": {"S": until}},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise

    def _write_run(self, tenant_id: str, started_at: str, record: dict[str, Any]) -> None:
        started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        expires_at = int((started + timedelta(days=RUN_RECORD_DAYS)).timestamp())
        self.dynamodb.put_item(
            TableName=self.views_table,
            Item={
                "pk": {"S": vk.reconcile_pk(tenant_id)},
                "sk": {"S": vk.reconcile_run_sk(started_at)},
                "tenant_id": {"S": tenant_id},
                "run": {"S": json.dumps(record, sort_keys=True)},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def _read_runs(self, tenant_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "TableName": self.views_table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :run)",
            "ExpressionAttributeValues": {
                ":pk": {"S": vk.reconcile_pk(tenant_id)},
                ":run": {"S": vk.reconcile_run_sk("")},
            },
        }
        while True:
            answer = self.dynamodb.query(**arguments)
            found += [json.loads(item["run"]["S"]) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                return found
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


class StatusIndex(ViewsTableAdapter):
    """Status views by status and time received, and views' versions."""

    def in_status(
        self, tenant_id: str, status: str, *, received_before: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The views of the tenant's submissions in `status`, oldest first, received
        before `received_before` if given (RFC 3339, as views record it)."""
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": {"S": vk.listing_pk(tenant_id, status)}}
        if received_before is not None:
            condition += " AND gsi1sk < :before"
            values[":before"] = {"S": received_before}
        arguments: dict[str, Any] = {
            "TableName": self.views_table,
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "#view",
            "ExpressionAttributeNames": {"#view": "view"},
        }
        while True:
            answer = self.dynamodb.query(**arguments)
            for item in answer.get("Items", []):
                yield json.loads(item["view"]["S"])
            if "LastEvaluatedKey" not in answer:
                return
            arguments["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def versions(self, tenant_id: str, submission_ids: Iterable[str]) -> dict[str, int]:
        """The stored view version of each named submission that has a view."""
        wanted = sorted(set(submission_ids))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), _BATCH_GET):
            keys: list[dict[str, Any]] = [
                {"pk": {"S": vk.status_pk(tenant_id, s)}, "sk": {"S": vk.STATUS_SK}}
                for s in wanted[start : start + _BATCH_GET]
            ]
            while keys:
                answer = self.dynamodb.batch_get_item(
                    RequestItems={
                        self.views_table: {
                            "Keys": keys,
                            "ProjectionExpression": "pk, version",
                            "ConsistentRead": True,
                        }
                    }
                )
                for item in answer.get("Responses", {}).get(self.views_table, []):
                    submission_id = item["pk"]["S"].rsplit("#S#", 1)[1]
                    found[submission_id] = int(item["version"]["N"])
                unprocessed: dict[str, Any] = dict(answer.get("UnprocessedKeys", {}))
                keys = list(unprocessed.get(self.views_table, {}).get("Keys", []))
        return found
