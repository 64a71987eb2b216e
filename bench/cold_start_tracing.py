"""Cold start of every function with tracing off and on: import, then first invocation.

Each run is a fresh interpreter (a cold start) that imports one function's entry point
and invokes it once, timing both. The function's environment is the template's, its AWS
a moto server in this process (provisioned from infra/template.yaml), and its event a
small one of its kind (an HTTP request refused at the body check, a batch of one record
that asks for nothing, the retry task of a delivery that does not exist). With tracing
off (POWERTOOLS_TRACE_DISABLED=true on Lambda) no function may import the X-Ray SDK; with
tracing on, the first invocation builds Powertools' Tracer (the SDK, its patches of
boto3 and httpx) and sends its segment to a daemon address nobody listens on. For
contrast, each run also times what an eagerly built, disabled Tracer (Powertools'
default at import) would have added. Medians of --repeat runs per function and mode.

Prints a table and writes bench/results/cold_start_tracing.json.
Run: .venv/bin/python bench/cold_start_tracing.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
MODES = {
    "off": {"POWERTOOLS_TRACE_DISABLED": "true"},
    "on": {"_X_AMZN_TRACE_ID": TRACE_HEADER, "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9"},
}

# Runs in the fresh interpreter: the standard library until the clock starts.
CHILD = r"""
import importlib, json, os, sys, time

request = json.loads(sys.argv[1])


class Context:
    function_name = request["function"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = 512
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 30000


started = time.perf_counter()
module_name, attribute = request["handler"].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), attribute)
imported = time.perf_counter()
try:
    answer = handler(request["event"], Context())
    outcome = str(answer.get("statusCode", "ok")) if isinstance(answer, dict) else "ok"
except Exception as error:  # the figure is the time, whatever the function answered
    outcome = type(error).__name__
invoked = time.perf_counter()
xray_loaded = "aws_xray_sdk" in sys.modules
eager_started = time.perf_counter()
from aws_lambda_powertools import Tracer

Tracer(disabled=True, auto_patch=False)
eager = time.perf_counter()
print(json.dumps({
    "import_ms": (imported - started) * 1000,
    "first_invocation_ms": (invoked - imported) * 1000,
    "xray_loaded": xray_loaded,
    "eager_disabled_tracer_ms": (eager - eager_started) * 1000 if not xray_loaded else None,
    "outcome": outcome,
}))
"""


def _http_event(path: str, method: str) -> dict[str, Any]:
    """A signed-looking request whose body is not the one signed: refused before any I/O."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"x-fr-content-sha256": "0" * 64, "content-type": "application/json"},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "192.0.2.1"},
            "requestId": "bench-request",
            "stage": "$default",
            "authorizer": {"lambda": {"tenant_id": "bench", "key_id": "bench.0", "scopes": ""}},
        },
        "body": "{}",
        "isBase64Encoded": False,
    }


SQS_RECORD = {
    "messageId": "m-1",
    "receiptHandle": "h",
    "body": "{}",
    "attributes": {},
    "messageAttributes": {},
    "md5OfBody": "",
    "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench",
    "awsRegion": "us-east-1",
}
STREAM_RECORD = {
    "eventID": "e-1",
    "eventName": "REMOVE",
    "eventSource": "aws:dynamodb",
    "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/bench/stream/1",
    "dynamodb": {"Keys": {"pk": {"S": "x"}, "sk": {"S": "y"}}, "SequenceNumber": "1"},
}
AUTHORIZER_REQUEST = {  # an unsigned request: denied
    "version": "2.0",
    "type": "REQUEST",
    "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/v1/forms",
    "routeKey": "GET /v1/forms",
    "rawPath": "/v1/forms",
    "rawQueryString": "",
    "headers": {},
    "identitySource": [],
    "requestContext": {
        "http": {"method": "GET", "path": "/v1/forms", "sourceIp": "192.0.2.1"},
        "requestId": "bench-request",
        "stage": "$default",
    },
}
RETRY_TASK = {
    "job": {
        "tenant_id": "bench",
        "submission_id": "sub-none",
        "form_id": "contact",
        "destination_id": "crm",
        "delivery_id": "dlv-none",
        "correlation_id": "bench",
    },
    "attempt": 2,
    "next_attempt_at": None,
}


