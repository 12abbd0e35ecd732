"""The two record lists (persons, opportunities): which rows, how they are searched,
ordered and exported. One spec per list serves the HTML page and its CSV download, so
the download holds exactly the rows the page pages through.

The rows come from funnel/metrics/records.py (the records behind a KPI); this module only
adds what a page needs on top: related rows in the same query, the search box, order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils import timezone

from funnel.choices import Origin
from funnel.metrics.filters import KpiFilters, opportunity_channel_key
from funnel.metrics.records import (
    COHORT_KPIS,
    KPI_DATE_FIELDS,
    OPPORTUNITY_KPIS,
    PERSON_KPIS,
    RecordCount,
    UnknownKpi,
    opportunity_records,
    person_records,
    record_count,
)
from funnel.metrics.window import Window
from funnel.models import Opportunity, Person

PAGE_SIZE = 50

RowsOf = Callable[[str | None, Window, KpiFilters], QuerySet]


def origin_expression() -> Case:
    """A person's origin with the origin filter's own definition (spec section 2)."""
    marketing = KpiFilters(origin=Origin.MARKETING).persons()
    return Case(
        When(marketing, then=Value(Origin.MARKETING.value)),
        default=Value(Origin.SALES.value),
        output_field=CharField(),
    )


# The normalised email is lower case already (and compared byte by byte on PostgreSQL,
# where UPPER would only fold ASCII letters): the search text is lowered instead.
def _person_search(text: str) -> Q:
    return (
        Q(name__icontains=text)
        | Q(email_normalized__contains=text.lower())
        | Q(company__icontains=text)
        | Q(account__name__icontains=text)
    )


def _opportunity_search(text: str) -> Q:
    return (
        Q(name__icontains=text)
        | Q(external_id__icontains=text)
        | Q(account__name__icontains=text)
        | Q(person__name__icontains=text)
        | Q(person__email_normalized__contains=text.lower())
        | Q(person__company__icontains=text)
    )


def csv_moment(moment: dt.datetime | None) -> str:
    """Company time without a zone, `2026-04-01 09:00:00`: Excel reads it as a date and
    the canonical import reads it back as company time (spec section 6)."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def _key(obj: object) -> str:
    return getattr(obj, "key", "") if obj is not None else ""


def _name(obj: object) -> str:
    return getattr(obj, "name", "") if obj is not None else ""


PERSON_COLUMNS: tuple[tuple[str, Callable[[Person], object]], ...] = (
    ("id", lambda p: p.pk),
    ("name", lambda p: p.name),
    ("email", lambda p: p.email_normalized),
    ("company", lambda p: p.company),
    ("channel", lambda p: _key(p.channel)),
    ("origin", lambda p: p.origin),  # type: ignore[attr-defined]
    ("campaign", lambda p: _key(p.campaign)),
    ("lead_at", lambda p: csv_moment(p.lead_at)),
    ("mql_at", lambda p: csv_moment(p.stage_mql_at)),  # type: ignore[attr-defined]
    ("sql_at", lambda p: csv_moment(p.stage_sql_at)),  # type: ignore[attr-defined]
    ("opportunity_at", lambda p: csv_moment(p.opportunity_at)),
    ("won_at", lambda p: csv_moment(p.won_at)),
    ("disqualified_at", lambda p: csv_moment(p.disqualified_at)),
    ("disqualify_reason", lambda p: p.disqualify_reason),
    ("owner", lambda p: p.owner),
    ("lead_score", lambda p: p.lead_score),
    ("industry", lambda p: p.industry),
    ("company_size", lambda p: p.company_size),
    ("account", lambda p: _name(p.account)),
)
OPPORTUNITY_COLUMNS: tuple[tuple[str, Callable[[Opportunity], object]], ...] = (
    ("id", lambda o: o.pk),
    ("source", lambda o: o.source.name),
    ("external_id", lambda o: o.external_id),
    ("name", lambda o: o.name),
    ("account", lambda o: _name(o.account)),
    ("amount", lambda o: o.amount),
    ("status", lambda o: o.status),
    ("stage", lambda o: o.stage),
    ("created_at", lambda o: csv_moment(o.created_at)),
    ("closed_at", lambda o: csv_moment(o.closed_at)),
    ("loss_reason", lambda o: o.loss_reason),
    ("channel", lambda o: o.channel_key or "unknown"),  # type: ignore[attr-defined]
    ("person_id", lambda o: o.person_id),
    ("person_name", lambda o: o.person.name if o.person else ""),
    ("person_email", lambda o: o.person.email_normalized if o.person else ""),
)


@dataclass(frozen=True)
class RecordList:
    kind: str
    kpis: tuple[str, ...]
    default_date: str
    records: RowsOf
    related: tuple[str, ...]
    annotations: Callable[[Window], dict[str, Any]]
    search_of: Callable[[str], Q]
    columns: tuple[tuple[str, Callable[..., object]], ...]

    def kpi_of(self, params: Mapping[str, str]) -> str | None:
        kpi = (params.get("kpi") or "").strip() or None
        if kpi and kpi not in self.kpis:
            raise UnknownKpi(kpi, self.kpis)
        return kpi

    def rows(
        self, kpi: str | None, window: Window, filters: KpiFilters, search: str = ""
    ) -> QuerySet:
        """The records behind `kpi` with what a row shows, narrowed by the search box,
        newest first."""
        rows = (
            self.records(kpi, window, filters)
            .select_related(*self.related)
            .annotate(**self.annotations(window))
        )
        if search:
            rows = rows.filter(self.search_of(search))
        date = KPI_DATE_FIELDS.get(kpi or "", self.default_date)
        return rows.order_by(f"-{window.field(date)}", "-pk")

    def number(self, kpi: str | None, window: Window, filters: KpiFilters) -> RecordCount:
        """The number the list stands for (the dashboard's, before any search)."""
        return record_count(kpi or "", self.records(kpi, window, filters))

    def header(self, kpi: str | None) -> list[str]:
        names = [name for name, _ in self.columns]
        return [*names, "converted"] if kpi in COHORT_KPIS else names

    def csv_rows(self, kpi: str | None, rows: QuerySet) -> Iterator[list[object]]:
        """Every row, read in chunks so a large export stays small in memory."""
        cohort = kpi in COHORT_KPIS
        for record in rows.iterator(chunk_size=2000):
            cells = [value(record) for _, value in self.columns]
            if cohort:
                cells.append(record.converted)
            yield cells


PERSONS = RecordList(
    kind="persons",
    kpis=PERSON_KPIS,
    default_date="lead_at",
    records=person_records,
    related=("channel", "campaign", "account"),
    annotations=lambda window: {
        "origin": origin_expression(),
        # The MQL and SQL dates the window reads (a criteria set's, in rules mode).
        "stage_mql_at": F(window.field("mql_at")),
        "stage_sql_at": F(window.field("sql_at")),
    },
    search_of=_person_search,
    columns=PERSON_COLUMNS,
)
OPPORTUNITIES = RecordList(
    kind="opportunities",
    kpis=OPPORTUNITY_KPIS,
    default_date="created_at",
    records=opportunity_records,
    related=("person", "account", "source"),
    annotations=lambda window: {"channel_key": opportunity_channel_key()},
    search_of=_opportunity_search,
    columns=OPPORTUNITY_COLUMNS,
)
