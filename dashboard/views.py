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
from dashboard.selectors import filter_choices, has_data
from funnel.metrics.attribution import attributed_won_amount
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.trend import comparison_as_of, shared_kpi_trend, trend_periods
from funnel.metrics.window import Window
from funnel.periods import previous_period
from qualification.applied import definitions, stage_dates

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
    period, as_of, filters = question.period, question.as_of, question.filters
    # One yardstick (kpi-spec 2b): the MQL/SQL definition of as_of for every number shown.
    applied = definitions(as_of, question.criteria)
    dates = stage_dates(as_of, applied=applied)
    days = question.conversion_days
    snapshot = json_ready(kpi_snapshot(period, as_of, filters, question.what_if, dates, days))
    trend = shared_kpi_trend(trend_periods(period, as_of), as_of, filters, dates, days)
    before = previous_period(period)
    (previous,) = shared_kpi_trend([before], comparison_as_of(before, as_of), filters, dates, days)
    records_visible = has_role(request.user, RECORD_ROLES)
    links = page_params(question, request.GET) if records_visible else None
    charts = dashboard_charts(snapshot, trend, period.name, links)
    context = dashboard_context(
        question,
        request.GET,
        snapshot,
        trend,
        previous,
        charts,
        filter_choices(),
        has_data(),
        records_visible,
    )
    context["alerts"] = todays_alerts()
    context["definitions"] = applied
    attributed = attributed_won_amount(Window(period, as_of, dates), filters)
    context["attribution"] = attribution_rows(attributed, dashboard_channel_names())
    return render(request, TEMPLATE, context)
