"""The home page (kpi_dashboard/views.py `home`): the shared KPIs for every role."""

from __future__ import annotations

import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from funnel.metrics.catalogue import SHARED_KPIS, kpi

RoleUser = Callable[[str], User]
ROLES = ("marketing", "sales", "executive", "ops_admin")

pytestmark = pytest.mark.django_db


def _html_lang(html: str) -> str:
    match = re.search(r"<html[^>]*\blang=\"([^\"]+)\"", html)
    assert match, "no <html lang=...>"
    return match[1]


def _card_value(html: str, key: str) -> str:
    match = re.search(rf'data-kpi="{key}"[^>]*>.*?class="(?:value|num)">([^<]*)<', html, flags=re.S)
    assert match, f"no value shown for {key}"
    return match[1].strip()


def test_it_redirects_an_anonymous_visitor_to_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "next=/" in response["Location"]


def test_it_shows_the_login_page(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_it_shows_the_shared_kpis_to_every_role(
    client: Client, role_user: RoleUser, example_dir: Path, role: str
) -> None:
    for source in ("ma", "sfa"):
        call_command(
            "import_csv", str(example_dir / "data" / source), source=source, stdout=StringIO()
        )
    client.force_login(role_user(role))
    response = client.get(
        "/", {"period": "FY2026Q1", "as_of": "2026-06-15T00:00:00+09:00"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "FY2026Q1" in html
    with translation.override("en"):
        for key in SHARED_KPIS:
            assert f'data-kpi="{key}"' in html
            assert str(kpi(key).label) in html, key
    # The worked example: 5 opportunities, win rate 60.0%, won amount ¥9,500,000.
    assert _card_value(html, "opportunities") == "5"
    assert _card_value(html, "win_rate") == "60.0%"
    assert _card_value(html, "won_amount") == "¥9,500,000"


def test_it_shows_the_current_quarter_by_default(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("sales"))
    response = client.get("/", {"as_of": "2026-08-01T12:00:00+09:00"})
    assert response.status_code == 200
    assert "FY2026Q2" in response.content.decode()


def test_it_renders_an_empty_database_with_dashes_for_null_ratios(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("executive"))
    response = client.get("/", {"period": "FY2026Q1", "as_of": "2026-06-15T00:00:00+09:00"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Traceback" not in html
    for key in ("win_rate", "opportunity_rate", "cpa", "cost_per_opportunity", "average_deal_size"):
        assert _card_value(html, key) == "-", key
    assert _card_value(html, "opportunities") == "0"


def test_it_answers_a_bad_period_with_400_and_a_message(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("marketing"))
    response = client.get("/", {"period": "FY2026Q9"})
    assert response.status_code == 400
    assert "FY2026Q9" in response.content.decode()


@pytest.mark.parametrize(("accept", "lang"), [("en", "en"), ("ja", "ja"), ("en-US,en;q=0.9", "en")])
def test_it_follows_the_browser_language(
    client: Client, role_user: RoleUser, accept: str, lang: str
) -> None:
    client.force_login(role_user("marketing"))
    response = client.get("/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    assert _html_lang(response.content.decode()) == lang


def test_it_switches_the_language(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("sales"))
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="ja")
    assert english.status_code == 200
    assert _html_lang(english.content.decode()) == "en"
    client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    japanese = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert _html_lang(japanese.content.decode()) == "ja"


def test_it_shows_the_language_switch_on_the_login_page(client: Client) -> None:
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert _html_lang(html) == "en"
    assert 'action="/i18n/setlang/"' in html
