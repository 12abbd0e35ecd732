"""Record pages: the persons and opportunities behind every dashboard number.

`/records/persons/?kpi=leads&period=FY2026Q1&...` lists exactly the rows the dashboard
counted for that KPI (funnel/metrics/records.py), with the same query parameters;
`&format=csv` downloads all of them. Marketing, sales and ops see them; executives do not.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from accounts.access import FEEDBACK_ROLES, RECORD_ROLES, has_role, role_required
from dashboard.presenters import filter_options
from dashboard.questions import BadQuestion, KpiQuestion, kpi_question
from dashboard.selectors import filter_choices
from funnel.metrics.catalogue import kpi as kpi_facts
from funnel.metrics.filters import FILTER_PARAMS
from funnel.metrics.formatting import format_kpi
from funnel.metrics.records import COHORT_KPIS, UnknownKpi
from funnel.metrics.window import Window
from qualification.applied import stage_dates
from records.csv_export import csv_response
from records.details import (
    opportunities_with_related,
    person_page,
    person_stage_dates,
    persons_with_related,
)
from records.lists import OPPORTUNITIES, PAGE_SIZE, PERSONS, RecordList

QUESTION_PARAMS = ("period", "as_of", *FILTER_PARAMS)
FORMATS = ("", "html", "csv")


def _query(params: QueryDict, keep: tuple[str, ...] | None = None, **extra: str) -> str:
    """An encoded query string of `params` (only `keep`, if given), without empty values."""
    query = QueryDict(mutable=True)
    for key, values in params.lists():
        if (keep is None or key in keep) and key not in extra:
            query.setlist(key, [value for value in values if value])
    for key, value in extra.items():
        if value:
            query[key] = value
    return query.urlencode()


def _links(request: HttpRequest) -> dict[str, str]:
    """Query strings that carry the question on: to the dashboard, to other lists."""
    return {
        "dashboard_query": _query(request.GET, QUESTION_PARAMS),
        "back_query": request.GET.urlencode(),
    }


def _list_links(request: HttpRequest) -> dict[str, str]:
    """The list's own links: other pages, the CSV, a row's detail page, a fresh start."""
    return {
        "page_query": _query(request.GET, page=""),
        "csv_query": _query(request.GET, page="", format="csv"),
        "row_query": _query(request.GET, format=""),
        "clear_query": _query(request.GET, ("kpi", "period", "as_of")),
        **_links(request),
    }


def _bad_request(request: HttpRequest, template: str, message: str) -> HttpResponse:
    return render(request, template, {"error": message, **_links(request)}, status=400)


def _question(request: HttpRequest) -> KpiQuestion:
    question = kpi_question(request.GET)
    if (request.GET.get("format") or "") not in FORMATS:
        raise BadQuestion(_("format must be csv or html"))
    return question


def _record_list(request: HttpRequest, records: RecordList) -> HttpResponseBase:
    template = f"records/{records.kind}_list.html"
    try:
        question = _question(request)
        kpi = records.kpi_of(request.GET)
    except (BadQuestion, UnknownKpi) as exc:
        return _bad_request(request, template, str(exc))
    window = Window(
        question.period,
        question.as_of,
        stage_dates(question.as_of, question.criteria),
        question.conversion_days,
    )
    search = (request.GET.get("q") or "").strip()
    rows = records.rows(kpi, window, question.filters, search)
    if request.GET.get("format") == "csv":
        name = f"{records.kind}-{kpi or 'all'}-{question.period.name}.csv".replace("..", "_")
        return csv_response(name, records.header(kpi), records.csv_rows(kpi, rows))
    number = records.number(kpi, window, question.filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    choices = filter_choices()
    context = {
        "kpi": kpi,
        "kpi_label": kpi_facts(kpi).label if kpi else None,
        "kpis": [(key, kpi_facts(key).label) for key in records.kpis],
        "cohort": kpi in COHORT_KPIS,
        "number": number,
        "rate": format_kpi(kpi, number.rate) if kpi and number.converted is not None else None,
        "question": question,
        "search": search,
        "page": page,
        "form": filter_options(request.GET, choices),
        "channel_names": choices.channels,
        **_list_links(request),
    }
    return render(request, template, context)


@role_required(RECORD_ROLES)
def person_list(request: HttpRequest) -> HttpResponseBase:
    return _record_list(request, PERSONS)


@role_required(RECORD_ROLES)
def opportunity_list(request: HttpRequest) -> HttpResponseBase:
    return _record_list(request, OPPORTUNITIES)


@role_required(RECORD_ROLES)
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    template = "records/person_detail.html"
    try:
        question = _question(request)
    except BadQuestion as exc:
        return _bad_request(request, template, str(exc))
    person = get_object_or_404(persons_with_related(), pk=person_id)
    context = person_page(person)
    context["stage_dates"] = person_stage_dates(person, question.as_of)
    context["may_decide"] = has_role(request.user, FEEDBACK_ROLES)
    return render(request, template, {**context, "question": question, **_links(request)})


@role_required(RECORD_ROLES)
def opportunity_detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    template = "records/opportunity_detail.html"
    try:
        question = _question(request)
    except BadQuestion as exc:
        return _bad_request(request, template, str(exc))
    opportunity = get_object_or_404(opportunities_with_related(), pk=opportunity_id)
    context = {"opportunity": opportunity, "question": question}
    return render(request, template, {**context, **_links(request)})
