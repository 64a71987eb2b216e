"""The connector on fakes, delivering over real HTTP to a scripted local receiver.

Every collaborator but the destination is a fake: the event store, the
destinations, the destination secrets (over in-memory secret documents), the
leases, and the retry workflow, which records executions and is stepped here
by hand (wait until `next_attempt_at`, then `retry_attempt`), as the state
machine would. Time is a ManualClock and jitter a random source that always
draws the middle, so every wait is exactly what the destination's schedule says.
"""

from __future__ import annotations

import random
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from formrelay.delivery.connector import Connector, DeliveryReport, workflow_state
from formrelay.delivery.destination_secrets import DestinationSecrets
from formrelay.delivery.jobs import DeliveryJob
from formrelay.delivery.leases import DeliveryBusyError
from formrelay.delivery.memory import (
    InMemoryDeliveryLeases,
    InMemoryDestinationDirectory,
    InMemoryRetryWorkflow,
)
from formrelay.delivery.outcomes import MAX_RETRY_AFTER_SECONDS
from formrelay.delivery.pinning import pinned_client
from formrelay.delivery.ssrf import check_destination_url
from formrelay.domain.clock import ManualClock
from formrelay.domain.destinations import Destination
from formrelay.domain.events import (
    DELIVERY_ATTEMPTED,
    DELIVERY_DEAD_LETTERED,
    DELIVERY_FAILED,
    DESTINATION_DISABLED,
    SUBMISSION_RECEIVED,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from formrelay.secrets.memory import InMemorySecretDocuments
from formrelay.store.memory import InMemoryEventStore
from formrelay.views.status import fold
from tests.support.scripted_receiver import Answer, ScriptedReceiver

# Deliveries read for at most this long (generous: a loaded machine must not turn an answer
# into a timeout); a hang lasts longer, so it is one.
READ_TIMEOUT = 0.5
HANG = Answer(hang_seconds=1.2)
RESET = Answer(reset=True)


class NoJitter(random.Random):
    """A random source that always draws the middle of the range: no jitter, no backoff skew."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


@pytest.fixture(scope="module")
def receiver() -> Iterator[ScriptedReceiver]:
    server = ScriptedReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(receiver: ScriptedReceiver) -> Iterator[httpx.Client]:
    with pinned_client(allowed=frozenset({receiver.address})) as client:
        yield client


class World:
    """The connector over fakes, with one tenant (acme) and a receiver it may deliver to."""

    def __init__(self, receiver: ScriptedReceiver, http: httpx.Client) -> None:
        self.receiver = receiver
        self.clock = ManualClock()
        self.events = InMemoryEventStore()
        self.directory = InMemoryDestinationDirectory()
        self.secrets = DestinationSecrets(
            "formrelay/destinations/",
            documents=InMemorySecretDocuments(clock=self.clock.unix),
            clock=self.clock.unix,
        )
        self.leases = InMemoryDeliveryLeases(self.clock)
        self.workflow = InMemoryRetryWorkflow()
        self.connector = Connector(
            events=self.events,
            destinations=self.directory,
            secrets=self.secrets,
            leases=self.leases,
            workflow=self.workflow,
            http=http,
            allowed_destinations=frozenset({receiver.address}),
            clock=self.clock,
            rng=NoJitter(),
        )

    def destination(
        self, destination_id: str, answers: Sequence[Answer], schedule: tuple[int, ...] = (5,)
    ) -> str:
        """A destination of acme's contact form answering as scripted; its receiver path."""
        path = f"/{destination_id}/{uuid.uuid4().hex}"
        self.directory.put(
            Destination(
                tenant_id="acme",
                form_id="contact",
                destination_id=destination_id,
                url=self.receiver.play(path, answers),
                timeout_seconds=READ_TIMEOUT,
                connect_timeout_seconds=READ_TIMEOUT,
                retry_schedule_seconds=schedule,
            )
        )
        self.secrets.put("acme", "contact", destination_id, auth_credentials=None)
        return path

    def submit(self, *destination_ids: str) -> list[DeliveryJob]:
        """A received submission to these destinations; one job per destination."""
        submission_id = f"sub-{uuid.uuid4().hex[:12]}"
        received = NewEvent(
            type=SUBMISSION_RECEIVED,
            correlation_id="corr-1",
            occurred_at=self.clock.timestamp(),
            data={
                "form_id": "contact",
                "form_schema_version": 1,
                "key_id": "acme.0123456789abcdef",
                "body_sha256": "0" * 64,
                "payload": {"email": "ada@example.com", "name": "Ada"},
                "destinations": list(destination_ids),
            },
        )
        self.events.append(StreamId("acme", submission_id), [received], expected_version=0)
        return [
            DeliveryJob.for_destination("acme", submission_id, "contact", d, "corr-1")
            for d in destination_ids
        ]

    def history(self, job: DeliveryJob) -> list[RecordedEvent]:
        return self.events.read(StreamId(job.tenant_id, job.submission_id))

    def of(self, job: DeliveryJob, event_type: str) -> list[dict[str, Any]]:
        """The data of this delivery's events of one type, in order."""
        return [
            e.data
            for e in self.history(job)
            if e.type == event_type and e.data.get("destination_id") == job.destination_id
        ]

    def deliver(
        self, job: DeliveryJob, replay_after: frozenset[int] = frozenset()
    ) -> list[DeliveryReport]:
        """The queue's first attempt, then the retry workflow's, stepped until it stops.

        After each step whose index is in replay_after, every earlier step runs again: the
        queue's message and the workflow's tasks delivered again, late (at-least-once)."""
        calls: list[Callable[[], DeliveryReport]] = [lambda: self.connector.first_attempt(job)]
        reports = [calls[0]()]
        step = 0
        executions = 0
        while executions < len(self.workflow.executions):
            state = self.workflow.executions[executions].state
            executions += 1
            while state["next_attempt_at"] is not None:
                if step in replay_after:
                    for call in list(calls):
                        call()
                step += 1
                self.clock.advance_to(_parse(state["next_attempt_at"]))
                attempt = state["attempt"]
                calls.append(lambda a=attempt: self.connector.retry_attempt(job, a))
                report = calls[-1]()
                reports.append(report)
                state = workflow_state(job, report)
        if step in replay_after:
            for call in list(calls):
                call()
        return reports


@pytest.fixture
def world(receiver: ScriptedReceiver, http: httpx.Client) -> World:
    return World(receiver, http)


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _waits(attempts: list[dict[str, Any]]) -> list[float]:
    """How long each attempt on record asked to wait before the next one."""
    return [
        (_parse(a["next_attempt_at"]) - _parse(a["started_at"])).total_seconds()
        for a in attempts
        if a["next_attempt_at"] is not None
    ]


def _retry_after(answer: Answer) -> int | None:
    value = answer.headers.get("retry-after")
    if value is None or answer.status not in (429, 503):
        return None
    return min(int(value), MAX_RETRY_AFTER_SECONDS)


def expected(answers: Sequence[Answer], schedule: tuple[int, ...]) -> tuple[str, int, list[float]]:
    """What the destination's answers and schedule say: the terminal state, the number of
    attempts, and each wait (the schedule's, lengthened by a Retry-After)."""
    waits: list[float] = []
    for attempt, answer in enumerate(answers, start=1):
        retryable = (
            answer.reset
            or bool(answer.hang_seconds)
            or answer.status >= 500
            or answer.status in (408, 429)
        )
        if not retryable:
            return ("delivered" if 200 <= answer.status < 300 else "failed", attempt, waits)
        if attempt > len(schedule):
            return "dead_lettered", attempt, waits
        retry_after = _retry_after(answer)
        wait = schedule[attempt - 1]
        waits.append(float(wait if retry_after is None else max(wait, retry_after)))
    raise AssertionError("the script must outlast the schedule")


def _with_retry_after(status: int) -> st.SearchStrategy[Answer]:
    seconds = st.sampled_from([0, 1, 4, 90, 3600, MAX_RETRY_AFTER_SECONDS + 60])
    return seconds.map(lambda s: Answer(status, {"retry-after": str(s)}))


ANSWERS_AT_ONCE = st.one_of(
    st.sampled_from([200, 201, 204]).map(Answer),
    st.sampled_from([400, 404, 422, 302]).map(Answer),
    st.just(Answer(410)),
    st.just(Answer(429)),
    _with_retry_after(429),
    st.sampled_from([500, 502, 503, 408]).map(Answer),
    _with_retry_after(503),
    st.just(RESET),
)
# A timeout costs READ_TIMEOUT of real time: about one answer in twelve. (Not n == 0 or 11:
# hypothesis draws the ends of a range far more often than the middle.)
ANSWERS = st.integers(min_value=0, max_value=11).flatmap(
    lambda n: st.just(HANG) if n == 5 else ANSWERS_AT_ONCE
)
SCHEDULES = st.lists(st.sampled_from([1, 5, 60, 300, 7200]), max_size=3).map(tuple)


@st.composite
def scripts(draw: st.DrawFn) -> tuple[tuple[int, ...], list[Answer]]:
    """A retry schedule and one answer for every attempt it allows."""
    schedule = draw(SCHEDULES)
    answers = draw(st.lists(ANSWERS, min_size=len(schedule) + 1, max_size=len(schedule) + 1))
    return schedule, answers


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(script=scripts())
@example(script=((5,), [Answer(429, {"retry-after": "3600"}), Answer(200)]))
@example(script=((5, 60), [HANG, RESET, Answer(503)]))
@example(script=((), [Answer(410)]))
def test_any_sequence_of_answers_ends_once_as_the_schedule_says(
    receiver: ScriptedReceiver, http: httpx.Client, script: tuple[tuple[int, ...], list[Answer]]
) -> None:
    schedule, answers = script
    world = World(receiver, http)
    # Given a destination that answers each attempt as scripted
    path = world.destination("crm", answers, schedule)
    [job] = world.submit("crm")

    # When the delivery runs: first from the queue, then in the retry workflow
    reports = world.deliver(job)

    # Then it ends in the one state the answers and schedule call for
    state, attempts, waits = expected(answers, schedule)
    view = fold(world.history(job))["destinations"]["crm"]
    assert (view["state"], view["attempts"]) == (state, attempts), [
        (a["status_code"], a["error_class"], a["duration_ms"])
        for a in world.of(job, DELIVERY_ATTEMPTED)
    ]
    endings = (
        [a for a in world.of(job, DELIVERY_ATTEMPTED) if a["outcome"] == "succeeded"]
        + world.of(job, DELIVERY_FAILED)
        + world.of(job, DELIVERY_DEAD_LETTERED)
    )
    assert len(endings) == 1
    # With every attempt on record, numbered, each one request with the same webhook-id
    recorded = world.of(job, DELIVERY_ATTEMPTED)
    assert [a["attempt"] for a in recorded] == list(range(1, attempts + 1))
    assert len(reports) == attempts
    got = receiver.requests(path)
    assert len(got) == attempts
    assert {r["headers"]["webhook-id"] for r in got} == {job.delivery_id}
    # And between attempts, the waits the schedule says, lengthened by any Retry-After
    assert _waits(recorded) == pytest.approx(waits, abs=0.001)
    # And the retry workflow started only if the first attempt could be retried
    assert len(world.workflow.executions) == (1 if waits else 0)
    # And a 410 disabled the destination, on record
    gone = answers[attempts - 1].status == 410 and state == "failed"
    destination = world.directory.get("acme", "contact", "crm")
    assert destination is not None and destination.enabled is not gone
    assert len(world.of(job, DESTINATION_DISABLED)) == int(gone)
    # And the reports the metrics count name that one ending, each attempt's latency, and
    # the workflow started
    ending = {"delivered": "succeeded", "failed": "failed", "dead_lettered": "dead_lettered"}
    assert [r.ended for r in reports if r.ended is not None] == [ending[state]]
    assert all(r.duration_ms is not None and r.duration_ms >= 0 for r in reports)
    assert sum(r.workflow_started for r in reports) == len(world.workflow.executions)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(script=scripts(), replays=st.frozensets(st.integers(min_value=0, max_value=3), max_size=3))
@example(script=((5, 5), [Answer(503), Answer(503), Answer(200)]), replays=frozenset({1}))
def test_jobs_and_tasks_delivered_again_change_nothing(
    receiver: ScriptedReceiver,
    http: httpx.Client,
    script: tuple[tuple[int, ...], list[Answer]],
    replays: frozenset[int],
) -> None:
    schedule, answers = script
    world = World(receiver, http)
    # Given a destination that answers each attempt as scripted
    path = world.destination("crm", answers, schedule)
    [job] = world.submit("crm")

    # When the queue's message and the workflow's tasks come again, late, at any point
    world.deliver(job, replay_after=replays)

    # Then the delivery went exactly as without them: its attempts, its one ending
    state, attempts, _ = expected(answers, schedule)
    view = fold(world.history(job))["destinations"]["crm"]
    assert (view["state"], view["attempts"]) == (state, attempts)
    assert len(receiver.requests(path)) == attempts
    successes = [a for a in world.of(job, DELIVERY_ATTEMPTED) if a["outcome"] == "succeeded"]
    endings = world.of(job, DELIVERY_FAILED) + world.of(job, DELIVERY_DEAD_LETTERED)
    assert len(successes) + len(endings) == 1
    # And no second retry workflow runs beside the first
    assert len(world.workflow.executions) <= 1


def test_a_retry_after_lengthens_the_wait_beyond_the_schedule(world: World) -> None:
    # Given a destination whose schedule waits 5 s, answering 429 with Retry-After: 3600
    world.destination("crm", [Answer(429, {"retry-after": "3600"}), Answer(200)], (5,))
    [job] = world.submit("crm")

    # When the first attempt is made
    report = world.connector.first_attempt(job)

    # Then the next one is due in an hour, not in 5 s
    [attempt] = world.of(job, DELIVERY_ATTEMPTED)
    assert attempt["retry_after_seconds"] == 3600
    assert _waits([attempt]) == [3600.0]
    assert report.next_attempt_at == attempt["next_attempt_at"]
    [execution] = world.workflow.executions
    assert execution.state["next_attempt_at"] == attempt["next_attempt_at"]


def test_a_retry_after_shorter_than_the_schedule_leaves_the_schedule(world: World) -> None:
    world.destination("crm", [Answer(429, {"retry-after": "1"}), Answer(200)], (300,))
    [job] = world.submit("crm")
    world.connector.first_attempt(job)
    assert _waits(world.of(job, DELIVERY_ATTEMPTED)) == [300.0]


def test_jitter_keeps_each_wait_within_a_tenth_of_the_schedule(
    receiver: ScriptedReceiver, http: httpx.Client
) -> None:
    world = World(receiver, http)
    world.connector.rng = random.Random(7)
    world.destination("crm", [Answer(503)] * 4, (10, 100, 1000))
    [job] = world.submit("crm")
    world.deliver(job)
    waits = _waits(world.of(job, DELIVERY_ATTEMPTED))
    assert len(waits) == 3
    for wait, planned in zip(waits, (10, 100, 1000), strict=True):
        assert 0.9 * planned - 0.001 <= wait <= 1.1 * planned + 0.001
    assert waits != [10.0, 100.0, 1000.0]  # some jitter was drawn


def test_the_happy_path_starts_no_retry_workflow(world: World) -> None:
    path = world.destination("crm", [Answer(200)])
    [job] = world.submit("crm")

    report = world.connector.first_attempt(job)

    assert (report.outcome, report.attempt, report.next_attempt_at) == ("succeeded", 1, None)
    assert world.workflow.executions == []
    assert len(world.receiver.requests(path)) == 1
    assert fold(world.history(job))["status"] == "delivered"


def test_a_delivery_is_signed_and_stamped_with_the_clocks_time(world: World) -> None:
    path = world.destination("crm", [Answer(200)])
    [job] = world.submit("crm")
    world.clock.advance(42)
    world.connector.first_attempt(job)
    [request] = world.receiver.requests(path)
    assert request["headers"]["webhook-timestamp"] == str(int(world.clock.unix()))
    assert request["headers"]["webhook-signature"].startswith("v1,")
    [attempt] = world.of(job, DELIVERY_ATTEMPTED)
    assert attempt["started_at"] == world.clock.timestamp()


def test_a_job_delivered_twice_is_delivered_once(world: World) -> None:
    # Given a delivery that succeeded
    path = world.destination("crm", [Answer(200), Answer(200)])
    [job] = world.submit("crm")
    world.connector.first_attempt(job)

    # When the queue hands the same job over again (at-least-once), and the workflow repeats too
    again = world.connector.first_attempt(job)
    late = world.connector.retry_attempt(job, 2)

    # Then nothing more is sent or recorded
    assert (again.outcome, late.outcome) == ("already_delivered", "already_delivered")
    assert len(world.receiver.requests(path)) == 1
    assert len(world.of(job, DELIVERY_ATTEMPTED)) == 1


def test_a_retry_task_repeated_makes_its_attempt_once(world: World) -> None:
    # Given a delivery whose first attempt failed and whose second is due
    path = world.destination("crm", [Answer(503), Answer(503), Answer(200)], (5, 5))
    [job] = world.submit("crm")
    world.connector.first_attempt(job)

    # When the workflow's task for attempt 2 runs twice (a task retried after a timeout)
    first = world.connector.retry_attempt(job, 2)
    second = world.connector.retry_attempt(job, 2)

    # Then attempt 2 was made once, and the repeat reports it again
    assert first.outcome == "retryable_failure"
    assert (second.outcome, second.attempt, second.next_attempt_at) == (
        "already_attempted",
        2,
        first.next_attempt_at,
    )
    assert len(world.receiver.requests(path)) == 2


@pytest.mark.parametrize("racers", [2, 6])
def test_one_job_racing_itself_records_one_success(world: World, racers: int) -> None:
    # Given a destination that takes a moment to answer, so the racers overlap
    path = world.destination("crm", [Answer(hang_seconds=0.1)] * racers)
    [job] = world.submit("crm")
    reports: list[DeliveryReport] = []
    busy: list[DeliveryBusyError] = []
    start = threading.Barrier(racers)

    def race() -> None:
        start.wait()
        try:
            reports.append(world.connector.first_attempt(job))
        except DeliveryBusyError as exc:  # SQS hands the message back later
            busy.append(exc)

    # When the same job is handled by several connectors at once
    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # and those refused for the lease get the message again afterwards
    retried = [world.connector.first_attempt(job) for _ in busy]

    # Then the destination got one request, and the record holds one success
    assert len(world.receiver.requests(path)) == 1
    outcomes = Counter(r.outcome for r in reports + retried)
    assert outcomes["succeeded"] == 1
    assert len(world.of(job, DELIVERY_ATTEMPTED)) == 1


def test_every_destination_of_a_submission_delivered_at_once_ends_once_each(
    world: World,
) -> None:
    # Given a submission to four destinations, delivered by four connectors at the same moment
    ids = ["crm", "slack", "sheet", "mail"]
    paths = {d: world.destination(d, [Answer(200)]) for d in ids}
    jobs = world.submit(*ids)
    start = threading.Barrier(len(jobs))

    def deliver(job: DeliveryJob) -> None:
        start.wait()
        world.connector.first_attempt(job)

    threads = [threading.Thread(target=deliver, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then all four appends to the one stream landed: one success each
    view = fold(world.history(jobs[0]))
    assert view["status"] == "delivered"
    assert {d: v["attempts"] for d, v in view["destinations"].items()} == dict.fromkeys(ids, 1)
    for d, path in paths.items():
        assert len(world.receiver.requests(path)) == 1, d


def test_a_disabled_or_missing_destination_fails_on_record_without_a_request(
    world: World,
) -> None:
    path = world.destination("crm", [Answer(200)])
    world.directory.disable("acme", "contact", "crm", "gone (HTTP 410)")
    [disabled, missing] = world.submit("crm", "nowhere")

    first_disabled = world.connector.first_attempt(disabled)
    first_missing = world.connector.first_attempt(missing)

    assert (first_disabled.outcome, first_disabled.ended) == ("destination_disabled", "failed")
    assert (first_missing.outcome, first_missing.ended) == ("destination_missing", "failed")
    assert first_disabled.duration_ms is None  # nothing was sent

    assert world.receiver.requests(path) == []
    assert [f["reason"] for f in world.of(disabled, DELIVERY_FAILED)] == ["destination_disabled"]
    assert [f["reason"] for f in world.of(missing, DELIVERY_FAILED)] == ["destination_missing"]
    assert world.workflow.executions == []


def test_giving_up_dead_letters_a_running_delivery_once(world: World) -> None:
    world.destination("crm", [Answer(503)], (5,))
    [job] = world.submit("crm")
    world.connector.first_attempt(job)

    first = world.connector.give_up(job, "ConnectionError")
    again = world.connector.give_up(job, "ConnectionError")

    assert (first.outcome, again.outcome) == ("dead_lettered", "already_dead_lettered")
    assert (first.ended, again.ended) == ("dead_lettered", None)
    [dead] = world.of(job, DELIVERY_DEAD_LETTERED)
    assert dead["last_error"] == "attempt crashed: ConnectionError"


def test_another_tenants_destination_of_the_same_ids_is_never_used(world: World) -> None:
    # Given globex has a destination crm on its form contact, and acme has none
    world.directory.put(
        Destination("globex", "contact", "crm", world.receiver.play("/globex", [Answer(200)]))
    )
    [job] = world.submit("crm")

    # When acme's job for crm runs
    report = world.connector.first_attempt(job)

    # Then it fails as missing; globex's receiver got nothing
    assert report.outcome == "destination_missing"
    assert world.receiver.requests("/globex") == []


def test_a_destination_rebound_to_loopback_after_its_check_is_refused_unsent(
    receiver: ScriptedReceiver,
) -> None:
    """DNS rebinding: the name was public when the destination was checked, and answers
    loopback (where the receiver listens) when the connector resolves it to connect."""
    answers = ["93.184.216.34", "127.0.0.1"]

    def rebinding(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    port = int(receiver.address.rsplit(":", 1)[1])
    url = f"http://rebind.formrelay.test:{port}/rebound/{uuid.uuid4().hex}"
    check_destination_url(url, allowed=frozenset(), resolve=rebinding)  # the PUT's check
    with pinned_client(allowed=frozenset({receiver.address}), resolve=rebinding) as client:
        world = World(receiver, client)
        world.directory.put(
            Destination(
                tenant_id="acme",
                form_id="contact",
                destination_id="rebound",
                url=url,
                timeout_seconds=READ_TIMEOUT,
                connect_timeout_seconds=READ_TIMEOUT,
            )
        )
        world.secrets.put("acme", "contact", "rebound", auth_credentials=None)
        [job] = world.submit("rebound")
        report = world.connector.first_attempt(job)
    assert report.outcome == "final_failure"
    assert [a["error_class"] for a in world.of(job, DELIVERY_ATTEMPTED)] == ["destination_refused"]
    assert receiver.requests(urlsplit(url).path) == []
    assert world.workflow.executions == []
