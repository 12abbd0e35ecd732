"""Period counts and cohort conversions as database aggregates (kpi-spec sections 3 and 4).

Each number is defined once here (`Counted`): the date that must lie in the window and a
condition among those rows. Totals and breakdowns read one date at a time, a *pass* over one
range of that date's index (covering indexes, see models.py), so a pass touches only the
rows it counts; the trend evaluates the same definitions side by side over a span of
periods. A breakdown sums to its total: the total adds up the same grouped passes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.expressions import Combinable, Expression

from funnel.choices import ActivityType, OpportunityStatus
from funnel.metrics.filters import KpiFilters
from funnel.metrics.velocity import (
    OPPORTUNITY_MEDIANS,
    Median,
    median_aggregates,
    medians_apart,
    person_medians_of,
)
from funnel.metrics.window import (
    Window,
    cost_rows,
    opportunities_dated,
    opportunity_rows,
    person_rows,
    persons_dated,
)
from funnel.models import Activity

__all__ = ["Window", "cost_rows", "funnel_counts", "opportunity_rows", "person_rows"]

# The person counts of section 3: key -> the stage date in the period.
PERSON_COUNT_DATES = {"leads": "lead_at", "mqls": "mql_at", "sqls": "sql_at"}
# Person cohort pairs of spec section 4: key -> (cohort date field, reached stage).
PERSON_COHORTS = {
    "lead_to_mql_rate": ("lead_at", "mql"),
    "mql_to_sql_rate": ("mql_at", "sql"),
    "sql_to_opportunity_rate": ("sql_at", "opportunity"),
    "opportunity_rate": ("mql_at", "opportunity"),
}
COHORT_KEYS = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "opportunity_rate",
)
OPPORTUNITY_COUNT_KEYS = ("opportunities", "won_deals", "lost_deals")

Dated = Callable[[str], QuerySet[Any]]


@dataclass(frozen=True)
class Counted:
    """One number of sections 3 and 4: the rows whose `date` is in the window and that meet
    `condition`, counted, or with `sum_of` the sum of that field over them."""

    date: str
    condition: Q
    sum_of: str | None = None

    def rows(self, window: Window) -> Q:
        return window.within(self.date) & self.condition

    def aggregate(self, window: Window | None = None) -> Expression:
        """Within a pass over the date's rows; with `window`, over any rows (the trend)."""
        condition = self.condition if window is None else self.rows(window)
        if self.sum_of:
            return Sum(self.sum_of, filter=condition or None)
        # Counting the date (never null in the window), not the id, lets a pass read its
        # covering index alone.
        return Count(self.date, filter=condition or None)

    @property
    def empty(self) -> int | None:
        """Its value over no rows: a count is 0, a sum is NULL."""
        return None if self.sum_of else 0


def person_counted(window: Window) -> dict[str, Counted]:
    """The person counts of section 3 and the numerators of the person cohort rates."""
    counted = {key: Counted(window.field(field), Q()) for key, field in PERSON_COUNT_DATES.items()}
    for key, (field, stage) in PERSON_COHORTS.items():
        counted[f"{key}__converted"] = Counted(window.field(field), window.converted(field, stage))
    return counted


def opportunity_counted(window: Window) -> dict[str, Counted]:
    """The opportunity counts of section 3 (won_amount sums the won deals) and the
    numerator of `opportunity -> won`: won with closed_at <= as_of (section 4)."""
    won = Q(status=OpportunityStatus.WON)
    return {
        "opportunities": Counted("created_at", Q()),
        "won_deals": Counted("closed_at", won),
        "lost_deals": Counted("closed_at", Q(status=OpportunityStatus.LOST)),
        "won_amount": Counted("closed_at", won, sum_of="amount"),
        "opportunity_to_won_rate__converted": Counted(
            "created_at", won & Q(closed_at__lte=window.as_of) & _within_window(window)
        ),
    }


def _within_window(window: Window) -> Q:
    """A deal won within the conversion window of its creation (none: no condition)."""
    if window.conversion_days is None:
        return Q()
    return Q(closed_at__lte=F("created_at") + dt.timedelta(days=window.conversion_days))


def empty_counts(window: Window) -> dict[str, int | None]:
    """Every person and opportunity number over no rows."""
    counted = person_counted(window) | opportunity_counted(window)
    return {key: c.empty for key, c in counted.items()}


def person_count_filters(window: Window) -> dict[str, Q]:
    """The persons each count of section 3 counts: the one definition the aggregates
    and the record pages behind the numbers (metrics/records.py) both use."""
    counted = person_counted(window)
    return {key: counted[key].rows(window) for key in PERSON_COUNT_DATES}


def opportunity_count_filters(window: Window) -> dict[str, Q]:
    """The opportunities each count of section 3 counts (won_amount sums `won_deals`)."""
    counted = opportunity_counted(window)
    return {key: counted[key].rows(window) for key in OPPORTUNITY_COUNT_KEYS}


