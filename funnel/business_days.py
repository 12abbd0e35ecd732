"""Business days for the MQL follow-up SLA (kpi-spec section 3).

Monday to Friday, minus the national holidays of settings.HOLIDAY_COUNTRY (Japan by default)
and the company's own holidays (CompanyHoliday, set in admin).
"""

from __future__ import annotations

import datetime as dt
import importlib
from functools import lru_cache
from typing import Any

import holidays
from django.conf import settings
from holidays import registry

from funnel.models import CompanyHoliday


@lru_cache(maxsize=16)
def _national_holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(_country_calendar(country)(years=year).keys())


@lru_cache(maxsize=4)
def _country_calendar(code: str) -> Any:
    """The holidays class of one country, importing only its module:
    holidays.country_holidays() loads all 250 on its first call (~0.1 s of every `kpis`)."""
    for module, (name, *codes) in registry.COUNTRIES.items():
        if code.upper() in codes:
            return getattr(importlib.import_module(f"holidays.countries.{module}"), name)
    return holidays.country_holidays(code).__class__  # raises the library's own error


class BusinessCalendar:
    """Loaded once per computation so company holidays cost one query."""

    def __init__(self, first_year: int, last_year: int) -> None:
        years = range(first_year, last_year + 2)  # deadlines can cross into the next year
        days_off: set[dt.date] = set()
        for year in years:
            days_off |= _national_holidays(settings.HOLIDAY_COUNTRY, year)
        days_off.update(
            CompanyHoliday.objects.filter(
                date__year__gte=first_year, date__year__lte=last_year + 1
            ).values_list("date", flat=True)
        )
        self.days_off = frozenset(days_off)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.days_off

    def nth_business_day_after(self, day: dt.date, n: int) -> dt.date:
        """Counted from the day after `day`, also when `day` itself is a day off."""
        current = day
        remaining = n
        while remaining > 0:
            current += dt.timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return current
