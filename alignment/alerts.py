"""Alerts (issue: alignment workspace): a shared KPI behind its pace (its target's status,
kpi-spec section 5) or the MQL follow-up SLA under the ops admins' threshold tells its
owners by e-mail (Django's mail settings) and on the dashboard, at most once a day per KPI;
the executives get a weekly digest. Celery beat runs both (alignment/tasks.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alignment.checklist import score_on
from alignment.models import Alert, AlertSettings, DigestSent
from funnel.metrics.catalogue import SHARED_KPIS, Team, kpi
from funnel.metrics.formatting import format_kpi
from funnel.metrics.snapshot import kpi_snapshot
from funnel.periods import current_quarter

SLA = "mql_acceptance_sla"
BEHIND = gettext_lazy(
    "%(kpi)s is behind its pace: %(value)s, %(expected)s expected by now (%(period)s)."
)
SLA_LOW = gettext_lazy(
    "The MQL follow-up SLA is %(value)s, under the %(threshold)s agreed (%(period)s)."
)


def alert_settings() -> AlertSettings:
    found, _created = AlertSettings.objects.get_or_create(pk=1)
    return found


def addresses(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text) if "@" in part]


def _recipients(key: str, config: AlertSettings) -> list[str]:
    team = kpi(key).team
    found = []
    if team in (Team.MARKETING, Team.SHARED, None):
        found += addresses(config.marketing_emails)
    if team in (Team.SALES, Team.SHARED, None):
        found += addresses(config.sales_emails)
    return list(dict.fromkeys(found))


def check_alerts(now: dt.datetime | None = None) -> list[Alert]:
    """The alerts due now that were not raised today yet; each is mailed once."""
    now = now or timezone.now()
    config = alert_settings()
    if not config.enabled:
        return []
    quarter = current_quarter(now)
    snapshot = kpi_snapshot(quarter, now)
    due: list[tuple[str, str]] = []
    with translation.override(settings.LANGUAGE_CODE):
        for key in SHARED_KPIS:
            target = snapshot["targets"].get(key)
            if target and target["status"] == "behind":
                facts = {
                    "kpi": kpi(key).label,
                    "value": format_kpi(key, target["actual"]),
                    "expected": format_kpi(key, target["expected"]),
                    "period": quarter.name,
                }
                due.append((key, str(BEHIND) % facts))
        rate = snapshot["kpis"].get(SLA)
        if rate is not None and Decimal(str(rate)) < config.sla_threshold:
            facts = {
                "value": format_kpi(SLA, rate),
                "threshold": format_kpi(SLA, float(config.sla_threshold)),
                "period": quarter.name,
            }
            due.append((SLA, str(SLA_LOW) % facts))
    raised = []
    day = timezone.localdate(now)
    link = settings.SITE_URL.rstrip("/") + reverse("home")
    for key, message in due:
        value = message
        recipients = _recipients(key, config)
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    key=key, day=day, value=value[:100], message=message,
                    sent_to=", ".join(recipients),
                )  # fmt: skip
        except IntegrityError:
            continue  # raised today already
        if recipients:
            send_mail(
                f"[KPI Bridge] {kpi(key).label}", f"{message}\n\n{link}",
                None, recipients, fail_silently=False,
            )  # fmt: skip
        raised.append(alert)
    return raised


def todays_alerts(now: dt.datetime | None = None) -> list[Alert]:
    return list(Alert.objects.filter(day=timezone.localdate(now or timezone.now())))


def send_digest(now: dt.datetime | None = None) -> bool:
    """The executives' weekly digest (once per ISO week): the shared KPIs against their
    pace and the alignment checklist's score."""
    now = now or timezone.now()
    config = alert_settings()
    recipients = addresses(config.executive_emails)
    year, week, _weekday = timezone.localdate(now).isocalendar()
    name = f"{year}-W{week:02d}"
    if not config.enabled or not recipients:
        return False
    try:
        with transaction.atomic():
            DigestSent.objects.create(week=name, sent_to=", ".join(recipients))
    except IntegrityError:
        return False
    quarter = current_quarter(now)
    snapshot = kpi_snapshot(quarter, now)
    with translation.override(settings.LANGUAGE_CODE):
        lines = [_("Shared KPIs, %(period)s") % {"period": quarter.name}]
        for key in SHARED_KPIS:
            target = snapshot["targets"].get(key)
            pace = ""
            if target and target["status"]:
                pace = " · " + (_("behind") if target["status"] == "behind" else _("on track"))
            lines.append(f"- {kpi(key).label}: {format_kpi(key, snapshot['kpis'].get(key))}{pace}")
        score = score_on(timezone.localdate(now))
        if score is not None:
            lines.append(_("Alignment checklist: %(held)s of %(total)s") % {
                "held": score.held, "total": score.total})  # fmt: skip
        subject = _("[KPI Bridge] Weekly digest %(week)s") % {"week": name}
    link = settings.SITE_URL.rstrip("/") + reverse("reports:quarterly-latest")
    send_mail(subject, "\n".join([*lines, "", link]), None, recipients, fail_silently=False)
    return True
