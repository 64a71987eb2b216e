"""Create in the emulator the tables, queues and secrets a template declares."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from formrelay.local.emulator import ACCOUNT_ID, REGION
from formrelay.local.intrinsics import ResourceMap, parameter_refs, resolve
from formrelay.local.template import resources_of_type

logger = logging.getLogger(__name__)

# CloudFormation queue properties that are SQS attributes under the same name.
_QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def physical_name(stack_name: str, logical_id: str) -> str:
    """The local physical name of a resource, e.g. formrelay-EventsTable."""
    return f"{stack_name}-{logical_id}"


def _table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """Build create_table arguments from AWS::DynamoDB::Table properties."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "LocalSecondaryIndexes" in props:
        request["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return request


def provision_table(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, str]:
    """Create one table (with streams, GSIs, TTL, PITR) and return its attributes."""
    client = boto3.client("dynamodb")
    table = client.create_table(**_table_request(name, props))["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        client.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    attributes = {"Ref": name, "Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    logger.debug("provisioned table %s as %s", logical_id, name)
    return attributes


def provision_queue(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, str]:
    """Create one queue (with redrive) and return its attributes."""
    client = boto3.client("sqs")
    attributes: dict[Any, str] = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in _QUEUE_ATTRIBUTES
        if key in props
    }
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    if props.get("FifoQueue") and not name.endswith(".fifo"):
        name = f"{name}.fifo"
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
    logger.debug("provisioned queue %s as %s", logical_id, url)
    return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}


# GenerateSecretString properties that are GetRandomPassword parameters under the same name.
_PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


def _secret_string(props: dict[str, Any]) -> str:
    """SecretString as given, or generated as GenerateSecretString says (as CloudFormation does:
    a random password, alone or under GenerateStringKey in SecretStringTemplate)."""
    if "SecretString" in props:
        return str(props["SecretString"])
    spec = props.get("GenerateSecretString", {})
    options = {key: spec[key] for key in _PASSWORD_OPTIONS if key in spec}
    password = boto3.client("secretsmanager").get_random_password(**options)["RandomPassword"]
    if "GenerateStringKey" not in spec:
        return password
    document = json.loads(spec.get("SecretStringTemplate", "{}"))
    document[spec["GenerateStringKey"]] = password
    return json.dumps(document)


def provision_secret(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, str]:
    """Create one secret with its (generated) value; its Ref is its ARN, as in CloudFormation."""
    arn = boto3.client("secretsmanager").create_secret(
        Name=name,
        Description=str(props.get("Description", "")),
        SecretString=_secret_string(props),
    )["ARN"]
    logger.debug("provisioned secret %s as %s", logical_id, arn)
    return {"Ref": arn, "Id": arn}


def _queue_order(queues: dict[str, dict[str, Any]]) -> list[str]:
    """Queues without a redrive policy first, so dead-letter targets exist."""
    return sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid].get("Properties", {}))


def provision(template: dict[str, Any], stack_name: str = "formrelay") -> ResourceMap:
    """Create tables, queues and secrets; return logical id -> {Ref, Arn, StreamArn...}.

    Parameters are in the map too, with their defaults as Ref.
    """
    resources: ResourceMap = parameter_refs(template)
    for logical_id, res in resources_of_type(template, "AWS::DynamoDB::Table").items():
        props = resolve(res.get("Properties", {}), resources)
        name = props.get("TableName") or physical_name(stack_name, logical_id)
        resources[logical_id] = provision_table(logical_id, name, props)
    queues = resources_of_type(template, "AWS::SQS::Queue")
    for logical_id in _queue_order(queues):
        props = resolve(queues[logical_id].get("Properties", {}), resources)
        name = props.get("QueueName") or physical_name(stack_name, logical_id)
        resources[logical_id] = provision_queue(logical_id, name, props)
    for logical_id, res in resources_of_type(template, "AWS::SecretsManager::Secret").items():
        props = resolve(res.get("Properties", {}), resources)
        name = props.get("Name") or physical_name(stack_name, logical_id)
        resources[logical_id] = provision_secret(logical_id, name, props)
    return resources
