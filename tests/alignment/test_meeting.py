"""The weekly meeting page (alignment/meeting.py): the shared KPIs now and a week ago as
the engine computes them, this week's rejections and SLA misses, action items carried
over until done, and the record of each meeting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alignment.models import ActionItem, Meeting
from feedback.selectors import waiting_mqls
from feedback.services import decide
from funnel.ingest import get_or_create_source
from funnel.metrics.catalogue import SHARED_KPIS
from funnel.metrics.formatting import format_kpi
from funnel.metrics.snapshot import kpi_snapshot
from funnel.models import Person
from funnel.periods import current_quarter
from tests.funnel.factories import load, person

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


def test_the_page_shows_what_the_meeting_needs(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    person = waiting_mqls(timezone.now()).first()
    assert person is not None
    decide([person.pk], role_user("sales"), "reject", reason="no_timing", comment="来期")
    client.force_login(role_user("executive"))
    page = client.get("/alignment/meeting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    snapshot = kpi_snapshot(current_quarter(), timezone.now())
    for key in SHARED_KPIS:
        row = page.split(f'data-kpi="{key}"', 1)[1].split("</tr>", 1)[0]
        value = format_kpi(key, snapshot["kpis"][key])
        assert f'data-field="value">{value}<' in row, key
    assert "1 MQL rejected this week" in page and "来期" in page
    assert "missed their follow-up deadline this week" in page
    assert 'data-action="add-action"' not in page  # executives read


def test_rejections_made_in_the_sfa_count_with_those_made_in_the_product(
    client: Client, role_user: RoleUser
) -> None:
    """A team whose sales disqualify in Salesforce sees its week too; a disqualification older
    than seven days, one of a lead that never was an MQL, and one the product recorded later
    for the same person (its comment wins) are each shown as they should be."""
    now = timezone.now()
    ma, sfa = get_or_create_source("ma", "ma"), get_or_create_source("sfa", "sfa")
    day = dt.timedelta(days=1)
    load(
        ma,
        [
            person("m1", now - 30 * day, email="a@example.jp", mql_at=now - 20 * day),
            person("m2", now - 30 * day, email="b@example.jp", mql_at=now - 20 * day),
            person("m3", now - 30 * day, email="c@example.jp", mql_at=now - 20 * day),
            person("m4", now - 30 * day, email="d@example.jp"),
        ],
    )
    load(
        sfa,
        [
            person("s1", now - 19 * day, email="a@example.jp", owner="高橋 優子",
                   disqualified_at=now - 2 * day, disqualify_reason="no_budget"),
            person("s2", now - 19 * day, email="b@example.jp", owner="伊藤 翔太",
                   disqualified_at=now - 9 * day, disqualify_reason="no_timing"),
            person("s3", now - 19 * day, email="c@example.jp", owner="伊藤 翔太",
                   disqualified_at=now - 3 * day, disqualify_reason="competitor"),
            person("s4", now - 19 * day, email="d@example.jp", owner="伊藤 翔太",
                   disqualified_at=now - 1 * day, disqualify_reason="wrong_target"),
        ],
    )  # fmt: skip
    third = Person.objects.get(email_normalized="c@example.jp")
    decide([third.pk], role_user("sales"), "reject", reason="competitor", comment="他社で決定済み")
    client.force_login(role_user("marketing"))
    page = client.get("/alignment/meeting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 MQLs rejected this week" in page
    listed = page.split("data-rejected>", 1)[1].split("</ul>", 1)[0]
    assert listed.index("c@example.jp") < listed.index("a@example.jp")  # newest first
    assert "他社で決定済み" in listed and "高橋 優子" in listed
    assert "b@example.jp" not in listed and "d@example.jp" not in listed


def test_a_week_without_rejections_says_so(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("sales"))
    page = client.get("/alignment/meeting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "0 MQLs rejected this week" in page
    assert "No MQL was rejected in the last seven days" in page


def test_action_items_carry_over_until_done_and_meetings_are_kept(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("marketing"))
    client.post(
        "/alignment/meeting/actions/",
        {"title": "ウェビナーの質問項目を見直す", "owner": "佐藤", "team": "both",
         "due_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
    )  # fmt: skip
    item = ActionItem.objects.get()
    page = client.get("/alignment/meeting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-action-item="{item.pk}" class="overdue"' in page
    client.post(f"/alignment/meeting/actions/{item.pk}/done/")
    item.refresh_from_db()
    assert item.status == "done" and item.done_at is not None
    bad = client.post(
        "/alignment/meeting/actions/", {"title": "x", "owner": "y", "team": "x", "due_on": ""}
    )
    assert bad.status_code == 302 and ActionItem.objects.count() == 1
    client.post(
        "/alignment/meeting/record/",
        {
            "held_on": "2026-12-07",
            "attendees": "佐藤, 鈴木",
            "notes": "<b>MQL</b>",
            "decisions": "x",
        },
    )
    meeting = Meeting.objects.get()
    assert meeting.held_on == dt.date(2026, 12, 7)
    page = client.get("/alignment/meeting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "&lt;b&gt;MQL&lt;/b&gt;" in page and "佐藤, 鈴木" in page
    client.force_login(role_user("executive"))
    assert client.post("/alignment/meeting/record/", {"notes": "x"}).status_code == 403
