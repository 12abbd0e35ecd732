"""Business days for the MQL follow-up SLA (kpi-spec section 3).

Monday to Friday, minus the national holidays of settings.HOLIDAY_COUNTRY (Japan by default)
and the company's own holidays (CompanyHoliday, set in admin).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from functools import lru_cache
from pathlib import Path
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
    """The holidays class of one country. Its module is loaded from its file under a name
    of ours: importing `holidays.countries.<name>` first runs that package's __init__, which
    imports all 250 countries (~40 ms of every `kpis`; holidays.country_holidays() too)."""
    for module, (name, *codes) in registry.COUNTRIES.items():
        if code.upper() in codes:
            path = Path(holidays.__file__).parent / "countries" / f"{module}.py"
            spec = importlib.util.spec_from_file_location(f"_kpi_bridge_holidays_{module}", path)
            if not path.exists() or spec is None or spec.loader is None:
                break  # another layout of the library: its own way below
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
            return getattr(loaded, name)
    return holidays.country_holidays(code).__class__  # or the library's own error


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
