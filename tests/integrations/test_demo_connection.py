"""The demo's connection (integrations/demo.py) against the sandbox bin/demo starts: it
syncs like a real portal, a second sync changes nothing, reloading the demo keeps it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from funnel.models import Opportunity, SourcePerson
from integrations.demo import DEMO_CONNECTION, ensure_demo_connection
from integrations.models import Connection
from integrations.sync import run_sync
from tests.contract_servers.hubspot import HubSpotContractServer, seed_demo_portal

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_connection_syncs_the_sandbox_portal() -> None:
    with HubSpotContractServer(token="pat-demo-sandbox") as hs:
        seed_demo_portal(hs)
        connection, created = ensure_demo_connection(hs.base_url)
        assert created
        run, summary = run_sync(connection)
        assert run.status == "succeeded", run.error
        assert summary["objects"]["persons"]["created"] == 240
        deals = len(hs.state.objects["deals"])
        assert deals > 10 and summary["objects"]["opportunities"]["created"] == deals
        assert SourcePerson.objects.filter(source__name=DEMO_CONNECTION).count() == 240
        assert Opportunity.objects.filter(person__isnull=True).count() == 0
        _, again = run_sync(connection)
        for counts in again["objects"].values():
            assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0)


def test_load_demo_adds_the_demo_connection_once() -> None:
    out = StringIO()
    call_command("load_demo", persons=1000, seed=7, allow_production=True, stdout=out)
    assert "Demo connection: hubspot-sandbox" in out.getvalue()
    first = Connection.objects.get(name=DEMO_CONNECTION)
    assert first.base_url == "http://127.0.0.1:8765"
    call_command(
        "load_demo", persons=1000, seed=7, allow_production=True,
        sandbox_url="http://127.0.0.1:9999", stdout=StringIO(),
    )  # fmt: skip
    again = Connection.objects.get(name=DEMO_CONNECTION)
    assert again.pk == first.pk and again.base_url == "http://127.0.0.1:9999"


def test_the_demo_company_and_business_unit_sync_their_sandboxes() -> None:
    """Salesforce and Marketo hold one company: each human is one person across the two,
    MQL dates are Marketo's (the earlier), opportunities find their person; the Account
    Engagement business unit syncs beside them; a second round changes nothing."""
    from funnel.models import Person
    from integrations.demo import ensure_sandbox_connection
    from integrations.sandboxes import BY_VENDOR
    from tests.contract_servers.marketo import MarketoContractServer
    from tests.contract_servers.pardot import PardotContractServer
    from tests.contract_servers.salesforce import SalesforceContractServer
    from tests.contract_servers.sandbox import (
        PEOPLE,
        seed_demo_business_unit,
        seed_demo_company,
    )

    pardot = BY_VENDOR["pardot"]
    with (
        SalesforceContractServer(**BY_VENDOR["salesforce"].credentials) as sf,
        MarketoContractServer(**BY_VENDOR["marketo"].credentials) as mk,
        PardotContractServer(**pardot.credentials, business_unit_id=pardot.business_unit_id) as pd,
    ):
        seed_demo_company(sf, mk)
        seed_demo_business_unit(pd)
        servers = {"salesforce": sf, "marketo": mk, "pardot": pd}
        connections = [
            ensure_sandbox_connection(BY_VENDOR[vendor], server.base_url)[0]
            for vendor, server in servers.items()
        ]
        for connection in connections:
            run, _summary = run_sync(connection)
            assert run.status == "succeeded", (connection.name, run.error)
        company = Person.objects.filter(source_records__source__name="marketo-sandbox")
        assert company.count() == PEOPLE
        both = company.filter(source_records__source__name="salesforce-sandbox")
        assert both.distinct().count() == PEOPLE  # one person per human across SFA and MA
        assert Opportunity.objects.filter(source__name="salesforce-sandbox").count() > 5
        assert Opportunity.objects.filter(person__isnull=True).count() == 0
        for connection in connections:
            _, again = run_sync(connection)
            for counts in again["objects"].values():
                assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0)
