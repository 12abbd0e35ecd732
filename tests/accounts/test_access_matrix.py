"""The access matrix of kpi_dashboard/access.py, walked over the WHOLE URL list for every role.

Every pattern `get_resolver()` knows must have an entry here: the product's own URLs in
EXPECTED, the admin site's own pages in ADMIN_SITE, and the pages of every registered admin
model by the rule of `admin_model_rules`. A new URL without an entry fails
`test_every_url_pattern_has_an_expectation`, so no page is ever left out of the matrix.

The roles are written out here (not imported from access.py), so a change of the matrix in
code has to be a change of this table too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db.models import Model
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from alignment.models import Alert, AlertSettings
from feedback.models import RejectionReason
from funnel.models import (
    CompanyHoliday,
    Opportunity,
    Person,
    QualificationSetting,
    TreeOverride,
)
from integrations.connections import add_connection
from integrations.models import Connection, CsvUpload, SyncRun
from qualification import services
from qualification.criteria import parse_criteria_text
from qualification.models import CriteriaVersion
from reports.pdf import pdf_missing
from tests.qualification.test_criteria import SPEC_EXAMPLE

RoleUser = Callable[[str], User]

ANONYMOUS, NO_ROLE, STAFF_NO_ROLE = "anonymous", "no_role", "staff_without_role"
MARKETING, SALES, EXECUTIVE, OPS_ADMIN = "marketing", "sales", "executive", "ops_admin"
SUPERUSER = "superuser"
ROLES = (ANONYMOUS, NO_ROLE, STAFF_NO_ROLE, MARKETING, SALES, EXECUTIVE, OPS_ADMIN, SUPERUSER)

EVERY_ROLE = frozenset({MARKETING, SALES, EXECUTIVE, OPS_ADMIN})
RECORD_ROLES = frozenset({MARKETING, SALES, OPS_ADMIN})
CONNECTION_ROLES = frozenset({MARKETING, SALES, OPS_ADMIN})
UPLOAD_ROLES = frozenset({MARKETING, OPS_ADMIN})
INBOX_ROLES = frozenset({SALES, OPS_ADMIN})
# An upload is its uploader's (the fixture's is the ops admin's) and any ops admin's.
UPLOADER = frozenset({OPS_ADMIN})
# Apps whose models the ops admins manage (connections, criteria, targets, overrides); the
# rest of the admin (users, groups, API tokens) is the superuser's.
OPS_ADMIN_APPS = frozenset(
    {"funnel", "integrations", "qualification", "feedback", "alignment", "axes"}
)
# History rows are written by ingest only: nobody adds them by hand.
# Rows no one adds by hand: histories, and django-axes' record of login attempts.
READ_ONLY_HISTORY = frozenset(
    {
        "funnel.stageentry",
        "funnel.opportunitychange",
        "axes.accessattempt",
        "axes.accesslog",
        "axes.accessfailurelog",
        # The alerts raised, and the alert settings' one row (created when first read).
        "alignment.alert",
        "alignment.alertsettings",
    }
)

PERIOD = "FY2026Q1"
AS_OF = "2026-06-15T00:00:00+09:00"
QUESTION = "?" + urlencode({"period": PERIOD, "as_of": AS_OF})
LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"

pytestmark = pytest.mark.django_db


# --- expectations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Behind `role_required`: anonymous -> the login page, a role in `roles` (or a
    superuser) -> `ok`, any other logged-in user -> 403."""

    roles: frozenset[str]
    ok: int = 200


@dataclass(frozen=True)
class Api:
    """DRF: anonymous -> 401 or 403, a role in `roles` (or a superuser) -> 200, else 403."""

    roles: frozenset[str]


@dataclass(frozen=True)
class Public:
    """The same answer for everybody (the login page)."""

    status: int


@dataclass(frozen=True)
class PostOnly:
    """GET is refused (405) for everybody; the POST is checked by role separately."""


