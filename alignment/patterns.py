"""What converts (成功事例の共有): the MQL cohort's 商談化率 (opportunity_rate, kpi-spec
section 4) by channel, campaign, industry, company size and content, beside the company's,
each with its cohort size and a 95% Wilson interval.

Rows are ordered by the interval's lower bound, so a small sample on a lucky streak never
ranks above a large one; a row is "above" the company only when its whole interval is."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Q

from funnel.choices import ActivityType
from funnel.metrics.breakdowns import breakdown_counts
from funnel.metrics.filters import UNKNOWN, KpiFilters
from funnel.metrics.window import Window, persons_dated
from funnel.models import Activity
from funnel.periods import Period
from qualification.applied import stage_dates

Z = 1.959963984540054  # the 97.5th percentile of the normal distribution: a 95% interval
SMALL_SAMPLE = 30
DIMENSIONS = ("channel", "campaign", "industry", "company_size")
CONTENT_TYPES = (
    ActivityType.DOWNLOAD,
    ActivityType.PAGE_VIEW,
    ActivityType.WEBINAR,
    ActivityType.FORM_SUBMIT,
    ActivityType.EVENT,
)
CONTENT_MIN_PERSONS = 5
CONTENT_ROWS = 20


def wilson(converted: int, size: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of converted / size; None for an empty cohort."""
    if size <= 0:
        return None
    p = converted / size
    z2 = Z * Z
    centre = (p + z2 / (2 * size)) / (1 + z2 / size)
    margin = Z * math.sqrt(p * (1 - p) / size + z2 / (4 * size * size)) / (1 + z2 / size)
    return max(centre - margin, 0.0), min(centre + margin, 1.0)


@dataclass(frozen=True)
class Pattern:
    key: str
    size: int  # MQLs of the cohort
    converted: int  # of them, reached opportunity by as_of
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.converted / self.size

    @property
    def small(self) -> bool:
        return self.size < SMALL_SAMPLE

    def against(self, company: float | None) -> str:
        """above / below when the whole interval is; else in_line."""
        if company is None:
            return "in_line"
        if self.low > company:
            return "above"
        if self.high < company:
            return "below"
        return "in_line"


def _pattern(key: str, converted: int, size: int) -> Pattern | None:
    interval = wilson(converted, size)
    if interval is None:
        return None
    return Pattern(key, size, converted, *interval)


def _ordered(rows: list[Pattern]) -> list[Pattern]:
    return sorted(rows, key=lambda row: (-row.low, -row.size, row.key))


@dataclass(frozen=True)
class WhatConverts:
    period: Period
    as_of: dt.datetime
    company: Pattern | None
    by: dict[str, list[Pattern]]
    content: list[Pattern]  # key: "type: detail"


def what_converts(period: Period, as_of: dt.datetime) -> WhatConverts:
    window, filters = Window(period, as_of, stage_dates(as_of)), KpiFilters()
    by: dict[str, list[Pattern]] = {}
    company = None
    for dimension in DIMENSIONS:
        totals: dict[str, list[int]] = {}
        for group, counts in breakdown_counts(window, filters, dimension):
            key = str(group or UNKNOWN)  # as breakdown() names a missing value
            found = totals.setdefault(key, [0, 0])
            found[0] += counts["opportunity_rate__converted"]
            found[1] += counts["mqls"]
        rows = [_pattern(key, converted, size) for key, (converted, size) in totals.items()]
        by[dimension] = _ordered([row for row in rows if row is not None])
        if dimension == "channel":
            converted = sum(c for c, _size in totals.values())
            size = sum(s for _c, s in totals.values())
            company = _pattern("company", converted, size)
    return WhatConverts(period, as_of, company, by, _content(window, filters))


def _content(window: Window, filters: KpiFilters) -> list[Pattern]:
    """Per piece of content (an activity type and its detail) the cohort members who
    touched it by as_of, and how many of them reached opportunity."""
    members = persons_dated(window, filters, "mql_at")
    cohort = members.values("pk")
    converted = Q(person__in=members.filter(window.reached("opportunity")).values("pk"))
    rows = (
        Activity.objects.filter(
            person__in=cohort, type__in=CONTENT_TYPES, occurred_at__lte=window.as_of
        )
        .exclude(detail="")
        .values("type", "detail")
        .annotate(
            size=Count("person", distinct=True),
            converted=Count("person", distinct=True, filter=converted),
        )
        .filter(size__gte=CONTENT_MIN_PERSONS)
    )
    found = [
        _pattern(f"{row['type']}: {row['detail']}", row["converted"], row["size"]) for row in rows
    ]
    return _ordered([row for row in found if row is not None])[:CONTENT_ROWS]
