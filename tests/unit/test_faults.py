"""Injected function failures (formrelay dev --fault): the spec's grammar and each mode's law."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formrelay.cli.main import build_parser, main
from formrelay.local.dev import LocalStack, _banner
from formrelay.local.faults import (
    Fault,
    FaultSpec,
    FaultSpecError,
    FunctionTimeoutError,
    InjectedFault,
    UnknownFaultFunctionError,
    check_functions,
    parse_fault,
)
from formrelay.local.functions import FunctionRuntime, FunctionSpec
from formrelay.local.lambda_invoke import invoke_in_process


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DispatcherFunction:first=3", FaultSpec("DispatcherFunction", "first", count=3)),
        ("StatusViewFunction:rate=0.2", FaultSpec("StatusViewFunction", "rate", probability=0.2)),
        ("IngestFunction:rate=1", FaultSpec("IngestFunction", "rate", probability=1.0)),
        ("ConnectorFunction:timeout", FaultSpec("ConnectorFunction", "timeout")),
    ],
)
def test_a_good_spec_parses_and_prints_back(text: str, expected: FaultSpec) -> None:
    spec = parse_fault(text)

    assert spec == expected
    assert parse_fault(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("DispatcherFunction", "FUNCTION:MODE"),
        (":first=1", "FUNCTION:MODE"),
        ("DispatcherFunction:", "FUNCTION:MODE"),
        ("Dispatcher-Function:first=1", "logical id"),
        ("DispatcherFunction:crash", "mode must be"),
        ("DispatcherFunction:first", "mode must be"),
        ("DispatcherFunction:timeout=3", "mode must be"),
        ("DispatcherFunction:first=0", "whole number >= 1"),
        ("DispatcherFunction:first=-2", "whole number >= 1"),
        ("DispatcherFunction:first=1.5", "whole number >= 1"),
        ("DispatcherFunction:first=three", "whole number >= 1"),
        ("DispatcherFunction:first=\u0663", "whole number >= 1"),  # an Arabic-Indic 3
        ("DispatcherFunction:rate=0", "0 < P <= 1"),
        ("DispatcherFunction:rate=1.5", "0 < P <= 1"),
        ("DispatcherFunction:rate=-0.1", "0 < P <= 1"),
        ("DispatcherFunction:rate=nan", "0 < P <= 1"),
        ("DispatcherFunction:rate=half", "0 < P <= 1"),
    ],
)
def test_a_bad_spec_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(FaultSpecError, match=says):
        parse_fault(text)


def test_a_fault_on_a_function_the_template_lacks_or_a_second_on_one_is_refused() -> None:
    functions = ["IngestFunction", "DispatcherFunction"]
    check_functions([parse_fault("IngestFunction:first=1")], functions)

    with pytest.raises(UnknownFaultFunctionError, match="no function 'DispatchFunction'"):
        check_functions([parse_fault("DispatchFunction:first=1")], functions)
    with pytest.raises(UnknownFaultFunctionError, match="one fault per function"):
        check_functions(
            [parse_fault("IngestFunction:first=1"), parse_fault("IngestFunction:timeout")],
            functions,
        )


def _outcomes(fault: Fault, calls: int) -> list[bool]:
    """For each of `calls` invocations under fault: True if it raised the injected fault."""
    outcomes = []
    for _ in range(calls):
        try:
            fault.apply(3, lambda: "ok")
            outcomes.append(False)
        except InjectedFault as exc:
            assert "injected" in str(exc)
            outcomes.append(True)
    return outcomes


@given(count=st.integers(min_value=1, max_value=30), extra=st.integers(min_value=0, max_value=30))
def test_first_n_raises_exactly_n_times_then_passes(count: int, extra: int) -> None:
    fault = Fault(FaultSpec("DispatcherFunction", "first", count=count))

    assert _outcomes(fault, count + extra) == [True] * count + [False] * extra
    assert fault.injected == count


def test_rate_with_a_seed_replays_the_same_failures_and_fails_about_p_of_the_time() -> None:
    spec = parse_fault("StatusViewFunction:rate=0.2")

    first = _outcomes(Fault(spec, seed=7), 2000)
    again = _outcomes(Fault(spec, seed=7), 2000)
    other_seed = _outcomes(Fault(spec, seed=8), 2000)

    assert first == again
    assert first != other_seed
    assert 0.17 < sum(first) / len(first) < 0.23


def test_rate_one_fails_every_invocation() -> None:
    assert all(_outcomes(Fault(parse_fault("IngestFunction:rate=1")), 50))


def test_two_functions_with_one_seed_draw_apart() -> None:
    one = _outcomes(Fault(parse_fault("IngestFunction:rate=0.5"), seed=3), 200)
    two = _outcomes(Fault(parse_fault("QueryFunction:rate=0.5"), seed=3), 200)

    assert one != two


def test_timeout_runs_the_handler_then_reports_lambdas_timeout() -> None:
    ran: list[str] = []
    fault = Fault(parse_fault("ConnectorFunction:timeout"), time_scale=0.0001)

    with pytest.raises(FunctionTimeoutError, match=r"^Task timed out after 60\.00 seconds$"):
        fault.apply(60, lambda: ran.append("handler"))

    assert ran == ["handler"]  # its work is done; its answer is what is lost


def test_timeout_lets_a_handler_error_through_as_itself() -> None:
    def boom() -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Fault(parse_fault("ConnectorFunction:timeout"), time_scale=0.0001).apply(60, boom)


def echo(event: Any, context: Any) -> Any:
    """A handler: answers its event."""
    return event


def slow(event: Any, context: Any) -> Any:
    """A handler that takes a little while."""
    time.sleep(0.01)
    return event


def _runtime(handler: str, timeout: int = 3) -> FunctionRuntime:
    spec = FunctionSpec("EchoFunction", "echo", f"{__name__}.{handler}", timeout, 128, {})
    return FunctionRuntime(spec, max_containers=1)


def test_the_runtime_applies_the_fault_to_its_invocations() -> None:
    runtime = _runtime("echo")
    runtime.inject(Fault(parse_fault("EchoFunction:first=2")))

    for _ in range(2):
        with pytest.raises(InjectedFault, match="EchoFunction:first=2"):
            runtime.invoke({"a": 1})
    assert runtime.invoke({"a": 1}) == {"a": 1}


def test_an_invocation_that_outlives_the_functions_timeout_has_failed() -> None:
    # A Timeout of 0 s makes any invocation one that ran past it
    runtime = _runtime("slow", timeout=0)

    with pytest.raises(FunctionTimeoutError, match=r"Task timed out after 0\.00 seconds"):
        runtime.invoke({"a": 1})
    assert _runtime("slow").invoke({"a": 1}) == {"a": 1}


def test_dev_refuses_a_bad_fault_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["dev", "--fault", "DispatcherFunction:rate=2"])

    assert exit_.value.code == 2
    assert "0 < P <= 1" in capsys.readouterr().err


def test_dev_refuses_a_fault_on_a_function_the_template_lacks_with_exit_2(
    capfd: pytest.CaptureFixture[str],  # dev registers faulthandler on the real stderr
) -> None:
    code = main(["dev", "--port", "0", "--fault", "DispatchFunction:first=1"])

    assert code == 2
    err = capfd.readouterr().err
    assert "no function 'DispatchFunction'" in err and "DispatcherFunction" in err


def test_a_lambda_invoke_sees_the_fault_as_a_function_error_lambda_would_report() -> None:
    runtime = _runtime("echo")
    runtime.inject(Fault(parse_fault("EchoFunction:first=1")))

    payload, unhandled = invoke_in_process(runtime, b'{"a": 1}')

    assert unhandled
    error = json.loads(payload)
    assert error["errorType"] == "InjectedFault"
    assert "injected fault EchoFunction:first=1" in error["errorMessage"]
    assert invoke_in_process(runtime, b'{"a": 1}') == (b'{"a": 1}', False)


def test_a_timed_out_lambda_invoke_reports_lambdas_timeout_type() -> None:
    runtime = _runtime("echo", timeout=2)
    runtime.inject(Fault(parse_fault("EchoFunction:timeout"), time_scale=0.001))

    payload, unhandled = invoke_in_process(runtime, b"{}")

    assert unhandled
    assert json.loads(payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 2.00 seconds",
    }


def test_dev_takes_repeated_faults_and_a_seed() -> None:
    faults = ["--fault", "IngestFunction:first=1", "--fault", "QueryFunction:rate=0.5"]
    args = build_parser().parse_args(["dev", *faults, "--fault-seed", "7"])

    assert args.fault == [
        FaultSpec("IngestFunction", "first", count=1),
        FaultSpec("QueryFunction", "rate", probability=0.5),
    ]
    assert args.fault_seed == 7
    assert build_parser().parse_args(["dev"]).fault == []


def test_the_dev_banner_names_the_injected_faults(capsys: pytest.CaptureFixture[str]) -> None:
    faults = [
        parse_fault("DispatcherFunction:first=15"),
        parse_fault("StatusViewFunction:rate=0.2"),
    ]

    _banner(LocalStack(faults=faults, fault_seed=7), None)

    err = capsys.readouterr().err
    assert (
        "injected faults   DispatcherFunction:first=15, StatusViewFunction:rate=0.2 (seed 7)" in err
    )
    assert err.rstrip().endswith("formrelay dev ready")


@given(
    seed=st.integers(min_value=0, max_value=2**32),
    probability=st.floats(min_value=0.01, max_value=1.0),
)
def test_any_seed_replays_its_decisions(seed: int, probability: float) -> None:
    spec = FaultSpec("StatusViewFunction", "rate", probability=probability)

    assert _outcomes(Fault(spec, seed=seed), 40) == _outcomes(Fault(spec, seed=seed), 40)
