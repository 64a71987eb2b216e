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
from formrelay.views.cursor_key import SecretCursorKey
from formrelay.views.cursors import CursorSigner
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
        clock: Clock | None = None,
    ) -> None:
        self._settings, self._environment = settings, environment
        self._dynamodb, self._sqs, self._secretsmanager = dynamodb, sqs, secretsmanager
        self.clock: Clock = clock or SystemClock()

    @cached_property
    def settings(self) -> Settings:
        """The given settings, else those of the given environment, else of os.environ."""
        return self._settings or Settings.from_env(self._environment)

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
    def events(self) -> EventStore:
        """The event store."""
        return DynamoDBEventStore(self.settings.require("events_table"), self.dynamodb)

    @cached_property
    def tenants(self) -> TenantDirectory:
        """Tenants and their rate limits."""
        return TenantDirectory(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def keys(self) -> KeyDirectory:
        """Tenant keys and their secrets."""
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
        return NonceStore(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Request rate limits per tenant and key."""
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
        return DynamoDBFormCatalog(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def destinations(self) -> DestinationDirectory:
        """Destinations."""
        return DynamoDBDestinationDirectory(self.settings.require("views_table"), self.dynamodb)

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
        return StatusViews(self.settings.require("views_table"), self.dynamodb)

    @cached_property
    def listing(self) -> SubmissionListing:
        """The tenant listing by status."""
        key = SecretCursorKey(
            self.settings.require("listing_cursor_key_secret"),
            secretsmanager=self.secretsmanager,
            cache_seconds=self.settings.secret_cache_seconds,
        )
        return SubmissionListing(
            self.settings.require("views_table"), self.dynamodb, cursors=CursorSigner(key)
        )

    @cached_property
    def delivery_queue(self) -> DeliveryQueue:
        """The delivery queue."""
        return SQSDeliveryQueue(self.settings.require("delivery_queue_url"), self.sqs)

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
            clock=self.clock.unix,
        )

    @cached_property
    def leases(self) -> DeliveryLeases:
        """Delivery leases."""
        return DynamoDBDeliveryLeases(
            self.settings.require("views_table"), self.dynamodb, clock=self.clock
        )

    @cached_property
    def retry_workflow(self) -> RetryWorkflow:
        """The retry state machine, named when the first retry starts: the retry-attempt
        function builds the connector too, but never starts a workflow and names none."""
        return StepFunctionsRetryWorkflow(
            lambda: self.settings.require("retry_state_machine_arn"), self.stepfunctions
        )

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