@dataclass(frozen=True)
class Admin:
    """A page of the admin site: who may use the admin (ops admins and superusers) gets
    `ok` (or `superuser_ok` for a superuser); everybody else is sent to `refused_to` (the
    admin login), never given a 200."""

    ok: int
    superuser_ok: int | None = None
    refused_to: str = ADMIN_LOGIN_URL


@dataclass(frozen=True)
class AdminLogin:
    """The admin login form: shown to whoever may not use the admin (200), a redirect to
    the admin index for who may."""


Rule = Page | Api | Public | PostOnly | Admin | AdminLogin

# The product's own URLs, by pattern name (what the URL is filled with: `url_of`).
EXPECTED: dict[str, Rule] = {
    "home": Page(EVERY_ROLE),
    "login": Public(200),
    "logout": PostOnly(),
    "set_language": PostOnly(),
    "reports:quarterly-latest": Page(EVERY_ROLE, ok=302),
    "reports:quarterly": Page(EVERY_ROLE),
    # 503 with what to install where the PDF's libraries are missing (reports/pdf.py).
    "reports:quarterly-pdf": Page(EVERY_ROLE, ok=200 if pdf_missing() is None else 503),
    "reports:quarterly-xlsx": Page(EVERY_ROLE),
    "reports:commentary": PostOnly(),
    "records:persons": Page(RECORD_ROLES),
    "records:person": Page(RECORD_ROLES),
    "records:opportunities": Page(RECORD_ROLES),
    "records:opportunity": Page(RECORD_ROLES),
    "integrations:connections": Page(CONNECTION_ROLES),
    "integrations:sync": PostOnly(),
    "integrations:upload": Page(UPLOAD_ROLES),
    "integrations:upload_preview": Page(UPLOADER),
    "integrations:upload_confirm": PostOnly(),
    "integrations:upload_problems": Page(UPLOADER),
    "integrations:run": Page(CONNECTION_ROLES),
    "integrations:run_problems": Page(CONNECTION_ROLES),
    "feedback:summary": Page(EVERY_ROLE),
    "feedback:decisions": Page(RECORD_ROLES),
    "qualification:agreement": Page(EVERY_ROLE),
    "alignment:definitions": Page(EVERY_ROLE),
    "alignment:review": PostOnly(),
    "alignment:checklist": Page(EVERY_ROLE),
    "alignment:patterns": Page(EVERY_ROLE),
    "alignment:why_not": Page(EVERY_ROLE),
    "alignment:why_not_persons": Page(RECORD_ROLES),
    "alignment:why_not_person_list": Page(RECORD_ROLES),
    "alignment:meeting": Page(EVERY_ROLE),
    "alignment:add_action": PostOnly(),
    "alignment:close_action": PostOnly(),
    "alignment:record_meeting": PostOnly(),
    "alignment:answer": PostOnly(),
    "alignment:proposals": Page(EVERY_ROLE),
    "alignment:propose": PostOnly(),
    "alignment:comment": PostOnly(),
    "alignment:decide": PostOnly(),
    "qualification:decide": PostOnly(),
    "feedback:inbox": Page(INBOX_ROLES),
    "feedback:decide": PostOnly(),
    "api-kpis": Api(EVERY_ROLE),
    "api-schema": Api(EVERY_ROLE),
}

