"""The anchored heads in the Views table: one item per stream, beside its status view.

Item: pk `T#{tenant}#S#{submission}` (the stream's own partition), sk `ANCHORED`,
with the head's version, hash, anchor id and leaf index. A head is written with
a condition that no head of a later (or the same) anchor is there, so an anchor
finished twice, or two anchor runs out of order, never move a head back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from formrelay.audit.heads import AnchoredHead, AnchoredHeads
from formrelay.tables import keys as vk
from formrelay.tables.base import ViewsTableAdapter, condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


class DynamoDBAnchoredHeads(ViewsTableAdapter, AnchoredHeads):
    """Anchored heads as items of the Views table."""

    def _get(self, tenant_id: str, submission_id: str) -> AnchoredHead | None:
        item = self.dynamodb.get_item(
            TableName=self.views_table,
            Key=_key(tenant_id, submission_id),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return AnchoredHead(
            submission_id=item["submission_id"]["S"],
            version=int(item["version"]["N"]),
            hash=item["hash"]["S"],
            anchor_id=item["anchor_id"]["S"],
            leaf_index=int(item["leaf_index"]["N"]),
        )

    def _put_if_later(self, tenant_id: str, head: AnchoredHead) -> None:
        item: dict[str, AttributeValueTypeDef] = {
            **_key(tenant_id, head.submission_id),
            "tenant_id": {"S": tenant_id},
            "submission_id": {"S": head.submission_id},
            "version": {"N": str(head.version)},
            "hash": {"S": head.hash},
            "anchor_id": {"S": head.anchor_id},
            "leaf_index": {"N": str(head.leaf_index)},
        }
        try:
            self.dynamodb.put_item(
                TableName=self.views_table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR anchor_id < :anchor",
                ExpressionAttributeValues={":anchor": {"S": head.anchor_id}},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise


def _key(tenant_id: str, submission_id: str) -> dict[str, AttributeValueTypeDef]:
    return {
        "pk": {"S": vk.status_pk(tenant_id, submission_id)},
        "sk": {"S": vk.ANCHORED_SK},
    }
