"""In-process emulated AWS (moto) holding the tables and queues infra/template.yaml declares."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from formrelay.local import secretsmanager_atomicity
from formrelay.local.intrinsics import ResourceMap
from formrelay.local.provision import provision
from formrelay.local.template import DEFAULT_TEMPLATE, load_template

if TYPE_CHECKING:
    from formrelay.composition import Services

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class TemplateAws:
    """The provisioned resources and clients on the emulated AWS."""

    resources: ResourceMap
    dynamodb: Any
    secretsmanager: Any

    @property
    def views_table(self) -> str:
        """The Views table's physical name."""
        return self.resources["ViewsTable"]["Ref"]

    @property
    def events_table(self) -> str:
        """The Events table's physical name."""
        return self.resources["EventsTable"]["Ref"]

    def operator(self) -> Services:
        """formrelay's services on these tables, as an operator's tools build them."""
        from formrelay.composition import Services
        from formrelay.settings import Settings

        return Services(
            Settings(events_table=self.events_table, views_table=self.views_table),
            dynamodb=self.dynamodb,
            secretsmanager=self.secretsmanager,
        )

    def seed_tenant(self, tenant_id: str) -> Services:
        """A tenant with one open `contact` form and one destination; the operator's services."""
        from formrelay.bootstrap import seed_tenant

        operator = self.operator()
        seed_tenant(
            operator,
            tenant_id=tenant_id,
            form_id="contact",
            schema={"type": "object"},
            destination_url="https://hooks.example.com/x",
        )
        return operator


@contextlib.contextmanager
def template_aws(stack_name: str = "formrelay") -> Iterator[TemplateAws]:
    """Given moto with the template's tables and queues, under local credentials.

    moto's Secrets Manager is made atomic first, as `formrelay dev` makes it:
    secret-document writers race on it.
    """
    secretsmanager_atomicity.install()
    with pytest.MonkeyPatch.context() as env:
        for name, value in LOCAL_CREDENTIALS.items():
            env.setenv(name, value)
        unset = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "FORMRELAY_STACK")
        for name in (*unset, "VIEWS_TABLE", "TENANT_SECRET_PREFIX"):
            env.delenv(name, raising=False)
        with mock_aws():
            resources = provision(load_template(DEFAULT_TEMPLATE), stack_name)
            yield TemplateAws(
                resources,
                boto3.client("dynamodb", region_name="us-east-1"),
                boto3.client("secretsmanager", region_name="us-east-1"),
            )
