"""Rejection reasons added by ops admins (issue 14: "the section 2 list, extended by ops
admins"): offered to sales, counted in the KPIs as the standard reason they map to, shown
to marketing (feedback view, person page, quarterly report) under their own name."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from feedback.models import Feedback, RejectionReason
from feedback.selectors import feedback_summary, waiting_mqls
from funnel.periods import current_quarter

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


def _import(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def test_an_ops_admins_reason_is_offered_recorded_and_shown(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    reason = RejectionReason.objects.create(
        code="tiny-team",
        label="担当者1名の小規模",
        label_en="One-person team",
        counts_as="wrong_target",
    )
    RejectionReason.objects.create(code="retired", label="廃止", counts_as="other", active=False)
    person = waiting_mqls(timezone.now()).first()
    assert person is not None
    sales = role_user("sales")
    client.force_login(sales)
    inbox = client.get("/feedback/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="custom:tiny-team"' in inbox and "One-person team (Wrong target" in inbox
    assert "custom:retired" not in inbox
    answer = client.post(
        "/feedback/decide/",
        {"person": person.pk, "decision": "reject", "reason": "custom:tiny-team", "comment": "x"},
    )
    assert answer.status_code == 302
    decision = Feedback.objects.get(person=person)
    assert (decision.reason, decision.detail) == ("wrong_target", reason)
    person.refresh_from_db()
    assert person.disqualify_reason == "wrong_target"  # the KPIs see the standard code
    summary = feedback_summary(current_quarter(timezone.now()), timezone.now())
    assert summary.labels["custom:tiny-team"] in ("One-person team", "担当者1名の小規模")
    assert sum(row.reasons.get("custom:tiny-team", 0) for row in summary.by_channel) == 1
    page = client.get(f"/records/persons/{person.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "One-person team" in page.content.decode()
    marketing = Client()
    marketing.force_login(role_user("marketing"))
    view = marketing.get("/feedback/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "担当者1名の小規模" in view
    # A reason no longer offered is refused, and nothing is recorded.
    other = waiting_mqls(timezone.now()).first()
    assert other is not None
    client.post(
        "/feedback/decide/",
        {"person": other.pk, "decision": "reject", "reason": "custom:retired"},
    )
    assert not Feedback.objects.filter(person=other).exists()


def test_ops_admins_manage_the_reasons_in_admin(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("ops_admin"))
    answer = client.post(
        "/admin/feedback/rejectionreason/add/",
        {
            "code": "no-it-dept",
            "label": "情シス不在",
            "label_en": "",
            "counts_as": "no_timing",
            "active": "on",
            "order": "1",
        },
    )
    assert answer.status_code == 302
    assert RejectionReason.objects.get().counts_as == "no_timing"
    client.force_login(role_user("sales"))
    assert client.get("/admin/feedback/rejectionreason/").status_code in (302, 403)


def test_every_number_of_the_feedback_view_lists_the_decisions_it_counts(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    import re

    from feedback.services import decide

    _import(example_dir)
    RejectionReason.objects.create(code="tiny", label="小規模", counts_as="wrong_target")
    sales = role_user("sales")
    waiting = list(waiting_mqls(timezone.now())[:5])
    assert len(waiting) == 5
    decide([waiting[0].pk, waiting[1].pk], sales, "accept")
    decide([waiting[2].pk], sales, "reject", "custom:tiny")
    decide([waiting[3].pk, waiting[4].pk], sales, "reject", "no_budget", "later")
    client.force_login(role_user("marketing"))
    page = client.get("/feedback/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    links = re.findall(r'<a href="(/feedback/decisions/\?[^"]+)">(\d+)</a>', page)
    assert links
    for url, number in links:
        listed = client.get(url.replace("&amp;", "&"), HTTP_ACCEPT_LANGUAGE="en")
        assert listed.status_code == 200
        assert listed.content.decode().count("<tr data-person=") == int(number), url
    rejected = [u for u, _ in links if "column=no_budget" in u and "by=month" in u]
    assert rejected
    html = client.get(rejected[0].replace("&amp;", "&"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-person="{waiting[3].pk}"' in html and "later" in html
    bad = client.get("/feedback/decisions/", {"by": "nothing"})
    assert bad.status_code == 400
    executive = Client()
    executive.force_login(role_user("executive"))
    assert "/feedback/decisions/" not in executive.get("/feedback/").content.decode()
    assert executive.get("/feedback/decisions/", {"by": "channel"}).status_code == 403
