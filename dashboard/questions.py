"""Reading the KPI question out of a request: period, as_of, filters, what-if.

Pages and the API use this one parser, so a link to the page and an API call with the same
query string ask the same question.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from funnel.metrics.filters import KpiFilters, filters_from_params
from funnel.metrics.tree import INPUT_KEYS, RATE_OF_INPUT
from funnel.periods import (
    Period,
    PeriodError,
    current_quarter,
    parse_as_of,
    parse_period,
    this_minute,
)
from funnel.values import BadValue
from qualification.applied import criteria_of_version
from qualification.criteria import STAGES, Criteria, CriteriaProblem

_SPACED_OFFSET = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")


class BadQuestion(ValueError):
    """A query parameter that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class KpiQuestion:
    period: Period
    as_of: dt.datetime
    filters: KpiFilters
    what_if: dict[str, Fraction]
    # criteria_mql / criteria_sql: a stored version computed as if in effect (kpi-spec 7)
    criteria: dict[str, Criteria] = field(default_factory=dict)
    # conversion_days: count a cohort conversion only within N days (the cohort funnel)
    conversion_days: int | None = None


# What-if values the tree answers for: a rate is 0 or between one in a million and 1, an
# amount of money at most a trillion (company currency); the numbers it derives then stay
# within what a page, JSON and a spreadsheet can show.
MIN_RATE = Fraction(1, 10**6)
MAX_MONEY = Fraction(10**12)
_NUMBER = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,15})?$")


def _what_if(params: Mapping[str, str]) -> dict[str, Fraction]:
    """`what_if_<input>=<value>`: replace one tree input, e.g. what_if_r_mql_sql=0.5."""
    result: dict[str, Fraction] = {}
    for key in INPUT_KEYS:
        name = f"what_if_{key}"
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        if not _NUMBER.match(raw):
            raise BadQuestion(
                f"{name}: '{raw[:40]}' is not a plain decimal number (like 0.25 or 1200000)"
            )
        value = Fraction(raw)
        if key in RATE_OF_INPUT:
            if value > 1 or 0 < value < MIN_RATE:
                raise BadQuestion(f"{name}: {raw} is out of range (0, or 0.000001 to 1)")
        elif value > MAX_MONEY:
            raise BadQuestion(f"{name}: {raw} is out of range (at most 1,000,000,000,000)")
        result[key] = value
    return result


def _as_of_param(raw: str) -> str:
    """An unencoded `+` of a UTC offset reaches us as a space (2026-06-15T00:00:00 09:00)."""
    return _SPACED_OFFSET.sub(r"+\1", raw.strip())


def kpi_question(params: Mapping[str, str]) -> KpiQuestion:
    try:
        raw_as_of = _as_of_param(params.get("as_of") or "")
        as_of = parse_as_of(raw_as_of) if raw_as_of else this_minute()
        period_name = (params.get("period") or "").strip()
        period = parse_period(period_name) if period_name else current_quarter(as_of)
        filters = filters_from_params(params)
    except (PeriodError, BadValue) as exc:
        raise BadQuestion(str(exc)) from None
    except ValueError as exc:
        raise BadQuestion(str(exc)) from None
    return KpiQuestion(
        period,
        as_of,
        filters,
        _what_if(params),
        _criteria(params),
        _conversion_days(params),
    )


MAX_CONVERSION_DAYS = 3650


def _conversion_days(params: Mapping[str, str]) -> int | None:
    raw = (params.get("conversion_days") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CONVERSION_DAYS:
        raise BadQuestion(
            f"conversion_days: a whole number of days from 1 to {MAX_CONVERSION_DAYS}, "
            f"not {raw[:20]!r}"
        )
    return int(raw)


def _criteria(params: Mapping[str, str]) -> dict[str, Criteria]:
    chosen = {}
    for stage in STAGES:
        value = (params.get(f"criteria_{stage}") or "").strip()
        if value:
            try:
                chosen[stage] = criteria_of_version(stage, value)
            except CriteriaProblem as exc:
                raise BadQuestion(str(exc)) from None
    return chosen
