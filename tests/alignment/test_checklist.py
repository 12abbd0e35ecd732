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
    assert [key for key, holds in verdicts.items() if holds is None] == [
        "dashboard", "meetings", "success"
    ]  # fmt: skip


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
    assert verdicts["behaviour"] is True and verdicts["non_conversion"] is True
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

    services.propose(marketing, "kpi", "x", "y")
    assert _verdicts()["proposals"] is False
    services.propose(sales, "target", "x", "y")
    assert _verdicts()["proposals"] is True


def test_the_won_channels_item_wants_nine_in_ten_known(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    with translation.override("en"):
        result = next(r for r in evaluate() if r.item.key == "won_channels")
    share = float(result.verdict.evidence.split("%", 1)[0])
    assert result.verdict.holds is (share >= 90)


def test_items_the_data_cannot_tell_are_answered_by_hand(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("marketing"))
    client.post("/alignment/checklist/answer/", {"item": "meetings", "holds": "yes",
                                                    "note": "毎週月曜"})  # fmt: skip
    client.post("/alignment/checklist/answer/", {"item": "criteria", "holds": "yes"})
    verdicts = _verdicts()
    assert verdicts["meetings"] is True and verdicts["criteria"] is False  # data wins
    page = client.get("/alignment/checklist/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 of 15 hold" in page and "毎週月曜" in page and "marketing-user" in page
    client.force_login(role_user("executive"))
    assert client.post("/alignment/checklist/answer/", {"item": "meetings"}).status_code == 403
    assert client.get("/alignment/checklist/").status_code == 200


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
