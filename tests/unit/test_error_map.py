"""The error map: every domain error is answered as the table says, or is a 500 on purpose,
and a 500 tells the client nothing of what went wrong."""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

import formrelay
from formrelay.api.errors import ANSWERS, answer_for, problem_for
from formrelay.api.http import install_error_handlers
from formrelay.api.problems import Problem
from formrelay.audit.errors import AnchorConflictError, AnchorDocumentError
from formrelay.auth.authorize import AccessDeniedError
from formrelay.cli.contract_examples import ContractToolsMissingError
from formrelay.cli.contract_test import ContractTestAbortedError
from formrelay.cli.forms import FormSchemaError
from formrelay.cli.stack import MissingStackOutputError, UnknownStackError
from formrelay.delivery.destination_health import HealthContentionError
from formrelay.delivery.errors import DeliveryInProgressError, DestinationInvalidError
from formrelay.delivery.leases import DeliveryBusyError
from formrelay.delivery.ssrf import DestinationRefusedError
from formrelay.domain import errors as domain
from formrelay.domain.errors import FormrelayError, Violation
from formrelay.intake.errors import SubmissionInvalidError, SubmissionNotAnObjectError
from formrelay.local.builds import BuildLayoutError
from formrelay.local.faults import (
    FaultSpecError,
    FunctionTimeoutError,
    InjectedFault,
    UnknownFaultFunctionError,
)
from formrelay.local.processes import FunctionError
from formrelay.local.runtime_provided import RuntimeModuleMissingError
from formrelay.reconciliation.parked import (
    ParkedBatchNotRepairedError,
    UnreadableParkedMessageError,
)
from formrelay.registry.errors import EventRegistryError
from formrelay.secrets.port import SecretDocumentBusyError, SecretDocumentError
from formrelay.settings import ConfigurationError
from formrelay.views.cursor_key import CursorKeyUnavailableError
from formrelay.views.errors import InvalidCursorError, ListingIncompleteError
from tests.support.http_events import Context, http_event

LOCAL_RUNTIME = "the local runtime's own failure (formrelay dev --build-dir), never an API answer"
OPERATOR_TOOLING = (
    "raised by operator tooling (formrelay tenants/keys/forms, --stack), never on an HTTP route"
)
TENANT_TOOLING = (
    "raised by a tenant's tool on their machine (formrelay contract-test), never on a route"
)

# Every FormrelayError that answers 500 on purpose, and why it is not the client's doing.
DELIBERATELY_500: dict[type[FormrelayError], str] = {
    AnchorDocumentError: "an anchor object that is not one means write-once storage was broken",
    AnchorConflictError: "two anchor runs racing for one sequence number is our race",
    domain.ConcurrencyError: "use cases handle a taken version; one that escapes is our race",
    domain.EventSchemaError: "an event we build that fails its own schema is our bug",
    domain.UnknownEventTypeError: "an event type without a schema is our bug",
    domain.IntegrityError: "the history reports a broken chain in its answer; elsewhere, data loss",
    domain.StreamNotFoundError: "use cases answer UnknownSubmissionError for the client",
    domain.InvalidIdentifierError: "use cases answer the unknown resource (404) or the bad id",
    domain.SignatureError: "refused by the authorizer (API Gateway's 403), never behind it",
    AccessDeniedError: "refused by the authorizer (API Gateway's 403), never behind it",
    domain.QueueError: "the delivery queue refusing a job is our infrastructure failing",
    domain.InvalidDocumentError: "raised only as one of its subclasses, each in the map",
    domain.UnknownTenantError: OPERATOR_TOOLING,
    domain.TenantExistsError: OPERATOR_TOOLING,
    domain.InvalidRateLimitError: OPERATOR_TOOLING,
    domain.InvalidScopesError: OPERATOR_TOOLING,
    domain.UnknownKeyError: OPERATOR_TOOLING,
    domain.KeyRevokedError: OPERATOR_TOOLING,
    domain.RotationPendingError: OPERATOR_TOOLING,
    domain.NoRotationPendingError: OPERATOR_TOOLING,
    DeliveryBusyError: "a delivery lease held by another attempt: the connector's, not HTTP",
    HealthContentionError: "the status-view projection's, which retries its batch; not HTTP",
    SecretDocumentError: "a secret document that cannot be read is our infrastructure failing",
    SecretDocumentBusyError: "the destination admin answers it as DestinationsBusyError (409)",
    DestinationRefusedError: "the destination admin answers it as a violation at /url",
    ConfigurationError: "a function without its settings is our deployment's fault",
    CursorKeyUnavailableError: "a query function that cannot read its cursor key is misdeployed",
    ListingIncompleteError: "DynamoDB throttling reads past every retry is our capacity failing",
    FormSchemaError: OPERATOR_TOOLING,
    ContractToolsMissingError: TENANT_TOOLING,
    ContractTestAbortedError: TENANT_TOOLING,
    BuildLayoutError: LOCAL_RUNTIME,
    FunctionError: LOCAL_RUNTIME,
    FunctionTimeoutError: LOCAL_RUNTIME,
    InjectedFault: "a failure formrelay dev --fault asked for: the front answers 500 as for Lambda",
    FaultSpecError: "a bad formrelay dev --fault, refused by the command line (exit 2)",
    UnknownFaultFunctionError: "a bad formrelay dev --fault, refused by the command line (exit 2)",
    RuntimeModuleMissingError: LOCAL_RUNTIME,
    UnknownStackError: OPERATOR_TOOLING,
    MissingStackOutputError: OPERATOR_TOOLING,
    EventRegistryError: "the event registry on disk, read by `formrelay schemas check` in CI",
    UnreadableParkedMessageError: "the scheduled reconciler's finding about a failure queue",
    ParkedBatchNotRepairedError: "the scheduled reconciler's: the message stays for its next run",
}


