"""The KPI definitions page (every role reads it; marketing, sales and ops admins record
a quarterly review) and improvement proposals (anyone proposes and comments; ops admins
accept or decline). Writes are POSTs with CSRF, in alignment/services.py."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.access import (
    ADMIN_ROLES,
    DASHBOARD_ROLES,
    RECORD_ROLES,
    REVIEW_ROLES,
    has_role,
    role_required,
)
from alignment import selectors, services
from alignment.checklist import evaluate, record_score
from alignment.meeting import meeting_page
from alignment.models import ActionItem, ChecklistScore, Proposal
from alignment.nonconversion import DIMENSIONS as NONCONVERSION_DIMENSIONS
from alignment.nonconversion import cohort_persons, non_conversion
from alignment.patterns import SMALL_SAMPLE, Pattern, what_converts
from funnel.choices import DisqualifyReason
from funnel.metrics.filters import UNKNOWN
from funnel.metrics.formatting import Kind, format_figure
from funnel.metrics.snapshot import kpi_snapshot
from funnel.models import Person
from funnel.periods import Period, PeriodError, current_quarter, parse_period, previous_quarter
from records.csv_export import csv_response


@require_GET
@role_required(DASHBOARD_ROLES)
def definitions(request: HttpRequest) -> HttpResponse:
    context = {
        "sections": selectors.definitions(),
        "quarter": current_quarter().name,
        "may_review": has_role(request.user, REVIEW_ROLES),
    }
    return render(request, "alignment/definitions.html", context)


@require_POST
@role_required(REVIEW_ROLES)
def review(request: HttpRequest) -> HttpResponse:
    try:
        services.record_review(
            request.user,
            request.POST.get("quarter", ""),
            request.POST.getlist("kpi"),
            request.POST.get("note", "")[:4000],
        )
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Your review is recorded."))
    return redirect("alignment:definitions")


@require_GET
@role_required(DASHBOARD_ROLES)
def proposals(request: HttpRequest) -> HttpResponse:
    context = {
        "proposals": selectors.proposals(),
        "kinds": Proposal.Kind.choices,
        "may_decide": has_role(request.user, ADMIN_ROLES),
    }
    return render(request, "alignment/proposals.html", context)


@require_POST
@role_required(DASHBOARD_ROLES)
def propose(request: HttpRequest) -> HttpResponse:
    try:
        services.propose(
            request.user,
            request.POST.get("kind", ""),
            request.POST.get("title", ""),
            request.POST.get("reason", "")[:4000],
        )
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Your proposal is recorded."))
    return redirect("alignment:proposals")


@require_POST
@role_required(DASHBOARD_ROLES)
def comment(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=proposal_id)
    try:
        services.comment(proposal, request.user, request.POST.get("text", "")[:4000])
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    return redirect("alignment:proposals")


@require_POST
@role_required(ADMIN_ROLES)
def decide(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal, pk=proposal_id)
    decision = request.POST.get("decision")
    try:
        if decision not in ("accept", "decline"):
            raise services.AlignmentRefused(_("accept or decline"))
        services.decide(
            proposal, request.user, decision == "accept", request.POST.get("note", "")[:4000]
        )
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    return redirect("alignment:proposals")


@require_GET
@role_required(DASHBOARD_ROLES)
def checklist(request: HttpRequest) -> HttpResponse:
    results = evaluate()
    record_score()  # the page's own reading counts as today's score
    context = {
        "results": results,
        "held": sum(1 for result in results if result.verdict.holds),
        "total": len(results),
        "history": ChecklistScore.objects.all()[:12],
        "may_answer": has_role(request.user, REVIEW_ROLES),
    }
    return render(request, "alignment/checklist.html", context)


@require_POST
@role_required(REVIEW_ROLES)
def answer(request: HttpRequest) -> HttpResponse:
    try:
        services.answer_item(
            request.user,
            request.POST.get("item", ""),
            request.POST.get("holds") == "yes",
            request.POST.get("note", "")[:4000],
        )
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    return redirect("alignment:checklist")


@require_GET
@role_required(DASHBOARD_ROLES)
def meeting(request: HttpRequest) -> HttpResponse:
    context = meeting_page(timezone.now())
    context["may_edit"] = has_role(request.user, REVIEW_ROLES)
    context["today"] = timezone.localdate()
    return render(request, "alignment/meeting.html", context)


@require_POST
@role_required(REVIEW_ROLES)
def add_action(request: HttpRequest) -> HttpResponse:
    try:
        due = _date(request.POST.get("due_on", ""))
        services.add_action(
            request.user,
            request.POST.get("title", ""),
            request.POST.get("owner", ""),
            request.POST.get("team", ""),
            due,
        )
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    return redirect("alignment:meeting")


@require_POST
@role_required(REVIEW_ROLES)
def close_action(request: HttpRequest, item_id: int) -> HttpResponse:
    services.close_action(get_object_or_404(ActionItem, pk=item_id))
    return redirect("alignment:meeting")


@require_POST
@role_required(REVIEW_ROLES)
def record_meeting(request: HttpRequest) -> HttpResponse:
    try:
        held_on = _date(request.POST.get("held_on", "")) or timezone.localdate()
        services.record_meeting(
            request.user,
            held_on,
            request.POST.get("attendees", "")[:4000],
            request.POST.get("notes", "")[:20000],
            request.POST.get("decisions", "")[:20000],
        )
    except services.AlignmentRefused as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The meeting is recorded."))
    return redirect("alignment:meeting")


DIMENSION_LABELS = (
    ("channel", gettext_lazy("Channel")),
    ("campaign", gettext_lazy("Campaign")),
    ("industry", gettext_lazy("Industry")),
    ("company_size", gettext_lazy("Company size")),
)


def _refused(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, _("Not recorded: %(why)s.") % {"why": exc})


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise services.AlignmentRefused(_("a date as YYYY-MM-DD")) from None


@require_GET
@role_required(DASHBOARD_ROLES)
def patterns(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    try:
        period = _closed_period(request, now)
    except PeriodError as exc:
        refused = {"error": str(exc), "period_name": request.GET.get("period", "")}
        return render(request, "alignment/patterns.html", refused, status=400)
    found = what_converts(period, now)
    company = found.company.rate if found.company else None
    links = has_role(request.user, RECORD_ROLES)

    def rows(patterns: list[Pattern], dimension: str | None) -> list[dict[str, object]]:
        return [
            {
                "key": row.key,
                "size": row.size,
                "converted": row.converted,
                "rate": format_figure(row.rate, Kind.RATE),
                "interval": f"{format_figure(row.low, Kind.RATE)} – "
                f"{format_figure(row.high, Kind.RATE)}",
                "against": row.against(company),
                "small": row.small,
                "href": _cohort_url(period, now, dimension, row.key)
                if links and dimension
                else None,
            }
            for row in patterns
        ]

    context: dict[str, object] = {
        "period": period,
        "period_name": period.name,
        "company": rows([found.company], None)[0] if found.company else None,
        "sections": [(label, rows(found.by[key], key)) for key, label in DIMENSION_LABELS],
        "content": rows(found.content, None),
        "small_sample": SMALL_SAMPLE,
    }
    return render(request, "alignment/patterns.html", context)


def _cohort_url(period: Period, as_of: dt.datetime, dimension: str, key: str) -> str | None:
    """The cohort's persons on the records page (the MQLs of the period in this group)."""
    if key == UNKNOWN:
        return None
    query = {"kpi": "opportunity_rate", "period": period.name, "as_of": as_of.isoformat(),
             dimension: key}  # fmt: skip
    return f"{reverse('records:persons')}?{urlencode(query)}"