# The admin site's own pages (not a model's), by name; the catch-all by its route.
ADMIN_CATCH_ALL = "admin/(?P<url>.*)$"
ADMIN_SITE: dict[str, Rule] = {
    "admin:index": Admin(200),
    "admin:login": AdminLogin(),
    # Django's LogoutView is POST-only; admin_view sends a non-admin to the index (which
    # sends them on to the login) rather than to a login that would come back to logout.
    "admin:logout": Admin(405, refused_to="/admin/"),
    "admin:password_change": Admin(200),
    "admin:password_change_done": Admin(200),
    # No admin declares autocomplete_fields: any autocomplete query is refused.
    "admin:autocomplete": Admin(403),
    "admin:jsi18n": Admin(200),
    # No model has get_absolute_url: "view on site" has nowhere to go.
    "admin:view_on_site": Admin(404),
    "admin:app_list": Admin(200),
    ADMIN_CATCH_ALL: Admin(404),
    # UserAdmin's own extra page; users are the superuser's, not the ops admins'.
    "admin:auth_user_password_change": Admin(403, superuser_ok=200),
}
ADMIN_MODEL_ACTIONS = ("changelist", "add", "change", "history", "delete", "object")


def admin_model_rules(model: type[Model]) -> dict[str, Rule]:
    """The rule of each admin page of one registered model, keyed like `pattern_key`."""
    label = model._meta.label_lower
    ops = model._meta.app_label in OPS_ADMIN_APPS
    read_only = label in READ_ONLY_HISTORY

    def page(ops_ok: int, superuser_ok: int = 200) -> Admin:
        return Admin(ops_ok if ops else 403, superuser_ok)

    rules: dict[str, Rule] = {
        "changelist": page(200),
        "add": page(403, 403) if read_only else page(200),
        "change": page(200),  # read-only rows open in view mode
        "history": page(200),
        "delete": page(200),  # the confirmation page; GET deletes nothing
        "object": Admin(302),  # <id>/ redirects to <id>/change/ before any model check
    }
    return {f"{label}:{action}": rule for action, rule in rules.items()}


# --- the URL list -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str | None
    namespace: str

    @property
    def key(self) -> str:
        return f"{self.namespace}:{self.name}" if self.namespace else (self.name or self.route)


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Pattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            assert isinstance(pattern, URLPattern)
            yield Pattern(prefix + str(pattern.pattern), pattern.name, namespace)


def registered_models() -> list[type[Model]]:
    return sorted(admin.site._registry, key=lambda model: model._meta.label_lower)


def admin_model_of(pattern: Pattern) -> tuple[type[Model], str] | None:
    """(model, action) for a page of a registered model's ModelAdmin, else None."""
    for model in registered_models():
        meta = model._meta
        base = f"admin/{meta.app_label}/{meta.model_name}/"
        if not pattern.route.startswith(base):
            continue
        if pattern.name is None and pattern.route == base + "<path:object_id>/":
            return model, "object"
        for action in ADMIN_MODEL_ACTIONS:
            if pattern.name == f"{meta.app_label}_{meta.model_name}_{action}":
                return model, action
    return None


def pattern_key(pattern: Pattern) -> str:
    found = admin_model_of(pattern)
    if found is not None:
        model, action = found
        return f"{model._meta.label_lower}:{action}"
    if pattern.namespace == "admin" and pattern.name is None:
        return pattern.route
    return pattern.key


def all_patterns() -> list[Pattern]:
    return list(walk(get_resolver().url_patterns))


def expectations() -> dict[str, Rule]:
    rules: dict[str, Rule] = {**EXPECTED, **ADMIN_SITE}
    for model in registered_models():
        rules.update(admin_model_rules(model))
    return rules


# --- data: the worked example, plus one row of every admin model it leaves empty -----------


@dataclass(frozen=True)
class Dataset:
    person_id: int
    opportunity_id: int
    objects: dict[str, Any]  # label_lower -> a pk of that model


