"""Pages. Views parse the request, call the one metrics entry point and render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from funnel.metrics.snapshot import json_ready, kpi_snapshot
from kpi_dashboard.access import DASHBOARD_ROLES, role_required
from kpi_dashboard.presenters import home_context
from kpi_dashboard.requests import BadQuestion, kpi_question


@role_required(DASHBOARD_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    """The current quarter's KPIs for everyone (the full dashboard comes on top of this)."""
    try:
        question = kpi_question(request.GET)
    except BadQuestion as exc:
        return render(request, "home.html", {"error": str(exc)}, status=400)
    snapshot = json_ready(
        kpi_snapshot(question.period, question.as_of, question.filters, question.what_if)
    )
    return render(request, "home.html", home_context(snapshot))
