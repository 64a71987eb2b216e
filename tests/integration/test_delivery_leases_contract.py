"""The leases contract: the in-memory fake and the Views table adapter (on moto) behave alike.

Both read time from a ManualClock, so expiry is tested by moving the clock,
never by sleeping.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from formrelay.delivery.dynamodb import DynamoDBDeliveryLeases
from formrelay.delivery.leases import DeliveryBusyError, DeliveryLeases
from formrelay.delivery.memory import InMemoryDeliveryLeases
from formrelay.domain.clock import Clock, ManualClock
from formrelay.local import dynamodb_atomicity
from tests.support.template_aws import TemplateAws, template_aws

DELIVERY = "msg_0123456789abcdef0123456789abcdef"


class DeliveryLeasesContract:
    """The behaviour every DeliveryLeases back end must show."""

    @pytest.fixture
    def tenant(self) -> str:
        return f"t{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    def leases(self, clock: ManualClock) -> Iterator[DeliveryLeases]:
        raise NotImplementedError

    @pytest.fixture
    def rival(self, clock: ManualClock) -> Iterator[DeliveryLeases]:
        """A second instance over the same storage (another Lambda container)."""
        raise NotImplementedError

    def test_a_held_lease_refuses_a_second_taker(
        self, leases: DeliveryLeases, rival: DeliveryLeases, tenant: str
    ) -> None:
        leases.acquire(tenant, DELIVERY, 30)
        with pytest.raises(DeliveryBusyError):
            rival.acquire(tenant, DELIVERY, 30)
        with pytest.raises(DeliveryBusyError):
            leases.acquire(tenant, DELIVERY, 30)

    def test_a_released_lease_can_be_taken_again(
        self, leases: DeliveryLeases, rival: DeliveryLeases, tenant: str
    ) -> None:
        token = leases.acquire(tenant, DELIVERY, 30)
        leases.release(tenant, DELIVERY, token)
        assert rival.acquire(tenant, DELIVERY, 30) != token

    def test_a_lease_holds_until_it_expires_then_anyone_may_take_it(
        self, leases: DeliveryLeases, rival: DeliveryLeases, clock: ManualClock, tenant: str
    ) -> None:
        # Given a lease for 30 s whose holder died
        leases.acquire(tenant, DELIVERY, 30)

        # Then it still holds a moment before it runs out
        clock.advance(30)
        with pytest.raises(DeliveryBusyError):
            rival.acquire(tenant, DELIVERY, 30)

        # And once it has run out, another taker gets it
        clock.advance(3)
        rival.acquire(tenant, DELIVERY, 30)

    def test_releasing_a_lease_someone_else_took_after_expiry_leaves_theirs(
        self, leases: DeliveryLeases, rival: DeliveryLeases, clock: ManualClock, tenant: str
    ) -> None:
        # Given a lease that expired and was taken by a rival
        stale = leases.acquire(tenant, DELIVERY, 5)
        clock.advance(10)
        rival.acquire(tenant, DELIVERY, 30)

        # When the first holder, late, gives back its lease
        leases.release(tenant, DELIVERY, stale)

        # Then the rival's lease still holds
        with pytest.raises(DeliveryBusyError):
            leases.acquire(tenant, DELIVERY, 30)

    def test_releasing_a_lease_never_taken_is_harmless(
        self, leases: DeliveryLeases, tenant: str
    ) -> None:
        leases.release(tenant, DELIVERY, "not-a-token")
        leases.acquire(tenant, DELIVERY, 30)

    def test_leases_are_per_delivery_and_per_tenant(
        self, leases: DeliveryLeases, tenant: str
    ) -> None:
        leases.acquire(tenant, DELIVERY, 30)
        leases.acquire(tenant, DELIVERY.replace("0", "1"), 30)
        leases.acquire(f"x{tenant}", DELIVERY, 30)

    def test_of_many_racing_takers_exactly_one_wins(
        self, leases: DeliveryLeases, rival: DeliveryLeases, tenant: str
    ) -> None:
        # Given eight takers (over two instances) trying at the same moment
        won: list[str] = []
        lost: list[DeliveryBusyError] = []
        start = threading.Barrier(8)

        def take(instance: DeliveryLeases) -> None:
            start.wait()
            try:
                won.append(instance.acquire(tenant, DELIVERY, 30))
            except DeliveryBusyError as exc:
                lost.append(exc)

        threads = [threading.Thread(target=take, args=([leases, rival][n % 2],)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Then one holds the lease and seven were told it is busy
        assert (len(won), len(lost)) == (1, 7)


class TestInMemoryDeliveryLeases(DeliveryLeasesContract):
    @pytest.fixture
    def storage(self, clock: Clock) -> InMemoryDeliveryLeases:
        return InMemoryDeliveryLeases(clock)

    @pytest.fixture
    def leases(self, storage: InMemoryDeliveryLeases) -> Iterator[DeliveryLeases]:
        yield storage

    @pytest.fixture
    def rival(self, storage: InMemoryDeliveryLeases) -> Iterator[DeliveryLeases]:
        # One dict is one table: the fake's "second container" is the same instance.
        yield storage


@pytest.fixture(scope="module")
def aws() -> Iterator[TemplateAws]:
    """The template's tables on moto, once per module: each test has tenants of its own."""
    dynamodb_atomicity.install()  # moto's conditional writes are not atomic across threads
    with template_aws() as provisioned:
        yield provisioned


class TestDynamoDBDeliveryLeases(DeliveryLeasesContract):
    @pytest.fixture
    def leases(self, aws: TemplateAws, clock: Clock) -> Iterator[DeliveryLeases]:
        yield DynamoDBDeliveryLeases(aws.views_table, aws.dynamodb, clock=clock)

    @pytest.fixture
    def rival(self, aws: TemplateAws, clock: Clock) -> Iterator[DeliveryLeases]:
        yield DynamoDBDeliveryLeases(aws.views_table, aws.dynamodb, clock=clock)