def _one_of_each_admin_model(users: dict[str, User]) -> None:
    TreeOverride.objects.get_or_create(period=PERIOD, input="cpa", defaults={"value": 10000})
    CompanyHoliday.objects.get_or_create(date="2026-08-14", defaults={"name": "お盆"})
    QualificationSetting.objects.get_or_create(stage="mql")
    SyncRun.objects.get_or_create(source_name="ma")
    CsvUpload.objects.get_or_create(
        token="matrix-upload", defaults={"source_name": "ma", "uploaded_by": users[OPS_ADMIN]}
    )
    if not Connection.objects.exists():
        add_connection("hs-matrix", "hubspot", {"token": "pat-test"})
    Token.objects.get_or_create(user=users[SUPERUSER])
    AlertSettings.objects.get_or_create(pk=1)
    RejectionReason.objects.get_or_create(
        code="matrix", defaults={"label": "検証用", "counts_as": "other"}
    )
    Alert.objects.get_or_create(key="opportunities", day="2026-06-15", defaults={"value": "x"})
    if not CriteriaVersion.objects.exists():
        services.propose(parse_criteria_text(SPEC_EXAMPLE), users[OPS_ADMIN], "matrix")
    attempt = {"username": "someone", "ip_address": "203.0.113.9", "user_agent": "test"}
    AccessAttempt.objects.get_or_create(**attempt, defaults={"failures_since_start": 1})
    AccessLog.objects.get_or_create(**attempt)
    AccessFailureLog.objects.get_or_create(**attempt)


@pytest.fixture
def users(db: None, role_user: RoleUser) -> dict[str, User]:
    found = {role: role_user(role) for role in (MARKETING, SALES, EXECUTIVE, OPS_ADMIN)}
    found[NO_ROLE] = User.objects.create_user("no-role", password="a-long-test-password")
    found[STAFF_NO_ROLE] = User.objects.create_user(
        "staff-no-role", password="a-long-test-password", is_staff=True
    )
    found[SUPERUSER] = User.objects.create_superuser("root", password="a-long-test-password")
    return found


@pytest.fixture
def dataset(example_dir: Path, users: dict[str, User]) -> Dataset:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    _one_of_each_admin_model(users)
    objects = {}
    for model in registered_models():
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"no {model._meta.label} row: create one in the fixture"
        objects[model._meta.label_lower] = first.pk
    person = Person.objects.order_by("pk").first()
    opportunity = Opportunity.objects.order_by("pk").first()
    assert person is not None and opportunity is not None
    return Dataset(person.pk, opportunity.pk, objects)


def client_for(role: str, users: dict[str, User]) -> Client:
    client = Client()
    if role != ANONYMOUS:
        client.force_login(users[role])
    return client


# --- concrete URLs ------------------------------------------------------------------------


def url_of(pattern: Pattern, data: Dataset) -> str:
    key = pattern_key(pattern)
    found = admin_model_of(pattern)
    if found is not None:
        model, action = found
        meta = model._meta
        pk = data.objects[meta.label_lower]
        if action == "object":
            return f"/admin/{meta.app_label}/{meta.model_name}/{pk}/"
        ids = [pk] if action in ("change", "history", "delete") else []
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}", args=ids)
    kwargs: dict[str, Any] = {
        "reports:quarterly": {"period": PERIOD},
        "reports:quarterly-pdf": {"period": PERIOD},
        "reports:quarterly-xlsx": {"period": PERIOD},
        "reports:commentary": {"period": PERIOD, "department": "marketing"},
        "records:person": {"person_id": data.person_id},
        "records:opportunity": {"opportunity_id": data.opportunity_id},
        "integrations:sync": {"connection_id": data.objects["integrations.connection"]},
        "integrations:upload_preview": {"token": "matrix-upload"},
        "qualification:decide": {"version_id": data.objects["qualification.criteriaversion"]},
        "alignment:comment": {"proposal_id": 1},
        "alignment:close_action": {"item_id": 1},
        "alignment:decide": {"proposal_id": 1},
        "integrations:upload_confirm": {"token": "matrix-upload"},
        "integrations:upload_problems": {"token": "matrix-upload"},
        "integrations:run": {"run_id": data.objects["integrations.syncrun"]},
        "integrations:run_problems": {"run_id": data.objects["integrations.syncrun"]},
        "admin:app_list": {"app_label": "funnel"},
        "admin:auth_user_password_change": {"id": data.objects["auth.user"]},
        "admin:view_on_site": {
            "content_type_id": ContentType.objects.get_for_model(Person).pk,
            "object_id": data.person_id,
        },
    }
    if key == ADMIN_CATCH_ALL:
        return "/admin/no-such-page/"
    if key.startswith("admin:"):
        return reverse(key, kwargs=kwargs.get(key))
    return reverse(key, kwargs=kwargs.get(key)) + QUESTION


