"""The agreement on criteria (kpi-spec section 2b): a draft takes effect when one marketing
and one sales user, neither its proposer, approve it, at that moment; a version decided on
is never edited; the version in effect at an as_of; the `criteria` command and admin."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from qualification import services
from qualification.criteria import parse_criteria_text
from qualification.models import CriteriaVersion
from qualification.selectors import version_in_effect
from tests.qualification.test_criteria import SPEC_EXAMPLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(role_user: Callable[[str], User]) -> dict[str, User]:
    found = {role: role_user(role) for role in ("marketing", "sales", "executive", "ops_admin")}
    second = User.objects.create_user("marketing-2", password="a-long-test-password")
    second.groups.add(Group.objects.get(name="marketing"))
    found["marketing-2"] = second
    return found


def _draft(by: User | None = None) -> CriteriaVersion:
    return services.propose(parse_criteria_text(SPEC_EXAMPLE), by, "pricing visits convert")


def test_two_teams_other_than_the_proposer_put_a_draft_in_effect(people: dict[str, User]) -> None:
    draft = _draft(people["marketing"])
    with pytest.raises(services.AgreementRefused, match="proposer cannot decide"):
        services.approve(draft, people["marketing"])
    services.approve(draft, people["marketing-2"], "OK from marketing")
    assert draft.status == "draft" and draft.effective_at is None
    with pytest.raises(services.AgreementRefused, match="only marketing and sales"):
        services.approve(draft, people["executive"])
    with pytest.raises(services.AgreementRefused, match="only marketing and sales"):
        services.approve(draft, people["ops_admin"])
    before = timezone.now()
    services.approve(draft, people["sales"], "sales agrees")
    assert draft.status == "in_effect" and draft.effective_at is not None
    assert draft.effective_at >= before
    assert [(d.role, d.decision) for d in draft.decisions.all()] == [
        ("marketing", "approve"),
        ("sales", "approve"),
    ]
    with pytest.raises(services.AgreementRefused, match="never edited"):
        services.revise(draft, parse_criteria_text(SPEC_EXAMPLE))
    with pytest.raises(services.AgreementRefused, match="already"):
        services.reject(draft, people["marketing-2"], "too late")


def test_one_team_cannot_approve_twice(people: dict[str, User]) -> None:
    draft = _draft(people["sales"])
    services.approve(draft, people["marketing"])
    with pytest.raises(services.AgreementRefused, match="your team has approved"):
        services.approve(draft, people["marketing-2"])
    with pytest.raises(services.AgreementRefused, match="decided on this draft already"):
        services.approve(draft, people["marketing"])
    with pytest.raises(services.AgreementRefused, match="has an approval already"):
        services.revise(draft, parse_criteria_text(SPEC_EXAMPLE))


def test_a_rejection_needs_a_reason_and_ends_the_draft(people: dict[str, User]) -> None:
    draft = _draft(people["marketing"])
    with pytest.raises(services.AgreementRefused, match="needs a comment"):
        services.reject(draft, people["sales"], "  ")
    services.reject(draft, people["sales"], "webinar leads are students")
    assert draft.status == "rejected"
    with pytest.raises(services.AgreementRefused, match="rejected already"):
        services.approve(draft, people["marketing-2"])


def test_the_version_in_effect_at_an_as_of(people: dict[str, User]) -> None:
    first, second = _draft(), _draft()
    assert version_in_effect("mql", timezone.now()) is None
    for version in (first, second):
        services.approve(version, people["marketing"])
        services.approve(version, people["sales"])
    moment = timezone.now()
    CriteriaVersion.objects.filter(pk=first.pk).update(effective_at=moment - dt.timedelta(days=30))
    CriteriaVersion.objects.filter(pk=second.pk).update(effective_at=moment - dt.timedelta(days=2))
    assert version_in_effect("mql", moment - dt.timedelta(days=31)) is None
    assert version_in_effect("mql", moment - dt.timedelta(days=30)) == first
    assert version_in_effect("mql", moment - dt.timedelta(days=3)) == first
    assert version_in_effect("mql", moment) == second
    assert version_in_effect("sql", moment) is None


def _call(*args: str) -> str:
    out = StringIO()
    call_command("criteria", *args, stdout=out)
    return out.getvalue()


def test_the_command_imports_exports_lists_and_decides(
    people: dict[str, User], tmp_path: Path
) -> None:
    path = tmp_path / "mql.json"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    pk = _call("import", str(path), "--user", "marketing-user", "--reason", "pricing").strip()
    assert json.loads(_call("export", pk)) == json.loads(SPEC_EXAMPLE)
    assert f"{pk}\tmql\tdraft\tMQL 2026-10\tproposed by marketing-user" in _call("list")
    _call("approve", pk, "--user", "marketing-2")
    assert "in_effect since" in _call("approve", pk, "--user", "sales-user")
    with pytest.raises(CommandError, match="proposer cannot decide"):
        second = _call("import", str(path), "--user", "sales-user").strip()
        _call("approve", second, "--user", "sales-user")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "mql.json: not valid JSON (line 1, column 2)"),
        (
            '{"stage": "mql", "name": "x", "groups": [{"all": [{"field": "title"}]}]}',
            "mql.json: groups[0].all[0].field: one of industry",
        ),
    ],
)
def test_the_command_names_the_file_and_the_place_of_a_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "mql.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(message)):
        _call("import", str(path))
    assert CriteriaVersion.objects.count() == 0
    with pytest.raises(CommandError, match="no criteria version 99"):
        _call("export", "99")
    with pytest.raises(CommandError, match=r"missing\.json: No such file"):
        _call("import", str(tmp_path / "missing.json"))
    draft = _draft()
    with pytest.raises(CommandError, match="--user: no user 'nobody'"):
        _call("approve", str(draft.pk), "--user", "nobody")


def test_an_ops_admin_drafts_in_admin_and_a_decided_version_stays_as_it_is(
    client: Client, people: dict[str, User], settings: Any
) -> None:
    ops = people["ops_admin"]
    ops.is_staff = True
    ops.save()
    client.force_login(ops)
    inline = {"decisions-TOTAL_FORMS": "0", "decisions-INITIAL_FORMS": "0"}
    bad = client.post(
        "/admin/qualification/criteriaversion/add/",
        {"text": "{", "reason": "", **inline},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 200 and "Not valid JSON" in bad.content.decode()
    response = client.post(
        "/admin/qualification/criteriaversion/add/",
        {"text": SPEC_EXAMPLE, "reason": "why", **inline},
    )
    assert response.status_code == 302
    version = CriteriaVersion.objects.get()
    assert version.proposed_by == ops and version.status == "draft"
    assert version.definition == json.loads(SPEC_EXAMPLE)
    services.approve(version, people["marketing"])
    services.approve(version, people["sales"])
    page = client.get(f"/admin/qualification/criteriaversion/{version.pk}/change/")
    assert page.status_code == 200 and 'name="text"' not in page.content.decode()
    refused = client.post(
        f"/admin/qualification/criteriaversion/{version.pk}/change/",
        {"reason": "changed", **inline},
    )
    assert refused.status_code == 403
    version.refresh_from_db()
    assert version.reason == "why"
    delete = client.post(
        f"/admin/qualification/criteriaversion/{version.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403 and CriteriaVersion.objects.filter(pk=version.pk).exists()


def test_an_ops_admin_builds_criteria_from_rows_without_writing_json(
    client: Client, people: dict[str, User]
) -> None:
    """The admin form a non-programmer uses: one condition per row, groups by number, the
    activity types and attributes offered as choices; a wrong row is named by its number."""
    ops = people["ops_admin"]
    ops.is_staff = True
    ops.save()
    client.force_login(ops)
    inline = {"decisions-TOTAL_FORMS": "0", "decisions-INITIAL_FORMS": "0"}
    page = client.get("/admin/qualification/criteriaversion/add/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'name="c0_kind"' in html and 'value="download"' in html and "company size" in html
    rows = {
        "criteria_stage": "mql",
        "criteria_name": "Rows",
        "reason": "built by hand",
        "c0_group": "1", "c0_kind": "score", "c0_score": "60",
        "c1_group": "1", "c1_kind": "attribute", "c1_field": "industry", "c1_op": "in",
        "c1_values": "IT, 製造",
        "c2_group": "2", "c2_kind": "behaviour", "c2_types": ["download", "web_visit"],
        "c2_at_least": "2", "c2_days": "14", "c2_contains": "/pricing",
        **inline,
    }  # fmt: skip
    wrong = client.post(
        "/admin/qualification/criteriaversion/add/",
        {**rows, "c2_types": []},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert wrong.status_code == 200 and "Row 3" in wrong.content.decode()
    assert not CriteriaVersion.objects.exists()
    saved = client.post("/admin/qualification/criteriaversion/add/", rows)
    assert saved.status_code == 302
    version = CriteriaVersion.objects.get()
    assert version.definition == {
        "stage": "mql",
        "name": "Rows",
        "groups": [
            {
                "all": [
                    {"field": "lead_score", "op": "gte", "value": 60},
                    {"field": "industry", "op": "in", "value": ["IT", "製造"]},
                ]
            },
            {
                "all": [
                    {
                        "activity": ["download", "web_visit"],
                        "detail_contains": "/pricing",
                        "at_least": 2,
                        "within_days": 14,
                    }
                ]
            },
        ],
    }
    # The draft opens with its rows filled in; changing one row revises it.
    change = client.get(f"/admin/qualification/criteriaversion/{version.pk}/change/")
    assert 'name="c1_values" value="IT, 製造"' in change.content.decode()
    client.post(
        f"/admin/qualification/criteriaversion/{version.pk}/change/",
        {**rows, "c0_score": "70"},
    )
    version.refresh_from_db()
    assert version.definition["groups"][0]["all"][0]["value"] == 70
