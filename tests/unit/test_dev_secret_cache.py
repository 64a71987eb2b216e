"""`formrelay dev --secret-cache-seconds N` reaches the functions' environment."""

from __future__ import annotations

import pytest

from formrelay.cli.main import build_parser
from formrelay.local.dev import LocalStack
from formrelay.settings import ConfigurationError

TEMPLATE_ENV = {"FORMRELAY_TIME_SCALE": "1", "SECRET_CACHE_SECONDS": "30"}


def test_the_template_value_stays_unless_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORMRELAY_TIME_SCALE", raising=False)
    assert LocalStack()._overridden(TEMPLATE_ENV)["SECRET_CACHE_SECONDS"] == "30"
    stack = LocalStack(secret_cache_seconds=1)
    assert stack._overridden(TEMPLATE_ENV)["SECRET_CACHE_SECONDS"] == "1"


def test_a_bad_value_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigurationError):
        LocalStack(secret_cache_seconds=-1)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["dev", "--secret-cache-seconds", "soon"])
    assert "SECRET_CACHE_SECONDS" in capsys.readouterr().err
    assert (
        build_parser().parse_args(["dev", "--secret-cache-seconds", "1"]).secret_cache_seconds == 1
    )


def test_an_override_reaches_only_functions_that_declare_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FORMRELAY_TIME_SCALE", raising=False)
    stack = LocalStack(secret_cache_seconds=0, time_scale=0.5, allow_destinations=["h:1"])
    assert stack._overridden({"DELIVERY_QUEUE_URL": "q"}) == {"DELIVERY_QUEUE_URL": "q"}
    assert stack._overridden({**TEMPLATE_ENV, "DELIVERY_ALLOWED_DESTINATIONS": ""}) == {
        "FORMRELAY_TIME_SCALE": "0.5",
        "SECRET_CACHE_SECONDS": "0",
        "DELIVERY_ALLOWED_DESTINATIONS": "h:1",
    }
