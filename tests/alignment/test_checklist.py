"""The alignment checklist (alignment/checklist.py): each of the article's 15 items judged
from data on hand-made facts, met and not met; the others answered by hand, with who."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from alignment import services
from alignment.checklist import ITEMS, evaluate
from feedback.selectors import waiting_mqls
from feedback.services import decide
from funnel.models import Target
from funnel.periods import current_quarter, previous_quarter
from qualification import services as agreement
from qualification.criteria import parse_criteria_text
from reports.models import ReportCommentary
from tests.qualification.test_criteria import SPEC_EXAMPLE

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


def _verdicts() -> dict[str, bool | None]:
    return {result.item.key: result.verdict.holds for result in evaluate()}


def _evidence(key: str) -> str:
    return next(result.verdict.evidence for result in evaluate() if result.item.key == key)


def _target(period: str, kpi: str) -> None:
    quarter = current_quarter()
    Target.objects.create(
        period=period, start=quarter.start, end=quarter.end, kpi=kpi, value=Decimal(1)
    )


def test_there_are_the_articles_fifteen_items() -> None:
    assert len(ITEMS) == 15 and len({item.key for item in ITEMS}) == 15


def test_an_empty_product_meets_no_item_and_says_why() -> None:
    verdicts = _verdicts()
    assert not any(verdicts.values())
    assert [key for key, holds in verdicts.items() if holds is None] == []


def test_each_item_turns_when_its_facts_arrive(role_user: RoleUser, example_dir: Path) -> None:
    marketing, sales = role_user("marketing"), role_user("sales")
    now_quarter = current_quarter().name
    _target(now_quarter, "won_amount")
    assert _verdicts()["kpi_tree"] is False  # a revenue target alone is no tree
    _target(now_quarter, "opportunities")
    assert _verdicts()["kpi_tree"] is True
    assert _verdicts()["shared_kpis"] is False
    for key in ("opportunity_rate", "win_rate"):
        _target(now_quarter, key)
    assert _verdicts()["shared_kpis"] is True

    draft = agreement.propose(parse_criteria_text(SPEC_EXAMPLE), None)
    agreement.approve(draft, marketing)
    assert _verdicts()["criteria"] is False
    agreement.approve(draft, sales)
    assert _verdicts()["criteria"] is True

    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    verdicts = _verdicts()
    assert verdicts["linked"] is True  # the worked example's MA and SFA share persons
    # Activities are linked, but no sales user has opened a person page yet.
    assert verdicts["behaviour"] is False and verdicts["non_conversion"] is True
    assert verdicts["feedback"] is False
    decide([waiting_mqls(timezone.now()).first().pk], sales, "accept")  # type: ignore[union-attr]
    assert _verdicts()["feedback"] is True

    assert _verdicts()["reviews"] is False
    services.record_review(sales, now_quarter, ["mqls"])
    assert _verdicts()["reviews"] is True

    last = previous_quarter(current_quarter()).name
    ReportCommentary.objects.create(period=last, department="marketing", text="未達の理由")
    verdicts = _verdicts()
    assert verdicts["executives"] is True and verdicts["misses"] is False
    ReportCommentary.objects.create(period=last, department="sales", text="商談化の遅れ")
    assert _verdicts()["misses"] is True

    with translation.override("ja"):
        assert _evidence("proposals") == "どちらの部門からもまだ提案はありません"
    services.propose(marketing, "kpi", "x", "y")
    assert _verdicts()["proposals"] is False
    services.propose(sales, "target", "x", "y")
    assert _verdicts()["proposals"] is True
    with translation.override("ja"):  # the teams by name, not by role key
        assert _evidence("proposals") == "提案した部門: マーケティング, 営業"


def test_the_won_channels_item_wants_nine_in_ten_known(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    with translation.override("en"):
        result = next(r for r in evaluate() if r.item.key == "won_channels")
    share = float(result.verdict.evidence.split("%", 1)[0])
    assert result.verdict.holds is (share >= 90)


def test_every_item_is_told_by_data_so_no_answer_by_hand_is_taken(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("marketing"))
    client.post("/alignment/checklist/answer/", {"item": "meetings", "holds": "yes",
                                                    "note": "毎週月曜"})  # fmt: skip
    assert _verdicts()["meetings"] is False
    page = client.get("/alignment/checklist/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "0 of 15 hold" in page
    client.force_login(role_user("executive"))
    assert client.post("/alignment/checklist/answer/", {"item": "meetings"}).status_code == 403
    assert client.get("/alignment/checklist/").status_code == 200


def test_the_usage_items_turn_when_the_teams_use_the_pages(
    role_user: RoleUser, example_dir: Path
) -> None:
    """Dashboard seen by both teams, person pages read by sales, what converts read by both,
    reports opened by executives, meetings recorded in 3 of the last 4 weeks."""
    import datetime as dt

    from alignment.models import Meeting, PageView
    from funnel.models import Person

    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    clients, users = {}, {}
    for role in ("marketing", "sales", "executive"):
        users[role] = role_user(role)
        clients[role] = Client()
        clients[role].force_login(users[role])
    verdicts = _verdicts()
    assert not any(verdicts[k] for k in ("dashboard", "behaviour", "success", "meetings"))
    assert clients["marketing"].get("/").status_code == 200
    assert _verdicts()["dashboard"] is False  # one team only
    assert clients["sales"].get("/").status_code == 200
    assert _verdicts()["dashboard"] is True
    person = Person.objects.order_by("pk").first()
    assert person is not None
    clients["marketing"].get(f"/records/persons/{person.pk}/")
    assert _verdicts()["behaviour"] is False  # marketing reading is not sales reading
    clients["sales"].get(f"/records/persons/{person.pk}/")
    assert _verdicts()["behaviour"] is True
    clients["marketing"].get("/alignment/what-converts/")
    clients["sales"].get("/alignment/what-converts/")
    assert _verdicts()["success"] is True
    assert clients["sales"].get("/records/persons/999999/").status_code == 404
    assert PageView.objects.filter(page="person", role="sales").get().count == 1  # 404: none
    assert _verdicts()["executives"] is False
    assert clients["executive"].get("/reports/quarterly/").status_code in (200, 302)
    clients["executive"].get(f"/reports/quarterly/{previous_quarter(current_quarter()).name}/")
    assert _verdicts()["executives"] is True
    marketing = users["marketing"]
    today = timezone.localdate()
    for weeks_ago in (0, 1):
        Meeting.objects.create(held_on=today - dt.timedelta(weeks=weeks_ago), recorded_by=marketing)
    assert _verdicts()["meetings"] is False
    Meeting.objects.create(held_on=today - dt.timedelta(weeks=2), recorded_by=marketing)
    assert _verdicts()["meetings"] is True


def test_the_score_is_kept_over_time_and_reported(client: Client, role_user: RoleUser) -> None:
    from alignment.checklist import record_score
    from alignment.models import ChecklistScore
    from alignment.tasks import record_checklist_score_task

    assert record_checklist_score_task.apply().get() == 0
    quarter = current_quarter()
    _target(quarter.name, "won_amount")
    _target(quarter.name, "opportunities")
    score = record_score()
    assert (score.held, score.total, score.items["kpi_tree"]) == (1, 15, True)
    assert ChecklistScore.objects.count() == 1  # the same day: replaced
    client.force_login(role_user("executive"))
    page = client.get("/alignment/checklist/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 / 15" in page
    report = client.get(
        f"/reports/quarterly/{quarter.name}/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    section = report.split('id="checklist"', 1)[1].split("</section>", 1)[0]
    assert "1 of 15 items hold" in section and "✓ A KPI tree is built backwards" in section
    last = previous_quarter(quarter).name
    old = client.get(f"/reports/quarterly/{last}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The checklist was not recorded by the end of this quarter." in old
