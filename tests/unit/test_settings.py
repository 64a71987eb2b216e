"""Typed settings read once from each function's own environment."""

from __future__ import annotations

import threading

import pytest

from formrelay.composition import Container, Services, environment, services
from formrelay.settings import ConfigurationError, Settings

REQUIRED = {
    "EVENTS_TABLE": "formrelay-events",
    "VIEWS_TABLE": "formrelay-views",
    "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/delivery",
}


def test_required_settings_and_defaults() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.events_table == "formrelay-events"
    assert settings.views_table == "formrelay-views"
    assert settings.delivery_queue_url.endswith("/delivery")
    assert settings.tenant_secret_prefix == "formrelay/tenants/"
    assert settings.destination_secret_prefix == "formrelay/destinations/"
    assert settings.retry_schedule_seconds == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert settings.time_scale == 1.0
    assert settings.signature_window_seconds == 300
    assert settings.secret_cache_seconds == 30


def test_values_are_trimmed() -> None:
    settings = Settings.from_env({**REQUIRED, "EVENTS_TABLE": "  events \n"})
    assert settings.events_table == "events"


RESOURCES = {
    "EVENTS_TABLE": "events_table",
    "VIEWS_TABLE": "views_table",
    "DELIVERY_QUEUE_URL": "delivery_queue_url",
    "DELIVERY_RETRY_STATE_MACHINE_ARN": "retry_state_machine_arn",
}


@pytest.mark.parametrize("name", sorted(RESOURCES))
@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_resource_the_environment_lacks_is_refused_by_name_when_asked_for(
    name: str, value: str | None
) -> None:
    env = {k: v for k, v in {**REQUIRED, name: "x"}.items() if k != name}
    if value is not None:
        env[name] = value
    settings = Settings.from_env(env)  # a function that does not need it starts fine
    assert getattr(settings, RESOURCES[name]) is None
    with pytest.raises(ConfigurationError, match=name):
        settings.require(RESOURCES[name])  # type: ignore[arg-type]


def test_a_resource_the_environment_names_is_given() -> None:
    settings = Settings.from_env(
        {**REQUIRED, "DELIVERY_RETRY_STATE_MACHINE_ARN": " arn:aws:states:x:1:stateMachine:r "}
    )
    assert settings.require("retry_state_machine_arn") == "arn:aws:states:x:1:stateMachine:r"
    assert settings.require("views_table") == "formrelay-views"


# --- each function's settings come from its own environment ------------------------

AUTHORIZER_ENV = {
    "VIEWS_TABLE": "formrelay-views",
    "TENANT_SECRET_PREFIX": "formrelay/tenants/",
    "SECRET_CACHE_SECONDS": "5",
}
DISPATCHER_ENV = {"DELIVERY_QUEUE_URL": REQUIRED["DELIVERY_QUEUE_URL"]}


def test_the_authorizers_services_build_what_it_uses_and_refuse_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    authorizer = Services(environment=AUTHORIZER_ENV)
    assert authorizer.keys.cache_seconds == 5
    assert authorizer.nonces.views_table == "formrelay-views"
    with pytest.raises(ConfigurationError, match="DELIVERY_QUEUE_URL"):
        getattr(authorizer, "delivery_queue")  # noqa: B009
    with pytest.raises(ConfigurationError, match="EVENTS_TABLE"):
        getattr(authorizer, "events")  # noqa: B009


def test_a_connector_without_a_state_machine_is_refused_only_when_it_starts_a_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The retry-attempt function builds the connector but never starts a workflow."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    retry_attempt = Services(environment={"EVENTS_TABLE": "e", "VIEWS_TABLE": "v"})
    workflow = retry_attempt.connector.workflow
    with pytest.raises(ConfigurationError, match="DELIVERY_RETRY_STATE_MACHINE_ARN"):
        workflow.start({}, delivery_id="d", round_=1, attempt=2)


def test_services_read_os_environ_only_outside_a_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DELIVERY_QUEUE_URL", "https://sqs.example/process")
    services.cache_clear()
    try:
        authorizer, dispatcher = Container(AUTHORIZER_ENV), Container(DISPATCHER_ENV)
        with authorizer.serving():
            assert services() is authorizer.services
            assert environment() == AUTHORIZER_ENV
            assert services().settings.delivery_queue_url is None
            with dispatcher.serving():
                assert (
                    services().settings.delivery_queue_url == DISPATCHER_ENV["DELIVERY_QUEUE_URL"]
                )
            assert services() is authorizer.services
        # On Lambda (no container): one set of services for the process, from os.environ
        assert services() is services()
        assert services().settings.delivery_queue_url == "https://sqs.example/process"
        assert environment()["DELIVERY_QUEUE_URL"] == "https://sqs.example/process"
    finally:
        services.cache_clear()


def test_a_container_is_seen_only_by_the_thread_it_serves() -> None:
    seen: list[Services] = []
    container = Container(DISPATCHER_ENV)
    with container.serving():
        other = threading.Thread(target=lambda: seen.append(services()))
        other.start()
        other.join()
        assert services() is container.services
    assert seen and seen[0] is not container.services
    services.cache_clear()


