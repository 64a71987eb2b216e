"""The one place clients and services are built: lazily, once per container.

Handlers call `services()`: their container's services. On Lambda a process is
one container, so that is one `Services` built from `os.environ`. The local
runtime runs many containers of many functions in one process: it gives each a
`Container` (the function's own environment and its own services) and serves
every invocation inside `container.serving()`, so handler code is the same in
both places. Tests build a `Services` of their own, or call
`services.cache_clear()` after changing the process's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from formrelay.domain.clock import Clock, SystemClock
from formrelay.settings import Settings

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

    from formrelay.audit.anchor_store import AnchorStore
    from formrelay.audit.anchoring import Anchoring
    from formrelay.audit.heads import AnchoredHeads
    from formrelay.audit.paged_verification import TenantVerification
    from formrelay.auth.keys import KeyDirectory
    from formrelay.auth.nonces import NonceStore
    from formrelay.auth.rate_limits import RateLimiter
    from formrelay.auth.tenants import TenantDirectory
    from formrelay.delivery.connector import Connector
    from formrelay.delivery.destination_admin import DestinationAdmin
    from formrelay.delivery.destination_health import DestinationHealth
    from formrelay.delivery.destination_secrets import DestinationSecrets
    from formrelay.delivery.destinations import DestinationDirectory
    from formrelay.delivery.jobs import DeliveryQueue
    from formrelay.delivery.leases import DeliveryLeases
    from formrelay.delivery.workflow import RetryWorkflow
    from formrelay.publishing.port import EventPublisher
    from formrelay.reconciliation.parked import ParkedBatches
    from formrelay.reconciliation.reconciler import Reconciler
    from formrelay.registry.forms import FormCatalog
    from formrelay.store.port import EventStore
    from formrelay.views.cursors import CursorSigner
    from formrelay.views.listing import SubmissionListing
    from formrelay.views.status import StatusViews

_CLIENT_CONFIG = {
    "retries": {"mode": "standard", "max_attempts": 4},
    "connect_timeout": 3,
    "read_timeout": 10,
}


def _client(service: str, *, config: dict[str, Any]) -> Any:
    """A boto3 client; boto3 (and s3transfer with it) loads when the first one is built."""
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**config))  # type: ignore[call-overload]


class Services:
    """Every adapter a function may need, each built on first use from the settings it needs.

    An adapter whose resource the function's environment does not name (the
    authorizer's delivery queue) cannot be built: ConfigurationError says which
    variable is missing. `clock` is the one clock its adapters read: deliveries'
    attempt times, waits and leases, and the secret caches' age.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        environment: Mapping[str, str] | None = None,
        dynamodb: DynamoDBClient | None = None,
        sqs: SQSClient | None = None,
        secretsmanager: SecretsManagerClient | None = None,
        s3: S3Client | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settings, self._environment = settings, environment
        self._dynamodb, self._sqs, self._secretsmanager = dynamodb, sqs, secretsmanager
        self._s3 = s3
        self.clock: Clock = clock or SystemClock()

    @cached_property
    def settings(self) -> Settings:
        """The given settings, else those of the given environment, else of os.environ."""
        return self._settings or Settings.from_env(self._environment)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """DynamoDB client."""
        return self._dynamodb or _client("dynamodb", config=_CLIENT_CONFIG)

    @cached_property
    def sqs(self) -> SQSClient:
        """SQS client."""
        return self._sqs or _client("sqs", config=_CLIENT_CONFIG)

    @cached_property
    def secretsmanager(self) -> SecretsManagerClient:
        """Secrets Manager client."""
        return self._secretsmanager or _client("secretsmanager", config=_CLIENT_CONFIG)

    @cached_property
    def s3(self) -> S3Client:
        """S3 client."""
        return self._s3 or _client("s3", config=_CLIENT_CONFIG)

    @cached_property
    def stepfunctions(self) -> SFNClient:
        """Step Functions client."""
        return _client("stepfunctions", config=_CLIENT_CONFIG)

    @cached_property
    def events(self) -> EventStore:
        """The event store."""
        from formrelay.store.dynamodb import DynamoDBEventStore

        return DynamoDBEventStore(self.settings.require("events_table"), self.dynamodb)

    @cached_property
    def tenants(self) -> TenantDirectory:
        """Tenants and their rate limits."""
        from formrelay.auth.tenants import TenantDirectory

        return TenantDirectory(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def keys(self) -> KeyDirectory:
        """Tenant keys and their secrets."""
        from formrelay.auth.keys import KeyDirectory

        return KeyDirectory(
            self.settings.require("views_table"),
            self.settings.tenant_secret_prefix,
            dynamodb=self.dynamodb,
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
        )

    @cached_property
    def nonces(self) -> NonceStore:
        """Used nonces."""
        from formrelay.auth.nonces import NonceStore

        return NonceStore(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Request rate limits per tenant and key."""
        from formrelay.auth.rate_limits import RateLimiter
        from formrelay.auth.tenants import RateLimit

        settings = self.settings
        return RateLimiter(
            settings.require("views_table"),
            self.dynamodb,
            default=RateLimit(settings.rate_limit_per_second, settings.rate_limit_burst),
            cache_seconds=settings.rate_limit_cache_seconds,
        )

    @cached_property
    def forms(self) -> FormCatalog:
        """Forms and their schemas."""
        from formrelay.registry.dynamodb import DynamoDBFormCatalog

        return DynamoDBFormCatalog(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def destinations(self) -> DestinationDirectory:
        """Destinations."""
        from formrelay.delivery.dynamodb import DynamoDBDestinationDirectory

        return DynamoDBDestinationDirectory(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def destination_admin(self) -> DestinationAdmin:
        """The destination admin use cases."""
        from formrelay.delivery.destination_admin import DestinationAdmin

        return DestinationAdmin(
            forms=self.forms,
            destinations=self.destinations,
            secrets=self.destination_secrets,
            allowed=self.settings.allowed_destinations,
            resolve_timeout_seconds=self.settings.destination_resolve_timeout_seconds,
            default_schedule=self.settings.retry_schedule_seconds,
            health=self.destination_health,
        )

    @cached_property
    def statuses(self) -> StatusViews:
        """Status views."""
        from formrelay.views.status import StatusViews

        return StatusViews(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def destination_health(self) -> DestinationHealth:
        """Each destination's recent attempts, last success and last error."""
        from formrelay.delivery.destination_health import DynamoDBDestinationHealth

        return DynamoDBDestinationHealth(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def cursors(self) -> CursorSigner:
        """The signer of page cursors (the tenant-wide export's), under the cursor key."""
        from formrelay.views.cursor_key import SecretCursorKey
        from formrelay.views.cursors import CursorSigner

        key = SecretCursorKey(
            self.settings.require("listing_cursor_key_secret"),
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
        )
        return CursorSigner(key)

    @cached_property
    def listing(self) -> SubmissionListing:
        """The tenant listing by status."""
        from formrelay.views.cursor_key import SecretCursorKey
        from formrelay.views.cursors import CursorSigner
        from formrelay.views.listing import SubmissionListing

        key = SecretCursorKey(
            self.settings.require("listing_cursor_key_secret"),
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
        )
        return SubmissionListing(
            self.settings.require("views_table"), self.dynamodb, cursors=CursorSigner(key)
        )

    @cached_property
    def anchor_store(self) -> AnchorStore:
        """The write-once anchor objects."""
        from formrelay.audit.s3 import S3AnchorStore

        return S3AnchorStore(self.settings.require("anchors_bucket"), self.s3)

    @cached_property
    def anchored_heads(self) -> AnchoredHeads:
        """Each stream's latest anchored head."""
        from formrelay.audit.dynamodb import DynamoDBAnchoredHeads

        return DynamoDBAnchoredHeads(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def anchoring(self) -> Anchoring:
        """The use case that takes a tenant's anchor."""
        from formrelay.audit.anchoring import Anchoring

        return Anchoring(
            events=self.events,
            anchors=self.anchor_store,
            heads=self.anchored_heads,
            clock=self.clock,
        )

    @cached_property
    def tenant_verification(self) -> TenantVerification:
        """The use case that checks a tenant's whole record against its anchors, by pages."""
        from formrelay.audit.paged_verification import TenantVerification

        return TenantVerification(
            events=self.events, anchors=self.anchor_store, cursors=self.cursors
        )

    @cached_property
    def delivery_queue(self) -> DeliveryQueue:
        """The delivery queue."""
        from formrelay.delivery.sqs import SQSDeliveryQueue

        return SQSDeliveryQueue(self.settings.require("delivery_queue_url"), self.sqs)

    @cached_property
    def eventbridge(self) -> EventBridgeClient:
        """EventBridge client."""
        return _client("events", config=_CLIENT_CONFIG)

    @cached_property
    def event_publisher(self) -> EventPublisher:
        """The event bus domain events are published to."""
        from formrelay.publishing.eventbridge import EventBridgePublisher

        return EventBridgePublisher(self.settings.require("event_bus_name"), self.eventbridge)

    @cached_property
    def http(self) -> httpx.Client:
        """The HTTP client deliveries go out on: pinned to checked addresses, no redirects."""
        # httpcore loads with it: only the functions that deliver pay for the import.
        from formrelay.delivery.pinning import pinned_client

        return pinned_client(allowed=self.settings.allowed_destinations)

    @cached_property
    def destination_secrets(self) -> DestinationSecrets:
        """Destination signing secrets and credentials."""
        from formrelay.delivery.destination_secrets import DestinationSecrets

        return DestinationSecrets(
            self.settings.destination_secret_prefix,
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
            clock=self.clock.unix,
        )

    @cached_property
    def leases(self) -> DeliveryLeases:
        """Delivery leases."""
        from formrelay.delivery.dynamodb import DynamoDBDeliveryLeases

        return DynamoDBDeliveryLeases(
            self.settings.require("views_table"), self.dynamodb, clock=self.clock
        )

    @cached_property
    def retry_workflow(self) -> RetryWorkflow:
        """The retry state machine, named when the first retry starts: the retry-attempt
        function builds the connector too, but never starts a workflow and names none."""
        from formrelay.delivery.stepfunctions import StepFunctionsRetryWorkflow

        return StepFunctionsRetryWorkflow(
            lambda: self.settings.require("retry_state_machine_arn"), self.stepfunctions
        )

    @cached_property
    def connector(self) -> Connector:
        """The delivery use case."""
        from formrelay.delivery.connector import Connector

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

    @cached_property
    def dynamodbstreams(self) -> DynamoDBStreamsClient:
        """DynamoDB Streams client (the reconciler reads parked batches back with it)."""
        return _client("dynamodbstreams", config=_CLIENT_CONFIG)

    @cached_property
    def parked_batches(self) -> list[ParkedBatches]:
        """The failure queues this function's environment names, each with its projection."""
        from formrelay.reconciliation.parked import DISPATCHER, PUBLISHER, STATUS_VIEW
        from formrelay.reconciliation.streams import SQSParkedBatches

        settings = self.settings
        queues = (
            (STATUS_VIEW, settings.status_view_failure_queue_url),
            (DISPATCHER, settings.dispatcher_failure_queue_url),
            (PUBLISHER, settings.publisher_failure_queue_url),
        )
        return [
            SQSParkedBatches(projection, url, self.sqs, self.dynamodbstreams)
            for projection, url in queues
            if url
        ]

    @cached_property
    def reconciler(self) -> Reconciler:
        """The reconciler: repairs what failed batches, lost jobs and executions left."""
        from formrelay.reconciliation.dynamodb import DynamoDBReconcileState, StatusIndex
        from formrelay.reconciliation.reconciler import Reconciler

        views_table = self.settings.require("views_table")
        return Reconciler(
            events=self.events,
            views=self.statuses,
            index=StatusIndex(views_table, self.dynamodb),
            state=DynamoDBReconcileState(views_table, self.dynamodb),
            queue=self.delivery_queue,
            connector=self.connector,
            publisher=self.event_publisher if self.settings.event_bus_name else None,
            parked=self.parked_batches,
            clock=self.clock,
        )


class Container:
    """One function container: its own environment and the services built from it.

    The local runtime makes one per container and runs every invocation (and the
    import of the handler's module) inside `serving()`; on Lambda there is none.
    """

    def __init__(self, environment: Mapping[str, str], *, clock: Clock | None = None) -> None:
        self.environment: Mapping[str, str] = MappingProxyType(dict(environment))
        self.services = Services(environment=self.environment, clock=clock)

    @contextmanager
    def serving(self) -> Iterator[Container]:
        """Within this block (this thread or task), `services()` is this container's."""
        token = _current_container.set(self)
        try:
            yield self
        finally:
            _current_container.reset(token)


_current_container: ContextVar[Container | None] = ContextVar("formrelay_container", default=None)


def environment() -> Mapping[str, str]:
    """The function's environment: its container's, else the process's (as on Lambda)."""
    container = _current_container.get()
    return os.environ if container is None else container.environment


@lru_cache(maxsize=1)
def _process_services() -> Services:
    """The process's services: on Lambda, a process is one container."""
    return Services()


class _ContainerServices:
    """`services()`: the services of the container serving this invocation."""

    def __call__(self) -> Services:
        container = _current_container.get()
        return _process_services() if container is None else container.services

    def cache_clear(self) -> None:
        """Forget the process's services (after a test changed os.environ)."""
        _process_services.cache_clear()


services = _ContainerServices()
