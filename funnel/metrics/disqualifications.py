"""Why sales rejected leads in a period (kpi-spec section 2: `disqualified_at` and a reason
code), for the article's checklist item 「商談化しなかったリードの理由を分析している」.

A person counts once, in the period of its `disqualified_at` (the first disqualification
among its sources, as ingest merges it), when that moment is in the window and `<= as_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Count
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from funnel.choices import DisqualifyReason
from funnel.metrics.filters import KpiFilters
from funnel.metrics.kept import kept
from funnel.metrics.window import Window
from funnel.models import Person

NO_REASON = ""
_ORDER = {code: index for index, code in enumerate(DisqualifyReason.values)}


@dataclass(frozen=True)
class ReasonCount:
    code: str
    count: int
    share: Fraction

    @property
    def label(self) -> str | Promise:
        if self.code == NO_REASON:
            return _("No reason given")
        return DisqualifyReason(self.code).label


@kept
def disqualification_reasons(
    window: Window, filters: KpiFilters | None = None
) -> list[ReasonCount]:
    """Persons disqualified in the window, per reason code: count and share of the total.

    Most frequent first; a tie keeps the order of DisqualifyReason, "no reason" last.
    """
    filters = filters or KpiFilters()
    rows = (
        Person.objects.filter(filters.persons())
        .filter(window.within("disqualified_at"))
        .values("disqualify_reason")
        .annotate(count=Count("pk"))
    )
    counts = {row["disqualify_reason"]: row["count"] for row in rows}
    total = sum(counts.values())
    ordered = sorted(counts, key=lambda code: (-counts[code], _ORDER.get(code, len(_ORDER))))
    return [ReasonCount(code, counts[code], Fraction(counts[code], total)) for code in ordered]