# --- what each role should get ------------------------------------------------------------


def may(role: str, roles: frozenset[str]) -> bool:
    return role == SUPERUSER or role in roles


def may_use_admin(role: str) -> bool:
    return role in (OPS_ADMIN, SUPERUSER)


def redirects_to(response: HttpResponseBase, prefix: str) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path.startswith(prefix)


def problem(rule: Rule, role: str, response: HttpResponseBase) -> str | None:
    """What is wrong with `response` for `role` under `rule`, or None when it is right."""
    status = response.status_code
    if isinstance(rule, Public):
        return None if status == rule.status else f"expected {rule.status}"
    if isinstance(rule, PostOnly):
        return None if status == 405 else "expected 405 (POST only)"
    if isinstance(rule, Page):
        if role == ANONYMOUS:
            return None if redirects_to(response, LOGIN_URL) else "expected a redirect to login"
        if may(role, rule.roles):
            if status != rule.ok:
                return f"expected {rule.ok}"
            if status == 302 and redirects_to(response, LOGIN_URL):
                return "an allowed role was sent to the login page"
            return None
        return None if status == 403 else "expected 403"
    if isinstance(rule, Api):
        if role == ANONYMOUS:
            return None if status in (401, 403) else "expected 401 or 403"
        if may(role, rule.roles):
            return None if status == 200 else "expected 200"
        return None if status == 403 else "expected 403"
    if isinstance(rule, AdminLogin):
        if may_use_admin(role):
            return None if redirects_to(response, "/admin/") else "expected a redirect to admin"
        return None if status == 200 else "expected the admin login form (200)"
    assert isinstance(rule, Admin)
    if may_use_admin(role):
        wanted = rule.superuser_ok if role == SUPERUSER and rule.superuser_ok else rule.ok
        if status != wanted:
            return f"expected {wanted}"
        if status == 302 and redirects_to(response, ADMIN_LOGIN_URL):
            return "an admin was sent to the admin login"
        return None
    if status == 200:
        return "expected NOT 200: only ops admins use the admin"
    if not redirects_to(response, rule.refused_to):
        return f"expected a redirect to {rule.refused_to}"
    return None


# --- tests --------------------------------------------------------------------------------


def test_every_url_pattern_has_an_expectation() -> None:
    """A URL added without an entry here fails: the matrix covers every page."""
    keys = [pattern_key(pattern) for pattern in all_patterns()]
    assert len(keys) == len(set(keys)), "two patterns share one key"
    table = expectations()
    missing = sorted(set(keys) - set(table))
    stale = sorted(set(table) - set(keys))
    assert not missing, f"URL patterns with no access expectation (add them): {missing}"
    assert not stale, f"expectations for URLs that no longer exist: {stale}"


def test_the_walk_reaches_every_area() -> None:
    """A guard on the walker itself: it must descend into every include()."""
    routes = {pattern.route for pattern in all_patterns()}
    for route in (
        "",
        "accounts/login/",
        "accounts/logout/",
        "i18n/setlang/",
        "admin/",
        "admin/funnel/target/",
        "api/v1/kpis/",
        "api/v1/schema/",
        "records/persons/<int:person_id>/",
        "reports/quarterly/<str:period>/report.pdf",
    ):
        assert route in routes


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_the_role_as_the_matrix_says(
    role: str, users: dict[str, User], dataset: Dataset
) -> None:
    """GET every URL as `role`; all the wrong answers are listed at once."""
    client = client_for(role, users)
    table = expectations()
    wrong = []
    for pattern in all_patterns():
        key = pattern_key(pattern)
        url = url_of(pattern, dataset)
        response = client.get(url)
        if (why := problem(table[key], role, response)) is not None:
            location = response.get("Location", "")
            wrong.append(f"{key} GET {url} -> {response.status_code} {location} ({why})")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


