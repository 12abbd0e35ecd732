"""Reading the KPI question out of a request: period, as_of, filters, what-if.

Pages and the API use this one parser, so a link to the page and an API call with the same
query string ask the same question.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from funnel.metrics.filters import KpiFilters, filters_from_params
from funnel.metrics.tree import INPUT_KEYS
from funnel.periods import Period, PeriodError, current_quarter, parse_as_of, parse_period
from funnel.values import BadValue

_SPACED_OFFSET = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")


class BadQuestion(ValueError):
    """A query parameter that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class KpiQuestion:
    period: Period
    as_of: dt.datetime
    filters: KpiFilters
    what_if: dict[str, Fraction]


def _what_if(params: Mapping[str, str]) -> dict[str, Fraction]:
    """`what_if_<input>=<value>`: replace one tree input, e.g. what_if_r_mql_sql=0.5."""
    result: dict[str, Fraction] = {}
    for key in INPUT_KEYS:
        raw = (params.get(f"what_if_{key}") or "").strip()
        if not raw:
            continue
        try:
            value = Fraction(raw)
        except (ValueError, ZeroDivisionError):
            raise BadQuestion(f"what_if_{key}: '{raw}' is not a number") from None
        if value < 0 or (key.startswith("r_") and value > 1):
            raise BadQuestion(f"what_if_{key}: {raw} is out of range")
        result[key] = value
    return result


def _as_of_param(raw: str) -> str:
    """An unencoded `+` of a UTC offset reaches us as a space (2026-06-15T00:00:00 09:00)."""
    return _SPACED_OFFSET.sub(r"+\1", raw.strip())


def kpi_question(params: Mapping[str, str]) -> KpiQuestion:
    try:
        as_of = parse_as_of(_as_of_param(params.get("as_of") or "") or None)
        period_name = (params.get("period") or "").strip()
        period = parse_period(period_name) if period_name else current_quarter(as_of)
        filters = filters_from_params(params)
    except (PeriodError, BadValue) as exc:
        raise BadQuestion(str(exc)) from None
    except ValueError as exc:
        raise BadQuestion(str(exc)) from None
    return KpiQuestion(period, as_of, filters, _what_if(params))
