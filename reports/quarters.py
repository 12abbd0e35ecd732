"""Fiscal quarters as the quarterly report names them (FY2026Q1)."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext

from funnel.periods import Period, PeriodError, current_quarter, fiscal_quarter, parse_period

QUARTER = re.compile(r"^FY(\d{4})Q([1-4])$")


class NotAQuarter(ValueError):
    """A report period that is not a fiscal quarter name (FY2026Q1)."""


def report_quarter(name: str) -> Period:
    """The fiscal quarter called `name`; anything else (FY2026, 2026-05, FY2026Q5) is refused."""
    try:
        period = parse_period(name)
    except PeriodError as exc:
        raise NotAQuarter(str(exc)) from None
    if not QUARTER.match(period.name):
        raise NotAQuarter(
            gettext(
                "'%(name)s' is not a fiscal quarter: the quarterly report needs a name like "
                "FY2026Q1"
            )
            % {"name": name}
        )
    return period


def default_quarter(as_of: dt.datetime) -> Period:
    """The quarter `/reports/quarterly/` opens: the one in progress at `as_of`."""
    return current_quarter(as_of)


def year_earlier(period: Period) -> Period:
    match = QUARTER.match(period.name)
    assert match, period.name
    return fiscal_quarter(int(match[1]) - 1, int(match[2]))


def quarter_label(period: Period) -> str:
    """`FY2026 Q1` (Japanese: 2026年度 第1四半期)."""
    match = QUARTER.match(period.name)
    if not match:
        return period.name
    return gettext("FY%(year)s Q%(quarter)s") % {"year": match[1], "quarter": match[2]}