def _every_error_class() -> set[type[FormrelayError]]:
    """Every FormrelayError subclass formrelay defines (each of its modules imported)."""
    for module in pkgutil.walk_packages(formrelay.__path__, "formrelay."):
        importlib.import_module(module.name)
    found: set[type[FormrelayError]] = set()
    pending = [FormrelayError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            if subclass.__module__.startswith("formrelay.") and subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return found - {Problem}  # the API's own answer, raised inside formrelay.api only


def test_every_error_class_is_answered_or_deliberately_a_500() -> None:
    classes = _every_error_class()

    undecided = {c.__name__ for c in classes if answer_for(c) is None and c not in DELIBERATELY_500}
    both = {c.__name__ for c in classes if c in DELIBERATELY_500 and answer_for(c) is not None}

    assert undecided == set(), "add each to formrelay.api.errors.ANSWERS or to DELIBERATELY_500"
    assert both == set()
    assert set(ANSWERS) <= classes  # the map names nothing that no longer exists


def test_every_answer_is_a_client_error_with_a_slug_and_a_title() -> None:
    for error_class, answer in ANSWERS.items():
        assert 400 <= answer.status < 500, error_class
        assert answer.slug and answer.slug == answer.slug.lower() and " " not in answer.slug
        assert answer.title


def test_the_detail_is_the_errors_own_and_violations_become_errors() -> None:
    error = SubmissionInvalidError("contact", 3, [Violation("/email", "not an email")])

    problem = problem_for(error)

    assert problem is not None
    assert problem.body() == {
        "type": "https://formrelay.dev/problems/validation-failed",
        "title": "Submission does not match the form's schema",
        "status": 422,
        "detail": "1 error(s) against contact schema v3",
        "errors": [{"pointer": "/email", "message": "not an email"}],
    }


def test_a_subclass_answers_as_its_nearest_listed_ancestor() -> None:
    class NewCursorFault(InvalidCursorError):
        """A cursor failure nobody listed yet."""

    answer = answer_for(NewCursorFault)

    assert answer is not None and answer == ANSWERS[InvalidCursorError]
    assert answer_for(SubmissionNotAnObjectError) == ANSWERS[SubmissionNotAnObjectError]
    assert answer_for(domain.BodyDigestMismatchError) is not None  # though a SignatureError
    assert answer_for(domain.SignatureError) is None


# --- through the HTTP app ------------------------------------------------------------------

ROUTE = "GET /fails"
BARE_500 = {
    "type": "https://formrelay.dev/problems/internal-error",
    "title": "Internal error",
    "status": 500,
    "detail": "the request could not be completed",
}


def _app_raising(error: Exception) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    install_error_handlers(app, Logger(service="test", level="CRITICAL"))

    @app.get("/fails")
    def fails() -> Any:
        raise error

    return app


def _answer(error: Exception) -> dict[str, Any]:
    answer: dict[str, Any] = _app_raising(error).resolve(http_event(ROUTE, "/fails"), Context())
    return answer


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom at /var/task/secret.py line 3"),
        KeyError("destinations"),
        ConfigurationError("environment variable VIEWS_TABLE is not set"),
        SecretDocumentError("cannot read formrelay/destinations/acme"),
    ],
    ids=["a bug", "a KeyError", "a deliberate 500", "infrastructure"],
)
def test_an_error_not_the_clients_answers_a_bare_500_and_no_trace(error: Exception) -> None:
    answer = _answer(error)

    assert answer["statusCode"] == 500
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"]) == BARE_500
    assert "Traceback" not in answer["body"] and str(error) not in answer["body"]


def test_a_domain_error_answers_as_the_map_says() -> None:
    answer = _answer(DeliveryInProgressError(["primary", "backup"]))

    assert answer["statusCode"] == 409
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"]) == {
        "type": "https://formrelay.dev/problems/delivery-in-progress",
        "title": "Delivery in progress",
        "status": 409,
        "detail": "still being delivered to: primary, backup; redeliver once it has ended",
    }


def test_violations_are_answered_in_order_with_their_pointers() -> None:
    violations = [Violation("/url", "not public"), Violation("/headers/Host", "may not be set")]

    answer = _answer(DestinationInvalidError(violations))

    assert answer["statusCode"] == 422
    assert json.loads(answer["body"])["errors"] == [
        {"pointer": "/url", "message": "not public"},
        {"pointer": "/headers/Host", "message": "may not be set"},
    ]
