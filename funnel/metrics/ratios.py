"""Ratios derived from counts (kpi-spec sections 3 and 4); a 0 denominator gives None."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from funnel.metrics.counts import COHORT_KEYS, cohort_sizes


def ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or not denominator:
        return None
    return (
        float(Decimal(numerator) / Decimal(denominator))
        if isinstance(numerator, Decimal)
        else numerator / denominator
    )


def derived_kpis(counts: dict[str, Any]) -> dict[str, Any]:
    """Counts plus the ratios that follow from them, for a total or a breakdown row."""
    sizes = cohort_sizes(counts)
    cost = counts.get("marketing_cost")
    result = {
        key: counts[key]
        for key in (
            "leads",
            "mqls",
            "sqls",
            "opportunities",
            "won_deals",
            "lost_deals",
            "won_amount",
        )
    }
    result["marketing_cost"] = cost
    result["cpa"] = ratio(cost, counts["leads"])
    result["cost_per_opportunity"] = ratio(cost, counts["opportunities"])
    result["win_rate"] = ratio(counts["won_deals"], counts["won_deals"] + counts["lost_deals"])
    result["average_deal_size"] = ratio(counts["won_amount"], counts["won_deals"])
    for key in COHORT_KEYS:
        result[key] = ratio(counts[f"{key}__converted"], sizes[key])
    return result
