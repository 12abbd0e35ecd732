"""Business days for the MQL follow-up SLA (kpi-spec section 3).

Monday to Friday, minus the national holidays of settings.HOLIDAY_COUNTRY (Japan by default)
and the company's own holidays (CompanyHoliday, set in admin).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.conf import settings

from funnel.models import CompanyHoliday


@lru_cache(maxsize=16)
def _national_holidays(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


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
