"""Alerts (alignment/alerts.py): a shared KPI behind its pace or the SLA under the
threshold tells its owners by mail and on the dashboard, at most once a day per KPI; the
executives' digest goes once a week; nothing when disabled or nobody is named."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.utils import timezone

from alignment.alerts import alert_settings, check_alerts, send_digest
from alignment.models import Alert
from funnel.models import Target
from funnel.periods import current_quarter
from tests.funnel.factories import load, person

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]
MID_QUARTER = dt.datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Wednesday


@pytest.fixture(autouse=True)
def mid_quarter() -> Iterator[None]:
    """The checks read this quarter's pace and SLA, and in a quarter's first days neither
    is due yet: the tests run on a fixed weekday in the middle of a quarter."""
    with time_machine.travel(MID_QUARTER, tick=True):
        yield


@pytest.fixture
def behind(source: Any) -> None:
    """This quarter: an opportunities target nobody is near, and an MQL nobody followed."""
    quarter = current_quarter()
    Target.objects.create(
        period=quarter.name, start=quarter.start, end=quarter.end, kpi="opportunities",
        value=Decimal(100),
    )  # fmt: skip
    start = quarter.start_at
    load(source("ma", "ma"), persons=[person("P1", start, email="p1@example.jp", mql_at=start)])
    config = alert_settings()
    config.marketing_emails = "m1@example.jp, m2@example.jp"
    config.sales_emails = "s@example.jp"
    config.executive_emails = "ceo@example.jp"
    config.save()


def test_a_kpi_behind_its_pace_tells_both_teams_once_a_day(
    behind: None, client: Client, role_user: RoleUser, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    raised = check_alerts()
    keys = {alert.key for alert in raised}
    assert "opportunities" in keys and "mql_acceptance_sla" in keys  # SLA 0% < 80%
    assert len(mail.outbox) == len(raised)
    message = Alert.objects.get(key="opportunities").message
    opportunities = next(m for m in mail.outbox if message in m.body)
    assert set(opportunities.to) == {"m1@example.jp", "m2@example.jp", "s@example.jp"}
    assert "http://127.0.0.1:8000/" in opportunities.body
    assert check_alerts() == [] and len(mail.outbox) == len(raised)  # once a day
    later = timezone.now() + dt.timedelta(days=1)
    assert {a.key for a in check_alerts(later)} == keys  # the next day again
    client.force_login(role_user("executive"))
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "data-alerts" in page and Alert.objects.filter(day=timezone.localdate()).exists()


def test_a_threshold_under_the_rate_and_disabled_alerts_stay_silent(
    behind: None, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    config = alert_settings()
    config.sla_threshold = Decimal(0)
    config.save()
    assert "mql_acceptance_sla" not in {a.key for a in check_alerts()}
    Alert.objects.all().delete()
    config.enabled = False
    config.save()
    assert check_alerts() == [] and not Alert.objects.exists()


def test_the_digest_goes_once_a_week(behind: None, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_digest() is True
    assert send_digest() is False
    (digest,) = mail.outbox
    assert (
        digest.to == ["ceo@example.jp"] and "Opportunities" in digest.body
    ) or "商談" in digest.body
    assert send_digest(timezone.now() + dt.timedelta(days=7)) is True
    config = alert_settings()
    config.executive_emails = ""
    config.save()
    assert send_digest(timezone.now() + dt.timedelta(days=14)) is False
