"""The one place clients and services are built: lazily, once per container.

Handlers call `services()`; tests build a `Services` of their own (or call
`services.cache_clear()` after changing the environment).
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import boto3
import httpx
from botocore.config import Config

from formrelay.auth.keys import KeyDirectory
from formrelay.auth.nonces import NonceStore
from formrelay.auth.rate_limits import RateLimiter
from formrelay.auth.tenants import RateLimit, TenantDirectory
from formrelay.delivery.connector import Connector
from formrelay.delivery.destination_admin import DestinationAdmin
from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.delivery.destinations import DestinationDirectory
from formrelay.delivery.dynamodb import DynamoDBDeliveryLeases, DynamoDBDestinationDirectory
from formrelay.delivery.jobs import DeliveryQueue
from formrelay.delivery.leases import DeliveryLeases
from formrelay.delivery.sqs import SQSDeliveryQueue
from formrelay.delivery.stepfunctions import StepFunctionsRetryWorkflow
from formrelay.delivery.workflow import RetryWorkflow
from formrelay.domain.clock import Clock, SystemClock
from formrelay.registry.dynamodb import DynamoDBFormCatalog
from formrelay.registry.forms import FormCatalog
from formrelay.settings import Settings
from formrelay.store.dynamodb import DynamoDBEventStore
from formrelay.store.port import EventStore
from formrelay.views.listing import SubmissionListing
from formrelay.views.status import StatusViews

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10
)


class Services:
    """Every adapter a function may need, each built on first use."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        dynamodb: DynamoDBClient | None = None,
        sqs: SQSClient | None = None,
        secretsmanager: SecretsManagerClient | None = None,
    ) -> None:
        self._settings = settings
        self._dynamodb, self._sqs, self._secretsmanager = dynamodb, sqs, secretsmanager

    @cached_property
    def settings(self) -> Settings:
        """Settings from the environment unless given."""
        return self._settings or Settings.from_env()

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """DynamoDB client."""
        return self._dynamodb or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    @cached_property
    def sqs(self) -> SQSClient:
        """SQS client."""
        return self._sqs or boto3.client("sqs", config=_CLIENT_CONFIG)

    @cached_property
    def secretsmanager(self) -> SecretsManagerClient:
        """Secrets Manager client."""
        return self._secretsmanager or boto3.client("secretsmanager", config=_CLIENT_CONFIG)

    @cached_property
    def stepfunctions(self) -> SFNClient:
        """Step Functions client."""
        return boto3.client("stepfunctions", config=_CLIENT_CONFIG)

    @cached_property
    def clock(self) -> Clock:
        """The clock every time-driven decision reads."""
        return SystemClock()

    @cached_property
    def events(self) -> EventStore:
        """The event store."""
        return DynamoDBEventStore(self.settings.events_table, self.dynamodb)

    @cached_property
    def tenants(self) -> TenantDirectory:
        """Tenants and their rate limits."""
        return TenantDirectory(self.settings.views_table, self.dynamodb)

    @cached_property
    def keys(self) -> KeyDirectory:
        """Tenant keys and their secrets."""
        return KeyDirectory(
            self.settings.views_table,
            self.settings.tenant_secret_prefix,
            dynamodb=self.dynamodb,
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
        )

    @cached_property
    def nonces(self) -> NonceStore:
        """Used nonces."""
        return NonceStore(self.settings.views_table, self.dynamodb)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Request rate limits per tenant and key."""
        settings = self.settings
        return RateLimiter(
            settings.views_table,
            self.dynamodb,
            default=RateLimit(settings.rate_limit_per_second, settings.rate_limit_burst),
            cache_seconds=settings.rate_limit_cache_seconds,
        )

    @cached_property
    def forms(self) -> FormCatalog:
        """Forms and their schemas."""
        return DynamoDBFormCatalog(self.settings.views_table, self.dynamodb)

    @cached_property
    def destinations(self) -> DestinationDirectory:
        """Destinations."""
        return DynamoDBDestinationDirectory(self.settings.views_table, self.dynamodb)

    @cached_property
    def destination_admin(self) -> DestinationAdmin:
        """The destination admin use cases."""
        return DestinationAdmin(
            forms=self.forms,
            destinations=self.destinations,
            secrets=self.destination_secrets,
            allowed=self.settings.allowed_destinations,
            default_schedule=self.settings.retry_schedule_seconds,
        )

    @cached_property
    def statuses(self) -> StatusViews:
        """Status views."""
        return StatusViews(self.settings.views_table, self.dynamodb)

    @cached_property
    def listing(self) -> SubmissionListing:
        """The tenant listing by status."""
        return SubmissionListing(self.settings.views_table, self.dynamodb)

    @cached_property
    def delivery_queue(self) -> DeliveryQueue:
        """The delivery queue."""
        return SQSDeliveryQueue(self.settings.delivery_queue_url, self.sqs)

    @cached_property
    def http(self) -> httpx.Client:
        """The HTTP client deliveries go out on (redirects never followed)."""
        return httpx.Client(follow_redirects=False, trust_env=False)

    @cached_property
    def destination_secrets(self) -> DestinationSecrets:
        """Destination signing secrets and credentials."""
        return DestinationSecrets(
            self.settings.destination_secret_prefix,
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
        )

    @cached_property
    def leases(self) -> DeliveryLeases:
        """Delivery leases."""
        return DynamoDBDeliveryLeases(self.settings.views_table, self.dynamodb, clock=self.clock)

    @cached_property
    def retry_workflow(self) -> RetryWorkflow:
        """The retry state machine."""
        return StepFunctionsRetryWorkflow(self.settings.retry_state_machine_arn, self.stepfunctions)

    @cached_property
    def connector(self) -> Connector:
        """The delivery use case."""
        return Connector(
            events=self.events,
            destinations=self.destinations,
            secrets=self.destination_secrets,
            leases=self.leases,
            workflow=self.retry_workflow,
            http=self.http,
            allowed_destinations=self.settings.allowed_destinations,
            time_scale=self.settings.time_scale,
            clock=self.clock,
        )


@lru_cache(maxsize=1)
def services() -> Services:
    """The container's services (one set per Lambda container)."""
    return Services()
