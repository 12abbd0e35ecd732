"""Targets set for KPIs other than revenue, shown beside those KPIs with their own pace
(kpi-spec section 5). They never replace the tree's required values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

from funnel.metrics.catalogue import kpi
from funnel.models import Target
from funnel.periods import Period


def target_pace(period: Period, as_of: dt.datetime, kpis: dict[str, Any]) -> dict[str, Any]:
    """For each target of P: target, expected by now, actual and status.

    Additive KPIs (counts, amounts) are expected at target x elapsed share; ratios are
    compared with the target itself. Lower is better for costs, lost deals and the sales
    cycle (the catalogue says which).
    """
    elapsed, total = period.elapsed_share(as_of)
    share = Fraction(elapsed, total)
    result: dict[str, Any] = {}
    for target in Target.objects.filter(period=period.name).order_by("kpi"):
        goal = Fraction(target.value)
        expected = goal * share if kpi(target.kpi).additive else goal
        actual = kpis.get(target.kpi)
        status = None
        if actual is not None:
            value = Fraction(Decimal(str(actual)))
            if kpi(target.kpi).lower_is_better:
                status = "on_track" if value <= expected else "behind"
            else:
                status = "on_track" if value >= expected else "behind"
        result[target.kpi] = {
            "target": goal,
            "expected": expected,
            "actual": actual,
            "status": status,
        }
    return result
