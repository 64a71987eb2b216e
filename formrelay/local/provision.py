"""Create in the emulator the tables, queues, buckets, secrets and event buses (with their
rules) a template declares."""

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


def provision_bucket(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, str]:
    """Create one bucket, with Object Lock and its default retention when the template
    asks for them (moto enforces compliance-mode retention as S3 does)."""
    client = boto3.client("s3")
    locked = bool(props.get("ObjectLockEnabled"))
    client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)
    if locked and "ObjectLockConfiguration" in props:
        config = props["ObjectLockConfiguration"]
        default = config.get("Rule", {}).get("DefaultRetention", {})
        retention: dict[str, Any] = {"Mode": default.get("Mode", "COMPLIANCE")}
        for unit in ("Days", "Years"):
            if unit in default:
                retention[unit] = int(default[unit])  # parameters resolve to text
        lock: Any = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}}
        client.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
    elif props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    logger.debug("provisioned bucket %s as %s", logical_id, name)
    return {"Ref": name, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}


def provision_event_bus(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, str]:
    """Create one event bus; its Ref is its name, as in CloudFormation."""
    arn = boto3.client("events").create_event_bus(Name=name)["EventBusArn"]
    logger.debug("provisioned event bus %s as %s", logical_id, name)
    return {"Ref": name, "Arn": arn, "Name": name}


def provision_rule(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, str]:
    """Create one rule with its targets (SQS targets deliver in the emulator; Lambda and
    Step Functions targets do not)."""
    client = boto3.client("events")
    bus = str(props.get("EventBusName", "default"))
    pattern = props.get("EventPattern")
    request: dict[str, Any] = {"Name": name, "EventBusName": bus}
    if pattern is not None:
        request["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
    if "ScheduleExpression" in props:
        request["ScheduleExpression"] = props["ScheduleExpression"]
    request["State"] = str(props.get("State", "ENABLED"))
    arn = client.put_rule(**request)["RuleArn"]
    targets = [{"Id": str(t["Id"]), "Arn": str(t["Arn"])} for t in props.get("Targets", [])]
    if targets:
        client.put_targets(Rule=name, EventBusName=bus, Targets=targets)  # type: ignore[arg-type]
    logger.debug("provisioned rule %s as %s", logical_id, name)
    return {"Ref": name, "Arn": arn}


def _queue_order(queues: dict[str, dict[str, Any]]) -> list[str]:
    """Queues without a redrive policy first, so dead-letter targets exist."""
    return sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid].get("Properties", {}))


# Resources the local stack has no use for: nothing raises a CloudWatch alarm locally,
# so neither the alarms nor the topic they notify are made (the failure queues they
# watch are, and the stack's tests read those directly).
NOT_EMULATED = ("AWS::CloudWatch::Alarm", "AWS::SNS::Topic", "AWS::SNS::Subscription")


def provision(template: dict[str, Any], stack_name: str = "formrelay") -> ResourceMap:
    """Create tables, queues, buckets, secrets, buses and rules; return logical id ->
    {Ref, Arn, StreamArn...}.

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
    for logical_id, res in resources_of_type(template, "AWS::S3::Bucket").items():
        props = resolve(res.get("Properties", {}), resources)
        # Bucket names are lower case; physical names keep the logical id's case.
        name = props.get("BucketName") or physical_name(stack_name, logical_id).lower()
        resources[logical_id] = provision_bucket(logical_id, name, props)
    for logical_id, res in resources_of_type(template, "AWS::SecretsManager::Secret").items():
        props = resolve(res.get("Properties", {}), resources)
        name = props.get("Name") or physical_name(stack_name, logical_id)
        resources[logical_id] = provision_secret(logical_id, name, props)
    for logical_id, res in resources_of_type(template, "AWS::Events::EventBus").items():
        props = resolve(res.get("Properties", {}), resources)
        # The template names its bus after the stack, which the resolver knows only as
        # "formrelay": two local stacks in one emulator need a bus each.
        name = physical_name(stack_name, logical_id)
        resources[logical_id] = provision_event_bus(logical_id, name, props)
    for logical_id, res in resources_of_type(template, "AWS::Events::Rule").items():
        props = resolve(res.get("Properties", {}), resources)
        name = props.get("Name") or physical_name(stack_name, logical_id)
        resources[logical_id] = provision_rule(logical_id, name, props)
    for type_name in NOT_EMULATED:
        for logical_id in resources_of_type(template, type_name):
            logger.debug("not provisioned locally: %s (%s)", logical_id, type_name)
    return resources