def person_cohort_filters(window: Window) -> dict[str, tuple[Q, Q]]:
    """(cohort, converted) of each person cohort rate of section 4."""
    return {
        key: (window.within(cohort_field), window.converted(cohort_field, stage))
        for key, (cohort_field, stage) in PERSON_COHORTS.items()
    }


def opportunity_cohort_filters(window: Window) -> dict[str, tuple[Q, Q]]:
    """(cohort, converted) of `opportunity -> won`."""
    converted = opportunity_counted(window)["opportunity_to_won_rate__converted"]
    return {"opportunity_to_won_rate": (window.within(converted.date), converted.condition)}


def person_aggregates(window: Window) -> dict[str, Expression]:
    """Every person count of `window` over any rows (the trend's span of periods)."""
    return {key: c.aggregate(window) for key, c in person_counted(window).items()}


def opportunity_aggregates(window: Window) -> dict[str, Expression]:
    return {key: c.aggregate(window) for key, c in opportunity_counted(window).items()}


def totals(
    dated: Dated, window: Window, counted: dict[str, Counted], medians: dict[str, Median]
) -> dict[str, Any]:
    """`counted` and `medians` over the whole window, one pass (query) per date."""
    values: dict[str, Any] = {}
    for date in dict.fromkeys(
        [c.date for c in counted.values()] + [m.cohort for m in medians.values()]
    ):
        rows = dated(date)
        aggregates = {key: c.aggregate() for key, c in counted.items() if c.date == date}
        of_date = {key: m for key, m in medians.items() if m.cohort == date}
        in_database = median_aggregates(window, of_date)
        values.update(rows.aggregate(**aggregates, **in_database))
        if of_date and not in_database:
            values.update(medians_apart(window, rows, of_date))
    return values


def grouped(
    dated: Dated, counted: dict[str, Counted], group: Combinable
) -> dict[Any, dict[str, Any]]:
    """`counted` per value of `group` (None for rows without one), one pass per date."""
    rows: dict[Any, dict[str, Any]] = defaultdict(dict)
    for date in dict.fromkeys(c.date for c in counted.values()):
        aggregates = {key: c.aggregate() for key, c in counted.items() if c.date == date}
        for row in dated(date).annotate(group=group).values("group").annotate(**aggregates):
            rows[row.pop("group")].update(row)
    empty = {key: c.empty for key, c in counted.items()}
    return {group: {**empty, **values} for group, values in rows.items()}


def added_up(rows: Iterable[dict[str, Any]], empty: dict[str, Any]) -> dict[str, Any]:
    """The sum over rows of each key of `empty`, which holds the value over no rows (a sum
    that is NULL in every row stays NULL, as SQL's SUM would)."""
    result = dict(empty)
    for row in rows:
        for key, total in result.items():
            if (value := row[key]) is not None:
                result[key] = value if total is None else total + value
    return result


def funnel_counts(
    window: Window,
    filters: KpiFilters,
    medians: bool = False,
    visits: bool = True,
    groups: Iterable[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Counts of section 3 and cohort numerators of section 4 for one window; with
    `medians`, also the velocity keys and the sales cycle, in the same passes where the
    database can. `groups`, the same counts already broken down (breakdowns.py), are added
    up instead of counted again."""

    def persons(date: str) -> QuerySet[Any]:
        return persons_dated(window, filters, date)

    def opportunities(date: str) -> QuerySet[Any]:
        return opportunities_dated(window, filters, date)

    person_medians = person_medians_of(window) if medians else {}
    opportunity_medians = OPPORTUNITY_MEDIANS if medians else {}
    if groups is None:
        counts = totals(persons, window, person_counted(window), person_medians)
        counts |= totals(opportunities, window, opportunity_counted(window), opportunity_medians)
    else:
        counts = added_up(groups, empty_counts(window))
        counts |= totals(persons, window, {}, person_medians)
        counts |= totals(opportunities, window, {}, opportunity_medians)
    counts["won_amount"] = counts["won_amount"] or Decimal(0)
    counts["marketing_cost"] = cost_rows(window, filters).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal(0)
    if visits:
        counts["web_visits"] = web_visits(window, filters)
    return counts


def web_visits(window: Window, filters: KpiFilters) -> int:
    return (
        Activity.objects.filter(filters.activities(), window.within("occurred_at"))
        .filter(type=ActivityType.WEB_VISIT)
        .count()
    )


def cohort_sizes(counts: dict[str, Any]) -> dict[str, int]:
    """The denominator of each cohort rate: the entries of its first stage in the period."""
    return {
        "lead_to_mql_rate": counts["leads"],
        "mql_to_sql_rate": counts["mqls"],
        "sql_to_opportunity_rate": counts["sqls"],
        "opportunity_to_won_rate": counts["opportunities"],
        "opportunity_rate": counts["mqls"],
    }