@require_GET
@role_required(DASHBOARD_ROLES)
def why_not(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    try:
        period, dimension = _analysis_question(request, now)
    except (PeriodError, ValueError) as exc:
        refused = {"error": str(exc), "period_name": request.GET.get("period", "")}
        return render(request, "alignment/why_not.html", refused, status=400)
    found = non_conversion(period, now, dimension)
    context: dict[str, object] = {
        "found": found,
        "period_name": period.name,
        "dimension": dimension,
        "dimensions": [(key, label) for key, label in ANALYSIS_DIMENSIONS],
        "reasons": [(r, DisqualifyReason(r).label) for r in found.reasons],
        "maturing": _maturing(period, now),
        "may_open_records": has_role(request.user, RECORD_ROLES),
        "drill": urlencode({"period": period.name, "by": dimension}),
        "groups": [
            (group, urlencode({"period": period.name, "by": dimension, "group": group.key}))
            for group in found.groups
        ],
    }
    return render(request, "alignment/why_not.html", context)


@require_GET
@role_required(RECORD_ROLES)
def why_not_persons(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    """The persons behind a count of the why-not table (group, outcome, reason; none: the
    whole cohort) with their outcome: a page, or CSV with format=csv."""
    now = timezone.now()
    as_csv = request.GET.get("format") == "csv" or request.path.endswith(".csv")
    try:
        period, dimension = _analysis_question(request, now)
        window, rows = cohort_persons(
            period,
            now,
            dimension,
            group=request.GET.get("group", ""),
            outcome=request.GET.get("outcome", ""),
            reason=request.GET.get("reason", ""),
        )
    except (PeriodError, ValueError) as exc:
        if as_csv:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        return render(request, "alignment/why_not_persons.html", {"error": str(exc)}, status=400)
    rows = (
        rows.select_related("channel", "campaign")
        .annotate(stage_mql_at=F(window.field("mql_at")))
        .order_by("stage_mql_at", "pk")
    )
    if not as_csv:
        page = Paginator(rows, 100).get_page(request.GET.get("page"))
        context = {
            "period": period,
            "dimension": dimension,
            "filters": {k: request.GET.get(k, "") for k in ("group", "outcome", "reason")},
            "page": page,
            "rows": [(p, _group_of(p, dimension)) for p in page.object_list],
            "csv_query": urlencode({**request.GET.dict(), "format": "csv", "page": ""}),
            "back_query": urlencode({"period": period.name, "by": dimension}),
        }
        return render(request, "alignment/why_not_persons.html", context)
    return csv_response(
        f"why-not-{period.name}.csv",
        ("person_id", "name", "email", "company", dimension, "mql_at", "outcome",
         "disqualify_reason"),
        (
            (
                p.pk, p.name, p.email_normalized, p.company, _group_of(p, dimension),
                p.stage_mql_at.isoformat(), p.outcome,  # type: ignore[attr-defined]
                p.disqualify_reason if p.outcome == "dropped" else "",  # type: ignore[attr-defined]
            )
            for p in rows.iterator()
        ),
    )  # fmt: skip


def _closed_period(request: HttpRequest, now: dt.datetime) -> Period:
    """The `period` asked for, by default the last closed quarter (its cohorts have had
    time to convert)."""
    name = request.GET.get("period", "")
    return parse_period(name) if name else previous_quarter(current_quarter(now))


def _analysis_question(request: HttpRequest, now: dt.datetime) -> tuple[Period, str]:
    period = _closed_period(request, now)
    dimension = request.GET.get("by", "channel")
    if dimension not in NONCONVERSION_DIMENSIONS:
        raise ValueError(f"by: one of {', '.join(NONCONVERSION_DIMENSIONS)}")
    return period, dimension


def _group_of(person: Person, dimension: str) -> str:
    if dimension == "channel":
        return person.channel.key if person.channel else ""
    if dimension == "campaign":
        return person.campaign.key if person.campaign else ""
    return str(getattr(person, dimension) or "")


def _maturing(period: Period, now: dt.datetime) -> bool:
    snapshot = kpi_snapshot(period, now)
    return bool(snapshot["cohorts"]["opportunity_rate"]["maturing"])


ANALYSIS_DIMENSIONS = (
    *DIMENSION_LABELS,
    ("owner", gettext_lazy("Owner")),
)
