"""Build Lambda-shaped DynamoDB Streams and SQS events from what the AWS APIs return."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from formrelay.local.emulator import REGION


def _wire_value(value: Any) -> Any:
    """Binary values as base64 text, as Lambda's JSON event carries them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {key: _wire_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire_value(item) for item in value]
    return value


def stream_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """One DynamoDB Streams record (as get_records returns it) in Lambda's event shape."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": _wire_value(change),
        "eventSourceARN": stream_arn,
    }


def _message_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS message attribute in Lambda's camel-case shape."""
    shaped: dict[str, Any] = {
        "stringListValues": attribute.get("StringListValues", []),
        "binaryListValues": _wire_value(attribute.get("BinaryListValues", [])),
        "dataType": attribute["DataType"],
    }
    if "StringValue" in attribute:
        shaped["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        shaped["binaryValue"] = _wire_value(attribute["BinaryValue"])
    return shaped


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received SQS message in Lambda's event shape."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(attr)
            for name, attr in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_item_ids(result: Any, known: set[str]) -> set[str] | None:
    """Identifiers in a batchItemFailures response; None means 'the whole batch failed'."""
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in result["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in known:
            return None  # Lambda treats an invalid identifier as a failure of the batch
        failed.add(identifier)
    return failed
