"""The connections page (integrations/views.py): marketing, sales and ops admins see each
connection's sync state; only ops admins start a sync, by POST with a CSRF token; secrets
never show."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from integrations.connections import add_connection
from integrations.models import SyncRun
from kpi_dashboard.celery import app
from tests.contract_servers.hubspot import HubSpotContractServer
from tests.integrations.test_hubspot_sync import _seed

pytestmark = pytest.mark.django_db(transaction=True)
RoleUser = Callable[[str], User]


@pytest.fixture
def hs() -> Iterator[HubSpotContractServer]:
    with HubSpotContractServer(token="pat-na1-test") as server:
        _seed(server)
        before = app.conf.task_always_eager
        app.conf.task_always_eager = True
        yield server
        app.conf.task_always_eager = before


@pytest.mark.parametrize("role", ["marketing", "sales", "ops_admin"])
def test_the_page_shows_each_connection_without_its_secret(
    hs: HubSpotContractServer, client: Client, role_user: RoleUser, role: str
) -> None:
    add_connection("hubspot-prod", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url)
    client.force_login(role_user(role))
    page = client.get("/connections/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "hubspot-prod" in page and "token=set" in page and "pat-na1-test" not in page
    assert "+ new, ~ changed, − removed, ✕ rejected" in page  # what a run's counts mean
    assert ("Sync now" in page) == (role == "ops_admin")


def test_an_executive_may_not_see_it(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("executive"))
    assert client.get("/connections/").status_code == 403


def test_an_ops_admin_starts_a_sync_and_sees_its_counts(
    hs: HubSpotContractServer, role_user: RoleUser
) -> None:
    connection = add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url)
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("ops_admin"))
    url = f"/connections/{connection.pk}/sync/"
    assert client.post(url).status_code == 403  # no CSRF token
    page = client.get("/connections/")
    token = page.cookies["csrftoken"].value
    response = client.post(url, {"csrfmiddlewaretoken": token}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    run = SyncRun.objects.get(kind="hubspot")
    assert run.status == SyncRun.Status.PARTIAL
    shown = client.get("/connections/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A sync of hs was started." in shown
    assert "persons: +3" in shown and "opportunities: +3" in shown
    assert "deal 9004, deal_currency_code" in shown  # the rejected record, named


def test_marketing_may_not_start_a_sync(hs: HubSpotContractServer, role_user: RoleUser) -> None:
    connection = add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url=hs.base_url)
    client = Client()
    client.force_login(role_user("marketing"))
    assert client.post(f"/connections/{connection.pk}/sync/").status_code == 403
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("eager", [True, False])
def test_the_next_run_is_shown_only_where_a_schedule_runs(
    client: Client, role_user: RoleUser, settings: Any, eager: bool
) -> None:
    """The embedded mode has no beat: a next run time there would never come."""
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url="http://127.0.0.1:9")
    client.force_login(role_user("marketing"))
    page = client.get("/connections/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    next_run = page.split('data-field="next-run">', 1)[1].split("</dd>", 1)[0]
    if eager:
        assert next_run == "when started: the embedded mode runs no schedule"
    else:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", next_run), next_run
