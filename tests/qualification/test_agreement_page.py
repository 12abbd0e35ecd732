"""The agreement page (qualification/views.py): every role reads it; marketing and sales
managers other than the proposer approve or reject a draft (POST, CSRF); the draft shows
what it changes against the version in effect, line by line."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from qualification import services
from qualification.criteria import parse_criteria, parse_criteria_text
from qualification.models import CriteriaVersion
from qualification.presenters import diff
from tests.qualification.test_criteria import SPEC_EXAMPLE

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


def _page(client: Client) -> str:
    return client.get("/agreement/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.parametrize("role", ["marketing", "sales", "executive", "ops_admin"])
def test_every_role_reads_it_and_only_the_teams_decide(
    client: Client, role_user: RoleUser, role: str
) -> None:
    draft = services.propose(parse_criteria_text(SPEC_EXAMPLE), None, "<script>x</script>")
    client.force_login(role_user(role))
    page = _page(client)
    assert f'data-version="{draft.pk}"' in page and "&lt;script&gt;x&lt;/script&gt;" in page
    deciding = role in ("marketing", "sales")
    assert ('data-action="approve"' in page) == deciding
    response = client.post(f"/agreement/{draft.pk}/decide/", {"decision": "approve"})
    assert response.status_code == (302 if deciding else 403)
    assert draft.decisions.count() == (1 if deciding else 0)


def test_two_teams_approve_on_the_page(client: Client, role_user: RoleUser) -> None:
    marketing, sales = role_user("marketing"), role_user("sales")
    draft = services.propose(parse_criteria_text(SPEC_EXAMPLE), marketing, "pricing")
    client.force_login(marketing)
    assert 'data-action="approve"' not in _page(client)  # the proposer
    client.force_login(sales)
    refused = client.post(
        f"/agreement/{draft.pk}/decide/", {"decision": "reject"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 302
    assert "Not recorded: say why: a rejection needs a comment." in _page(client)
    client.post(f"/agreement/{draft.pk}/decide/", {"decision": "approve", "comment": "ok"})
    draft.refresh_from_db()
    assert draft.status == "draft"  # one team so far (the proposer's does not count)
    second = User.objects.create_user("marketing-2", first_name="美咲", last_name="佐藤")
    second.groups.add(*marketing.groups.all())
    client.force_login(second)
    client.post(
        f"/agreement/{draft.pk}/decide/", {"decision": "approve"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    draft.refresh_from_db()
    assert draft.status == CriteriaVersion.Status.IN_EFFECT
    page = _page(client)
    assert "Both teams agreed: MQL 2026-10 is in effect." in page
    assert 'data-status="in_effect"' in page and "lead score is 60 or more" in page
    assert "(Sales)" in page and "(Marketing)" in page  # the teams by name, not by role key
    assert "佐藤 美咲 (Marketing)" in page  # the person by name, not by login


def test_a_draft_shows_what_it_changes() -> None:
    current = parse_criteria_text(SPEC_EXAMPLE)
    changed = json.loads(SPEC_EXAMPLE)
    changed["groups"][0]["all"][0]["value"] = 70
    changed["groups"].pop(1)
    lines = diff(current, parse_criteria(changed))
    assert [(line.change, line.text.strip()) for line in lines if line.change] == [
        ("removed", "• lead score is 60 or more"),
        ("added", "• lead score is 70 or more"),
        ("removed", "Group 2: all of"),
        ("removed", "• at least 2 × Download in the last 14 days"),
    ]
    unchanged = [line.text.strip() for line in lines if not line.change]
    assert "• industry is one of: IT, 製造" in unchanged
    first = diff(None, current)
    assert all(line.change == "added" for line in first)
