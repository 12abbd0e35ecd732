"""Which roles use the pages the checklist asks about (the article: one shared dashboard
both teams look at, behaviour history sales read, reports executives get, success stories
shared, meetings held): views counted per day, page and role, by a middleware."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import connection
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.access import roles_of
from alignment.models import PageView
from funnel.periods import local_date

# URL name -> the page as counted (the PDF and Excel downloads count as the report).
TRACKED = {
    "home": "dashboard",
    "records:person": "person",
    "reports:quarterly": "report",
    "reports:quarterly-pdf": "report",
    "reports:quarterly-xlsx": "report",
    "alignment:patterns": "what_converts",
    "alignment:meeting": "meeting",
}


def record_view(page: str, roles: Iterable[str], day: dt.date) -> None:
    """One statement per role: insert the day's row or add one to it (PostgreSQL and
    SQLite both take ON CONFLICT ... DO UPDATE)."""
    table = PageView._meta.db_table
    with connection.cursor() as cursor:
        for role in roles:
            cursor.execute(
                f"INSERT INTO {table} (day, page, role, count) VALUES (%s, %s, %s, 1) "  # noqa: S608
                f"ON CONFLICT (day, page, role) DO UPDATE SET count = {table}.count + 1",
                [day, page, role],
            )


def views_by_role(page: str, since: dt.date) -> Counter[str]:
    """Views of `page` per role from `since` (a local date) on."""
    rows = (
        PageView.objects.filter(page=page, day__gte=since)
        .values("role")
        .annotate(total=Sum("count"))
        .values_list("role", "total")
    )
    return Counter({role: total for role, total in rows})


class PageViewMiddleware:
    """After the view: a page of TRACKED answered 200 to a GET counts for the user's roles."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        page = TRACKED.get(match.view_name) if match is not None else None
        if page and request.method == "GET" and response.status_code == 200:
            roles = roles_of(request.user)
            if roles:
                record_view(page, sorted(roles), local_date(timezone.now()))
        return response