def event_for(resource: dict[str, Any]) -> dict[str, Any]:
    """A small event of the kind the function is invoked with."""
    events = resource["Properties"].get("Events", {})
    kinds = {e["Type"]: e.get("Properties", {}) for e in events.values()}
    if "HttpApi" in kinds:
        route = kinds["HttpApi"]
        path = str(route["Path"]).replace("{", "").replace("}", "")
        return _http_event(path, str(route["Method"]).upper())
    if "SQS" in kinds:
        return {"Records": [SQS_RECORD]}
    if "DynamoDB" in kinds:
        return {"Records": [STREAM_RECORD]}
    if "Schedule" in kinds or "ScheduleV2" in kinds:
        return {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    if resource["Properties"]["Handler"].startswith("handlers.authorizer"):
        return AUTHORIZER_REQUEST
    return RETRY_TASK


def child_env(spec: Any, mode: str, endpoint: str) -> dict[str, str]:
    """The function's environment on Lambda, its AWS the moto server."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "LAMBDA_TASK_ROOT": str(REPO),
        **spec.environment,
        **MODES[mode],
    }


def run_once(
    spec: Any, event: dict[str, Any], mode: str, endpoint: str, extra: dict[str, str] | None = None
) -> dict[str, Any]:
    """One cold start of the function in a fresh interpreter (`extra`: its path, its cwd)."""
    env = {**child_env(spec, mode, endpoint), **(extra or {})}
    cwd = env.pop("COLD_START_CWD", str(REPO))
    request = {"function": spec.name, "handler": spec.handler, "event": event}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(request)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextlib.contextmanager
def template_functions() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """A moto server provisioned from infra/template.yaml: its endpoint, specs, resources."""
    import boto3
    from moto.server import ThreadedMotoServer

    from formrelay.local.functions import read_functions, register_functions
    from formrelay.local.provision import provision
    from formrelay.local.template import load_template, resources_of_type

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's request log
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID")}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    boto3.setup_default_session()
    try:
        template = load_template()
        resources_map = provision(template, "bench")
        register_functions(template, resources_map, "bench")  # their ARNs, the API's id
        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:bench-DeliveryRetry"
        for logical_id in resources_of_type(template, "AWS::Serverless::StateMachine"):
            resources_map[logical_id] = {"Ref": machine, "Arn": machine, "Name": machine}
        specs = read_functions(template, resources_map, "bench")
        resources = resources_of_type(template, "AWS::Serverless::Function")
        yield endpoint, specs, resources
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measure(repeat: int) -> dict[str, Any]:
    """Every function, tracing off and on, `repeat` cold starts each (interleaved)."""
    rows = []
    with template_functions() as (endpoint, specs, resources):
        for logical_id, spec in sorted(specs.items()):
            event = event_for(resources[logical_id])
            runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
            for _ in range(repeat):
                for mode in MODES:
                    runs[mode].append(run_once(spec, event, mode, endpoint))
            rows.append({"function": logical_id.removesuffix("Function"), **_summary(runs)})
    return {
        "repeat": repeat,
        "machine": _machine(),
        "rows": rows,
        "median_added_ms": {
            # The import is the same code either way (no Tracer is built at import): its
            # difference is the machine's noise. Tracing costs its first invocation.
            "tracing_on_first_invocation": statistics.median(
                r["on_first_invocation_ms"] - r["off_first_invocation_ms"] for r in rows
            ),
            "eager_disabled_tracer": statistics.median(r["eager_disabled_tracer_ms"] for r in rows),
        },
    }


def _summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for mode, samples in runs.items():
        imports = statistics.median(s["import_ms"] for s in samples)
        firsts = statistics.median(s["first_invocation_ms"] for s in samples)
        summary[f"{mode}_import_ms"] = round(imports, 1)
        summary[f"{mode}_first_invocation_ms"] = round(firsts, 1)
        summary[f"{mode}_total_ms"] = round(imports + firsts, 1)
        summary[f"{mode}_xray_loaded"] = any(s["xray_loaded"] for s in samples)
        summary[f"{mode}_outcome"] = samples[0]["outcome"]
    eager = [s["eager_disabled_tracer_ms"] for s in runs["off"] if s["eager_disabled_tracer_ms"]]
    summary["eager_disabled_tracer_ms"] = round(statistics.median(eager), 1) if eager else 0.0
    return summary


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def print_table(figures: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Cold start, tracing off vs on (median of {figures['repeat']}, ms)")
    for column in (
        "function",
        "off: import",
        "off: 1st call",
        "on: import",
        "on: 1st call",
        "1st call on - off",
        "eager Tracer()",
        "X-Ray SDK off/on",
        "answer",
    ):
        table.add_column(column, justify="left" if column in ("function", "answer") else "right")
    for row in figures["rows"]:
        table.add_row(
            row["function"],
            f"{row['off_import_ms']:.1f}",
            f"{row['off_first_invocation_ms']:.1f}",
            f"{row['on_import_ms']:.1f}",
            f"{row['on_first_invocation_ms']:.1f}",
            f"{row['on_first_invocation_ms'] - row['off_first_invocation_ms']:+.1f}",
            f"{row['eager_disabled_tracer_ms']:.1f}",
            f"{_yes(row['off_xray_loaded'])}/{_yes(row['on_xray_loaded'])}",
            row["off_outcome"],
        )
    console = Console(width=150)
    console.print(table)
    added = figures["median_added_ms"]
    console.print(
        "median over functions: tracing on adds "
        f"{added['tracing_on_first_invocation']:.1f} ms to a cold start's first invocation "
        "(imports are the same code either way); "
        f"an eagerly built, disabled Tracer would add {added['eager_disabled_tracer']:.1f} ms "
        f"({figures['machine']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold starts per function and mode")
    args = parser.parse_args()
    figures = measure(args.repeat)
    off_loaded = [row["function"] for row in figures["rows"] if row["off_xray_loaded"]]
    if off_loaded:
        raise SystemExit(f"the X-Ray SDK was imported with tracing off: {off_loaded}")
    print_table(figures)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cold_start_tracing.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
