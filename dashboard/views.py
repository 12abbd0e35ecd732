"""Pages. Views parse the request, call the metrics and render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.access import DASHBOARD_ROLES, RECORD_ROLES, has_role, role_required
from alignment.alerts import todays_alerts
from dashboard.charts import dashboard_charts
from dashboard.presenters import (
    attribution_rows,
    dashboard_context,
    error_context,
    form_redirect,
    page_params,
)
from dashboard.questions import BadQuestion, kpi_question
from dashboard.selectors import channel_names as dashboard_channel_names
from dashboard.selectors import dashboard_numbers, filter_choices, has_data, mark_viewed

TEMPLATE = "dashboard/home.html"


@role_required(DASHBOARD_ROLES)
def home(request: HttpRequest) -> HttpResponse:
    """The shared dashboard: one page, both teams, one question in the URL (period, as_of,
    filters, what-if), so a view is shared as a link."""
    try:
        if (link := form_redirect(request.GET)) is not None:
            return redirect(request.path + link)
        question = kpi_question(request.GET)
    except BadQuestion as exc:
        context = error_context(request.GET, str(exc), filter_choices())
        return render(request, TEMPLATE, context, status=400)
    mark_viewed()
    numbers = dashboard_numbers(question)
    snapshot, trend = numbers.snapshot, numbers.trend
    records_visible = has_role(request.user, RECORD_ROLES)
    links = page_params(question, request.GET) if records_visible else None
    charts = dashboard_charts(snapshot, trend, question.period.name, links)
    context = dashboard_context(
        question,
        request.GET,
        snapshot,
        trend,
        numbers.previous,
        charts,
        filter_choices(),
        has_data(),
        records_visible,
    )
    context["alerts"] = todays_alerts()
    context["definitions"] = numbers.definitions
    context["attribution"] = attribution_rows(numbers.attributed, dashboard_channel_names())
    return render(request, TEMPLATE, context)