def test_two_containers_of_one_function_have_their_own_services() -> None:
    first, second = Container(AUTHORIZER_ENV), Container(AUTHORIZER_ENV)
    assert first.services is not second.services
    assert first.services.settings == second.services.settings


def test_overrides() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "TENANT_SECRET_PREFIX": "other/",
            "DELIVERY_RETRY_SCHEDULE_SECONDS": "1, 2,900",
        }
    )
    assert settings.tenant_secret_prefix == "other/"
    assert settings.retry_schedule_seconds == (1, 2, 900)


def test_destination_secrets_have_their_own_prefix() -> None:
    settings = Settings.from_env({**REQUIRED, "DESTINATION_SECRET_PREFIX": "acme/hooks/"})
    assert settings.destination_secret_prefix == "acme/hooks/"
    assert settings.tenant_secret_prefix == "formrelay/tenants/"


def test_a_settings_object_built_in_code_keeps_the_default_destination_prefix() -> None:
    settings = Settings(
        events_table="e",
        views_table="v",
        delivery_queue_url="q",
        tenant_secret_prefix="formrelay/tenants/",
        retry_schedule_seconds=(1,),
    )
    assert settings.destination_secret_prefix == "formrelay/destinations/"


@pytest.mark.parametrize(
    ("tenant_prefix", "destination_prefix"),
    [
        ("formrelay/tenants/", "formrelay/tenants/"),
        ("formrelay/tenants/", "formrelay/tenants/destinations/"),
        ("formrelay/", "formrelay/destinations/"),
        ("formrelay/tenants/", ""),
    ],
)
def test_secret_prefixes_that_overlap_are_refused(
    tenant_prefix: str, destination_prefix: str
) -> None:
    """One prefix inside the other would let a grant on key secrets read credentials."""
    env = {
        **REQUIRED,
        "TENANT_SECRET_PREFIX": tenant_prefix,
        "DESTINATION_SECRET_PREFIX": destination_prefix,
    }
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)


@pytest.mark.parametrize("schedule", ["5,soon", "1.5", "5;30", "-1", "0", "86401", "5,30,86401"])
def test_a_malformed_retry_schedule_is_refused(schedule: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({**REQUIRED, "DELIVERY_RETRY_SCHEDULE_SECONDS": schedule})


def test_reads_os_environ_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EVENTS_TABLE", "from-environ")
    assert Settings.from_env().events_table == "from-environ"
    monkeypatch.delenv("VIEWS_TABLE")
    with pytest.raises(ConfigurationError, match="VIEWS_TABLE"):
        Settings.from_env().require("views_table")


def test_settings_are_immutable() -> None:
    settings = Settings.from_env(REQUIRED)
    with pytest.raises(AttributeError):
        settings.events_table = "x"  # type: ignore[misc]


@pytest.mark.parametrize("scale", ["0", "-1", "fast", "1001"])
def test_a_bad_time_scale_is_refused(scale: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({**REQUIRED, "FORMRELAY_TIME_SCALE": scale})


def test_the_time_scale_compresses_waits() -> None:
    assert Settings.from_env({**REQUIRED, "FORMRELAY_TIME_SCALE": "0.001"}).time_scale == 0.001


def test_rate_limit_defaults() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.rate_limit_per_second == 50.0
    assert settings.rate_limit_burst == 100
    assert settings.rate_limit_cache_seconds == 30


def test_rate_limit_overrides() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "RATE_LIMIT_PER_SECOND": "0.5",
            "RATE_LIMIT_BURST": "7",
            "RATE_LIMIT_CACHE_SECONDS": "0",
        }
    )
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (0.5, 7)
    assert settings.rate_limit_cache_seconds == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RATE_LIMIT_PER_SECOND", "0"),
        ("RATE_LIMIT_PER_SECOND", "-1"),
        ("RATE_LIMIT_PER_SECOND", "nan"),
        ("RATE_LIMIT_PER_SECOND", "inf"),
        ("RATE_LIMIT_PER_SECOND", "lots"),
        ("RATE_LIMIT_BURST", "0"),
        ("RATE_LIMIT_BURST", "2.5"),
        ("RATE_LIMIT_CACHE_SECONDS", "-1"),
    ],
)
def test_a_bad_rate_limit_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**REQUIRED, name: value})


def test_the_secret_cache_lifetime_is_configurable() -> None:
    assert Settings.from_env({**REQUIRED, "SECRET_CACHE_SECONDS": " 1 "}).secret_cache_seconds == 1
    assert Settings.from_env({**REQUIRED, "SECRET_CACHE_SECONDS": "0"}).secret_cache_seconds == 0


@pytest.mark.parametrize("seconds", ["", "soon", "1.5", "-1", "3601"])
def test_a_bad_secret_cache_lifetime_is_refused(seconds: str) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_CACHE_SECONDS"):
        Settings.from_env({**REQUIRED, "SECRET_CACHE_SECONDS": seconds})