def test_the_admin_walks_every_registered_model(users: dict[str, User], dataset: Dataset) -> None:
    """Index, then each registered model's changelist and add page, as each role."""
    for role in ROLES:
        client = client_for(role, users)
        index = client.get("/admin/")
        if may_use_admin(role):
            assert index.status_code == 200, role
        else:
            assert index.status_code != 200 and redirects_to(index, ADMIN_LOGIN_URL), role
        for model in registered_models():
            meta = model._meta
            ops_model = meta.app_label in OPS_ADMIN_APPS
            for action in ("changelist", "add"):
                response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_{action}"))
                can_add = action != "add" or meta.label_lower not in READ_ONLY_HISTORY
                if role == SUPERUSER or (role == OPS_ADMIN and ops_model):
                    wanted = 200 if can_add else 403
                    assert response.status_code == wanted, (role, meta.label, action)
                else:
                    assert response.status_code != 200, (role, meta.label, action)
        if may_use_admin(role):
            html = index.content.decode()
            for model in registered_models():
                meta = model._meta
                link = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
                shown = link in html
                listed = role == SUPERUSER or meta.app_label in OPS_ADMIN_APPS
                assert shown == listed, (role, meta.label)


@pytest.mark.parametrize(
    ("role", "department", "wanted"),
    [
        (ANONYMOUS, "marketing", "login"),
        (NO_ROLE, "marketing", 403),
        (EXECUTIVE, "marketing", 403),
        (SALES, "marketing", 403),
        (MARKETING, "sales", 403),
        (MARKETING, "marketing", 302),
        (SALES, "sales", 302),
        (OPS_ADMIN, "sales", 302),
        (SUPERUSER, "marketing", 302),
    ],
)
def test_the_commentary_post_follows_the_matrix(
    role: str, department: str, wanted: int | str, users: dict[str, User], dataset: Dataset
) -> None:
    client = client_for(role, users)
    url = reverse("reports:commentary", args=[PERIOD, department]) + QUESTION
    response = client.post(url, {"text": "順調です"})
    if wanted == "login":
        assert redirects_to(response, LOGIN_URL)
    else:
        assert response.status_code == wanted
        if wanted == 302:
            assert urlsplit(response["Location"]).path == f"/reports/quarterly/{PERIOD}/"


@pytest.mark.parametrize("role", ROLES)
def test_logout_and_the_language_switch_take_a_post_from_anybody(
    role: str, users: dict[str, User]
) -> None:
    client = client_for(role, users)
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert switched.status_code == 302
    out = client.post("/accounts/logout/")
    assert redirects_to(out, LOGIN_URL)
    assert client.get("/").status_code == 302  # logged out: the dashboard asks for login


def test_a_role_without_the_staff_flag_cannot_use_the_admin(role_user: RoleUser) -> None:
    """The ops_admin group alone (is_staff off) is not enough for Django admin."""
    user = role_user(OPS_ADMIN)
    user.is_staff = False
    user.save()
    client = Client()
    client.force_login(user)
    assert redirects_to(client.get("/admin/"), ADMIN_LOGIN_URL)


def test_an_inactive_user_is_treated_as_logged_out(users: dict[str, User]) -> None:
    marketing = users[MARKETING]
    client = client_for(MARKETING, users)
    marketing.is_active = False
    marketing.save()
    response = client.get("/" + QUESTION)
    assert response.status_code in (302, 403)
    assert response.status_code != 200


def test_the_groups_of_the_matrix_exist() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= EVERY_ROLE
