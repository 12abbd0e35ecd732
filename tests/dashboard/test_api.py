"""REST API v1 (kpi_dashboard/api.py): the object of kpi-spec section 7, the same as
`manage.py kpis --format json`; login or token required."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

URL = "/api/v1/kpis/"
AS_OF = "2026-06-15T00:00:00+09:00"
PASSWORD = "a-long-test-password"
RoleUser = Callable[[str], User]

pytestmark = pytest.mark.django_db


@pytest.fixture
def example(example_dir: Path) -> None:
    for source in ("ma", "sfa"):
        call_command(
            "import_csv", str(example_dir / "data" / source), source=source, stdout=StringIO()
        )


@pytest.fixture
def user_client(client: Client, role_user: RoleUser) -> Client:
    client.force_login(role_user("marketing"))
    return client


def _command(**options: Any) -> dict[str, Any]:
    out = StringIO()
    call_command("kpis", format="json", stdout=out, **options)
    return json.loads(out.getvalue())


def test_it_returns_the_same_object_as_the_kpis_command(example: None, user_client: Client) -> None:
    response = user_client.get(URL, {"period": "FY2026Q1", "as_of": AS_OF})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == _command(period="FY2026Q1", as_of=AS_OF)


def test_it_returns_the_same_filtered_object_as_the_kpis_command(
    example: None, user_client: Client
) -> None:
    params = {"period": "FY2026Q1", "as_of": AS_OF, "origin": "marketing", "channel": "webinar"}
    response = user_client.get(URL, params)
    assert response.status_code == 200
    expected = _command(period="FY2026Q1", as_of=AS_OF, origin="marketing", channel="webinar")
    assert response.json() == expected
    assert response.json()["filters"] == {"origin": "marketing", "channel": "webinar"}


def test_it_matches_the_worked_example(
    example: None, example_dir: Path, user_client: Client
) -> None:
    expected = json.loads((example_dir / "expected-kpis.json").read_text())
    data = user_client.get(URL, {"period": "FY2026Q1", "as_of": AS_OF}).json()
    assert data["period"] == expected["period"]
    for key, value in expected["kpis"].items():
        assert data["kpis"][key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


@pytest.mark.parametrize("params", [{}, {"period": "FY2026Q1", "as_of": AS_OF}])
def test_it_refuses_an_anonymous_request(client: Client, params: dict[str, str]) -> None:
    response = client.get(URL, params)
    assert response.status_code in (401, 403)
    assert "kpis" not in response.json()


def test_it_accepts_a_session_login(client: Client, role_user: RoleUser) -> None:
    user = role_user("sales")
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(URL, {"period": "FY2026Q1", "as_of": AS_OF}).status_code == 200


def test_it_refuses_a_wrong_password(client: Client, role_user: RoleUser) -> None:
    user = role_user("sales")
    response = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200  # the form again
    assert client.get(URL).status_code in (401, 403)


def test_it_accepts_a_token(client: Client, role_user: RoleUser) -> None:
    token = Token.objects.create(user=role_user("executive"))
    response = client.get(
        URL, {"period": "FY2026Q1", "as_of": AS_OF}, HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 200
    assert response.json()["period"]["name"] == "FY2026Q1"


def test_it_refuses_a_wrong_token(client: Client, role_user: RoleUser) -> None:
    Token.objects.create(user=role_user("executive"))
    response = client.get(URL, HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"period": "FY2026Q5"}, "FY2026Q5"),
        ({"period": "2026-13"}, "2026-13"),
        ({"period": "FY2026Q1", "as_of": "04/05/2026"}, "04/05/2026"),
        ({"period": "FY2026Q1", "what_if_r_mql_sql": "abc"}, "what_if_r_mql_sql"),
        ({"period": "FY2026Q1", "what_if_r_mql_sql": "1.5"}, "what_if_r_mql_sql"),
        ({"period": "FY2026Q1", "what_if_cpa": "-1"}, "what_if_cpa"),
    ],
)
def test_it_answers_a_bad_question_with_400_and_a_message(
    user_client: Client, params: dict[str, str], named: str
) -> None:
    response = user_client.get(URL, params)
    assert response.status_code == 400
    assert named in response.json()["detail"]


def test_it_answers_a_what_if_on_the_mql_to_sql_rate(example: None, user_client: Client) -> None:
    params = {"period": "FY2026Q1", "as_of": AS_OF}
    base = user_client.get(URL, params).json()["tree"]
    changed = user_client.get(URL, {**params, "what_if_r_mql_sql": "1"}).json()["tree"]
    assert base["mqls"]["required"] is not None
    # With every MQL becoming an SQL, the required MQLs are the required SQLs.
    assert changed["mqls"]["required"] == changed["sqls"]["required"] == base["sqls"]["required"]
    assert changed["mqls"]["required"] < base["mqls"]["required"]
    assert changed["leads"]["required"] < base["leads"]["required"]
    assert changed["budget"]["required"] < base["budget"]["required"]
    assert changed["inputs"]["r_mql_sql"] == 1
    assert "r_mql_sql" in changed["inputs"]["overrides"]
    assert "r_mql_sql" not in base["inputs"]["overrides"]
    # Nodes above the changed rate are untouched.
    for key in ("won_amount", "won_deals", "opportunities", "sqls"):
        assert changed[key]["required"] == base[key]["required"], key


def test_it_uses_the_current_quarter_without_a_period(user_client: Client) -> None:
    response = user_client.get(URL, {"as_of": "2026-08-01T12:00:00+09:00"})
    assert response.status_code == 200
    assert response.json()["period"]["name"] == "FY2026Q2"


def test_it_requires_login_for_the_schema(client: Client) -> None:
    assert client.get("/api/v1/schema/").status_code in (401, 403)


def test_it_serves_an_openapi_document_naming_the_kpis_endpoint(user_client: Client) -> None:
    response = user_client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/kpis/" in document["paths"]
    names = {p["name"] for p in document["paths"]["/api/v1/kpis/"]["get"]["parameters"]}
    assert {"period", "as_of", "what_if_r_mql_sql"} <= names


def test_it_rejects_a_logout_post_without_csrf_token(role_user: RoleUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("marketing"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert client.get("/").status_code == 200  # still logged in


def test_it_accepts_a_logout_post_with_csrf_token(role_user: RoleUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("marketing"))
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # logged out: back to the login page
