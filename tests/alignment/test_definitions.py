"""The KPI definitions page and improvement proposals (alignment/): every KPI of the
catalogue with its definition in the reader's language and its last review; reviews by
marketing, sales and ops admins; proposals, comments and ops admins' decisions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from alignment.models import KpiReview, Proposal
from funnel.metrics.catalogue import CATALOGUE

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_kpi_is_defined_in_the_readers_language(
    client: Client, role_user: RoleUser, language: str
) -> None:
    client.force_login(role_user("executive"))
    page = client.get("/alignment/definitions/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    with translation.override(language):
        for key, entry in CATALOGUE.items():
            assert f'data-kpi="{key}"' in page
            assert str(entry.definition).replace("'", "&#x27;") in page, key
    assert 'data-action="review"' not in page  # executives read, they do not review


def test_a_review_records_who_reviewed_what(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("sales"))
    response = client.post(
        "/alignment/definitions/review/",
        {"quarter": "FY2026Q3", "kpi": ["mqls", "opportunity_rate", "nope"], "note": "OK"},
    )
    assert response.status_code == 302
    (review,) = KpiReview.objects.all()
    assert (review.quarter, review.kpis, review.reviewed_by.username) == (
        "FY2026Q3", ["mqls", "opportunity_rate"], "sales-user"
    )  # fmt: skip
    page = client.get("/alignment/definitions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page.split('data-kpi="mqls"', 1)[1].split("</tr>", 1)[0]
    assert "FY2026Q3 · sales-user" in row
    leads = page.split('data-kpi="leads"', 1)[1].split("</tr>", 1)[0]
    assert 'data-field="last-review">-<' in leads
    refused = client.post(
        "/alignment/definitions/review/",
        {"quarter": "2026-13", "kpi": ["mqls"]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 302 and KpiReview.objects.count() == 1
    client.force_login(role_user("executive"))
    assert client.post("/alignment/definitions/review/", {"quarter": "FY2026Q3"}).status_code == 403


def test_proposals_are_made_commented_and_decided(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("sales"))
    client.post(
        "/alignment/proposals/new/",
        {"kind": "criterion", "title": "MQL は資料DL 2回以上", "reason": "<i>1回では早すぎる</i>"},
    )
    proposal = Proposal.objects.get()
    assert (proposal.team, proposal.status) == ("sales", "open")
    client.force_login(role_user("marketing"))
    client.post(f"/alignment/proposals/{proposal.pk}/comment/", {"text": "賛成"})
    assert (
        client.post(
            f"/alignment/proposals/{proposal.pk}/decide/", {"decision": "accept"}
        ).status_code
        == 403
    )
    client.force_login(role_user("ops_admin"))
    page = client.get("/alignment/proposals/").content.decode()
    assert "&lt;i&gt;1回では早すぎる&lt;/i&gt;" in page and "賛成" in page
    assert "(営業)" in page and "(マーケティング)" in page  # teams by name, not by role key
    assert 'data-action="accept"' in page
    client.post(f"/alignment/proposals/{proposal.pk}/decide/", {"decision": "accept"})
    proposal.refresh_from_db()
    assert proposal.status == "accepted" and proposal.decided_by.username == "ops_admin-user"
    again = client.post(f"/alignment/proposals/{proposal.pk}/decide/", {"decision": "decline"})
    assert again.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    client.post("/alignment/proposals/new/", {"kind": "kpi", "title": "", "reason": "x"})
    assert Proposal.objects.count() == 1
