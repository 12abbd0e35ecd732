"""The MQL inbox and sales' decisions (kpi-spec section 2b, feedback): an acceptance is an
SQL entry of the product's own source at that moment, a rejection its disqualification
with a reason; both count in the KPIs like any source, survive re-imports of the other
sources, and are recorded with author and time. Roles, CSRF and bad input."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from feedback.models import Feedback
from feedback.selectors import waiting_mqls
from funnel.models import Campaign, Channel, Person, SourcePerson
from funnel.periods import current_quarter
from tests.funnel.factories import snapshot

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


def _import(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


def _waiting() -> list[Person]:
    return list(waiting_mqls(timezone.now()))


def _post(client: Client, **data: object) -> object:
    return client.post("/feedback/decide/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_the_inbox_lists_waiting_mqls_oldest_first(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    waiting = _waiting()
    assert waiting and all(
        p.mql_at and not (p.sql_at or p.opportunity_at or p.won_at or p.disqualified_at)
        for p in waiting
    )
    assert [p.mql_at for p in waiting] == sorted(p.mql_at for p in waiting)  # type: ignore[type-var]
    client.force_login(role_user("sales"))
    page = client.get("/feedback/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-person="{waiting[0].pk}"' in page and "overdue" in page
    assert 'data-action="accept"' in page


def test_accepting_is_an_sql_of_its_own_source_and_counts(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    first, second = _waiting()[:2]
    before = snapshot(current_quarter().name, as_of=timezone.now() + dt.timedelta(minutes=1))[
        "kpis"
    ]
    client.force_login(role_user("sales"))
    started = timezone.now()
    response = _post(client, person=[first.pk, second.pk], decision="accept")
    assert response.status_code == 302  # type: ignore[attr-defined]
    for person in (first, second):
        person.refresh_from_db()
        assert person.sql_at is not None and person.sql_at >= started
    after = snapshot(current_quarter().name, as_of=timezone.now() + dt.timedelta(minutes=1))["kpis"]
    assert after["sqls"] == before["sqls"] + 2
    assert first.pk not in {p.pk for p in _waiting()}
    entries = Feedback.objects.filter(person=first)
    assert [(f.decision, f.author.username) for f in entries] == [("accept", "sales-user")]
    assert SourcePerson.objects.filter(source__name="sales-feedback", person=first).count() == 1

    _import(example_dir)  # the MA and SFA again: the feedback stays
    first.refresh_from_db()
    assert first.sql_at is not None and first.sql_at >= started


def test_rejecting_needs_a_reason_and_disqualifies(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    person = _waiting()[0]
    client.force_login(role_user("sales"))
    response = _post(client, person=[person.pk], decision="reject", reason="")
    assert response.status_code == 302  # type: ignore[attr-defined]
    person.refresh_from_db()
    assert person.disqualified_at is None and not Feedback.objects.exists()
    page = client.get("/feedback/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Nothing was recorded: a rejection needs a reason." in page
    _post(client, person=[person.pk], decision="reject", reason="no_budget", comment="来期予算")
    person.refresh_from_db()
    assert person.disqualified_at is not None and person.disqualify_reason == "no_budget"
    (feedback,) = Feedback.objects.all()
    assert (feedback.reason, feedback.comment) == ("no_budget", "来期予算")
    assert person.pk not in {p.pk for p in _waiting()}


@pytest.mark.parametrize(
    ("role", "inbox", "decide"),
    [
        ("sales", 200, 302),
        ("ops_admin", 200, 403),
        ("marketing", 403, 403),
        ("executive", 403, 403),
    ],
)
def test_sales_decide_ops_admins_look_and_the_others_do_not(
    client: Client, role_user: RoleUser, example_dir: Path, role: str, inbox: int, decide: int
) -> None:
    _import(example_dir)
    person = _waiting()[0]
    client.force_login(role_user(role))
    page = client.get("/feedback/inbox/")
    assert page.status_code == inbox
    if inbox == 200:
        assert ('data-action="accept"' in page.content.decode()) == (role == "sales")
    assert _post(client, person=[person.pk], decision="accept").status_code == decide  # type: ignore[attr-defined]
    assert Feedback.objects.count() == (1 if decide == 302 else 0)


def test_csrf_is_required_and_next_stays_on_this_site(
    role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    person = _waiting()[0]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(role_user("sales"))
    assert (
        strict.post("/feedback/decide/", {"person": person.pk, "decision": "accept"}).status_code
        == 403
    )
    client = Client()
    client.force_login(User.objects.get(username="sales-user"))
    response = client.post(
        "/feedback/decide/",
        {"person": person.pk, "decision": "accept", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/feedback/inbox/"


def test_bad_choices_record_nothing(client: Client, role_user: RoleUser, example_dir: Path) -> None:
    _import(example_dir)
    client.force_login(role_user("sales"))
    lead_only = Person.objects.filter(mql_at__isnull=True).first()
    assert lead_only is not None
    for data in (
        {"person": ["x"], "decision": "accept"},
        {"person": [], "decision": "accept"},
        {"person": [lead_only.pk], "decision": "accept"},
        {"person": [_waiting()[0].pk], "decision": "maybe"},
        {"person": [_waiting()[0].pk], "decision": "reject", "reason": "rude"},
    ):
        assert _post(client, **data).status_code == 302  # type: ignore[attr-defined]
    assert not Feedback.objects.exists()
    assert not SourcePerson.objects.filter(source__name="sales-feedback").exists()


def test_the_feedback_source_name_is_the_products_own(example_dir: Path) -> None:
    with pytest.raises(CommandError, match="'sales-feedback' holds the sales feedback"):
        call_command(
            "import_csv", str(example_dir / "data" / "ma"), source="sales-feedback",
            stdout=StringIO(),
        )  # fmt: skip


def test_the_person_page_shows_the_feedback_and_takes_a_decision(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    person = _waiting()[0]
    client.force_login(role_user("sales"))
    url = f"/records/persons/{person.pk}/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No feedback from sales yet." in page and 'data-action="reject"' in page
    response = client.post(
        "/feedback/decide/",
        {"person": person.pk, "decision": "reject", "reason": "competitor", "comment": "<b>x</b>",
         "next": url},
    )  # fmt: skip
    assert response["Location"] == url
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "sales-user" in page and "Competitor" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert 'data-action="reject"' not in page  # handled: no longer waiting
    client.force_login(role_user("marketing"))
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Competitor" in page and 'action="/feedback/decide/"' not in page


def test_marketing_reads_the_decisions_by_channel_campaign_and_month(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    _import(example_dir)
    waiting = _waiting()
    sales = role_user("sales")
    from feedback.services import decide

    decide([p.pk for p in waiting[:3]], sales, "reject", reason="no_budget")
    decide([waiting[3].pk], sales, "reject", reason="wrong_target")
    decide([p.pk for p in waiting[4:6]], sales, "accept")
    expected: dict[str, list[int]] = {}
    for index, person in enumerate(waiting[:6]):
        key = person.channel.key if person.channel else ""
        counts = expected.setdefault(key, [0, 0])
        counts[0 if index >= 4 else 1] += 1  # [accepted, rejected]
    named = next(p.channel for p in waiting[:6] if p.channel)
    Channel.objects.filter(pk=named.pk).update(name="名前のあるチャネル")
    client.force_login(role_user("marketing"))
    page = client.get("/feedback/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "No budget" in html and "Wrong target" in html
    channels = html.split('data-table="channel"', 1)[1].split("</table>", 1)[0]
    row = channels.split(f'data-key="{named.key}"', 1)[1].split("</tr>", 1)[0]
    assert "<td>名前のあるチャネル</td>" in row  # the name an ops admin gave, not the key
    campaign = next(p.campaign for p in waiting[:6] if p.campaign)
    Campaign.objects.filter(pk=campaign.pk).update(name="春のウェビナー")
    html = client.get("/feedback/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    campaigns = html.split('data-table="campaign"', 1)[1].split("</table>", 1)[0]
    row = campaigns.split(f'data-key="{campaign.key}"', 1)[1].split("</tr>", 1)[0]
    assert "<td>春のウェビナー</td>" in row
    from feedback.selectors import feedback_summary

    summary = feedback_summary(current_quarter(), timezone.now() + dt.timedelta(seconds=1))
    assert {r.key: [r.accepted, r.rejected] for r in summary.by_channel} == expected
    assert sum(r.reasons.get("no_budget", 0) for r in summary.by_channel) == 3
    assert [(r.key, r.decided) for r in summary.by_month] == [
        (timezone.localtime().strftime("%Y-%m"), 6)
    ]
    assert summary.waiting == len(waiting) - 6
    assert 0 < summary.overdue <= summary.waiting
    rate = next(r for r in summary.by_channel if r.accepted).acceptance_rate
    assert rate is not None and 0 < rate <= 1
    bad = client.get("/feedback/?period=FY20XXQ9", HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and "FY20XXQ9" in bad.content.decode()


def test_the_quarterly_report_shows_the_feedback_in_every_format(
    client: Client, role_user: RoleUser, example_dir: Path
) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from feedback.services import decide

    _import(example_dir)
    waiting = _waiting()
    sales = role_user("sales")
    decide([p.pk for p in waiting[:2]], sales, "reject", reason="competitor")
    decide([waiting[2].pk], sales, "accept")
    client.force_login(role_user("executive"))
    as_of = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    url = f"/reports/quarterly/{current_quarter().name}/"
    html = client.get(url, {"as_of": as_of}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    section = html.split('id="feedback"', 1)[1].split("</section>", 1)[0]
    decided = [int(v) for v in re.findall(r'data-col="decided">(\d+)<', section)]
    assert sum(decided) == 3 and "Competitor" in section
    xlsx = client.get(url + "report.xlsx", {"as_of": as_of}, HTTP_ACCEPT_LANGUAGE="en")
    sheet = load_workbook(BytesIO(xlsx.content))["Sales feedback"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sum(row[1] for row in rows) == 3 and sum(row[3] for row in rows) == 2


def test_decisions_name_who_decided(client: Client, role_user: RoleUser, example_dir: Path) -> None:
    """People by their names (family name first for Japanese ones), not their logins."""
    from feedback.services import decide

    _import(example_dir)
    person = _waiting()[0]
    sales = role_user("sales")
    sales.first_name, sales.last_name = "健太", "田中"
    sales.save()
    decide([person.pk], sales, "reject", reason="no_budget")
    client.force_login(role_user("marketing"))
    quarter = current_quarter().name
    drill = {"period": quarter, "by": "", "key": "", "column": "decided"}
    for url, query in ((f"/records/persons/{person.pk}/", {}), ("/feedback/decisions/", drill)):
        page = client.get(url, query, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "田中 健太" in page and "sales-user" not in page.split("<main", 1)[-1], url
    meeting = client.get("/alignment/meeting/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rejected = meeting.split("data-rejected", 1)[1].split("</ul>", 1)[0]
    assert "田中 健太" in rejected
