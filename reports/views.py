"""The quarterly executive report: HTML, PDF and Excel of one `quarterly_report(...)`, and
the managers' commentary. Views resolve the quarter and as_of, call one function, respond."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import REPORT_ROLES, role_required
from dashboard.questions import BadQuestion, kpi_question
from funnel.periods import Period
from reports.excel import report_workbook
from reports.forms import CommentaryForm
from reports.models import Department
from reports.pdf import PdfUnavailable, report_pdf
from reports.quarters import NotAQuarter, default_quarter, report_quarter
from reports.report import QuarterlyReport, quarterly_report
from reports.services import may_edit_commentary
from reports.services import save_commentary as save_commentary_service

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
QuarterView = Callable[..., HttpResponse]


def _as_of(request: HttpRequest) -> dt.datetime:
    """`?as_of=` read like the dashboard and API read it (default: this minute)."""
    return kpi_question({"as_of": request.GET.get("as_of") or ""}).as_of


def _for_quarter(view: QuarterView) -> QuarterView:
    """Login and role first, then the quarter (404 with the reason) and as_of (400)."""

    @role_required(REPORT_ROLES)
    @wraps(view)
    def wrapped(request: HttpRequest, period: str, **kwargs: Any) -> HttpResponse:
        try:
            quarter = report_quarter(period)
            as_of = _as_of(request)
        except NotAQuarter as exc:
            return render(request, "reports/problem.html", {"error": str(exc)}, status=404)
        except BadQuestion as exc:
            return render(request, "reports/problem.html", {"error": str(exc)}, status=400)
        return view(request, quarter, as_of, **kwargs)

    return wrapped


def _report_url(period: Period, as_of: str = "", suffix: str = "") -> str:
    url = reverse(f"reports:quarterly{suffix}", args=[period.name])
    return f"{url}?{urlencode({'as_of': as_of})}" if as_of else url


def _page(
    request: HttpRequest,
    report: QuarterlyReport,
    bound: dict[str, CommentaryForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    blocks = []
    for department in Department:
        commentary = report.commentary[department.value]
        form = None
        if may_edit_commentary(request.user, department.value):
            form = (bound or {}).get(department.value) or CommentaryForm(
                initial={"text": commentary.text}
            )
        blocks.append({"department": department, "commentary": commentary, "form": form})
    return render(
        request,
        "reports/quarterly.html",
        {"report": report, "commentary_blocks": blocks, "as_of_param": request.GET.get("as_of")},
        status=status,
    )


@require_GET
@role_required(REPORT_ROLES)
def quarterly_latest(request: HttpRequest) -> HttpResponse:
    try:
        as_of = _as_of(request)
    except BadQuestion as exc:
        return render(request, "reports/problem.html", {"error": str(exc)}, status=400)
    return redirect(_report_url(default_quarter(as_of), request.GET.get("as_of", "")))


@require_GET
@_for_quarter
def quarterly(request: HttpRequest, period: Period, as_of: dt.datetime) -> HttpResponse:
    return _page(request, quarterly_report(period, as_of))


@require_GET
@_for_quarter
def quarterly_pdf(request: HttpRequest, period: Period, as_of: dt.datetime) -> HttpResponse:
    try:
        pdf = report_pdf(quarterly_report(period, as_of))
    except PdfUnavailable as exc:
        return render(request, "reports/problem.html", {"error": str(exc)}, status=503)
    response = HttpResponse(pdf, "application/pdf")
    response["Content-Disposition"] = f'attachment; filename="kpi-report-{period.name}.pdf"'
    return response


@require_GET
@_for_quarter
def quarterly_xlsx(request: HttpRequest, period: Period, as_of: dt.datetime) -> HttpResponse:
    response = HttpResponse(report_workbook(quarterly_report(period, as_of)), XLSX)
    response["Content-Disposition"] = f'attachment; filename="kpi-report-{period.name}.xlsx"'
    return response


@require_POST
@_for_quarter
def save_commentary(
    request: HttpRequest, period: Period, as_of: dt.datetime, department: str
) -> HttpResponse:
    """POST text: the marketing or sales manager's commentary (403 for another role)."""
    if department not in Department.values:
        raise Http404("No such department.")
    if not may_edit_commentary(request.user, department):
        raise PermissionDenied("Your role may not edit this department's commentary.")
    form = CommentaryForm(request.POST)
    if not form.is_valid():
        return _page(request, quarterly_report(period, as_of), {department: form}, status=400)
    save_commentary_service(
        period=period, department=department, text=form.cleaned_data["text"], author=request.user
    )
    return redirect(_report_url(period, request.GET.get("as_of", "")) + "#commentary")
