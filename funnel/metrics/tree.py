"""The KPI tree (逆算, kpi-spec section 5): required numbers reverse-calculated from the
revenue target, against actuals and the expected pace, with the bottleneck.

All arithmetic is exact (fractions.Fraction): `ceil(14.000000001)` must not happen.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from funnel.metrics.catalogue import TreeReason
from funnel.metrics.counts import Window, cohort_sizes, funnel_counts
from funnel.metrics.filters import KpiFilters
from funnel.metrics.window import SOURCE_DATES, StageDates
from funnel.models import Target, TreeOverride
from funnel.periods import Period, trailing_four_quarters

INPUT_KEYS = ("average_deal_size", "cpa", "r_lead_mql", "r_mql_sql", "r_sql_opp", "r_opp_won")
RATE_OF_INPUT = {
    "r_lead_mql": "lead_to_mql_rate",
    "r_mql_sql": "mql_to_sql_rate",
    "r_sql_opp": "sql_to_opportunity_rate",
    "r_opp_won": "opportunity_to_won_rate",
}
# Each node: (key, the input that divides the node above into it).
CHAIN = (
    ("won_deals", "average_deal_size"),
    ("opportunities", "r_opp_won"),
    ("sqls", "r_sql_opp"),
    ("mqls", "r_mql_sql"),
    ("leads", "r_lead_mql"),
)
NODE_KEYS = ("won_amount", "won_deals", "opportunities", "sqls", "mqls", "leads")
# Bottleneck candidates in funnel order: on a tie the earlier stage wins (section 5).
FUNNEL_ORDER = ("leads", "mqls", "sqls", "opportunities", "won_deals")


@dataclass
class TreeInputs:
    values: dict[str, Fraction | None]
    overrides: list[str] = field(default_factory=list)
    trailing: Period | None = None


def _fraction(numerator: Any, denominator: Any) -> Fraction | None:
    if not denominator:
        return None
    return Fraction(Decimal(numerator)) / Fraction(Decimal(denominator))


def trailing_window(period: Period, dates: StageDates = SOURCE_DATES) -> Window:
    """The trailing four complete quarters, pooled, read as of the start of P (section 5),
    with the stage dates of the computation's as_of (kpi-spec 2b: one yardstick)."""
    return Window(trailing_four_quarters(period), period.start_at, dates)


def trailing_counts(period: Period, dates: StageDates = SOURCE_DATES) -> dict[str, Any]:
    """Company-wide counts and medians of the trailing window (tree inputs, maturity)."""
    return funnel_counts(trailing_window(period, dates), KpiFilters(), medians=True, visits=False)


def trailing_inputs(period: Period, counts: dict[str, Any] | None = None) -> TreeInputs:
    """Rates, deal size and CPA over the trailing four quarters pooled, as of P's start."""
    trailing = trailing_four_quarters(period)
    counts = counts if counts is not None else trailing_counts(period)
    sizes = cohort_sizes(counts)
    values: dict[str, Fraction | None] = {
        "average_deal_size": _fraction(counts["won_amount"], counts["won_deals"]),
        "cpa": _fraction(counts["marketing_cost"], counts["leads"]),
    }
    for key, rate in RATE_OF_INPUT.items():
        values[key] = _fraction(counts[f"{rate}__converted"], sizes[rate])
    return TreeInputs(values=values, trailing=trailing)


def tree_inputs(
    period: Period,
    what_if: dict[str, Fraction] | None = None,
    trailing: dict[str, Any] | None = None,
) -> TreeInputs:
    """Trailing defaults, replaced by the admin's overrides, then by what-if values."""
    inputs = trailing_inputs(period, trailing)
    stored = {o.input: Fraction(o.value) for o in TreeOverride.objects.filter(period=period.name)}
    for key, value in {**stored, **(what_if or {})}.items():
        inputs.values[key] = value
        inputs.overrides.append(key)
    return inputs


def revenue_target(period: Period) -> Fraction | None:
    target = Target.objects.filter(period=period.name, kpi="won_amount").first()
    return Fraction(target.value) if target else None


def _round_yen(value: Fraction) -> int:
    """Half-up to the currency's minor unit (JPY: 1 yen)."""
    return int(
        (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )


def required_numbers(
    target: Fraction | None, inputs: dict[str, Fraction | None]
) -> tuple[dict[str, Fraction | None], dict[str, TreeReason | None]]:
    """The reverse calculation; a missing or zero input nulls its node and all below it."""
    # A zero target is a missing one: nothing can be reverse-calculated from it.
    required: dict[str, Fraction | None] = {"won_amount": target or None}
    reasons: dict[str, TreeReason | None] = {
        "won_amount": None
        if target
        else (TreeReason.NO_TARGET if target is None else TreeReason.ZERO_TARGET)
    }
    above, reason = target, reasons["won_amount"]
    for node, divisor_key in CHAIN:
        divisor = inputs.get(divisor_key)
        if reason is None and not divisor:
            reason = TreeReason.missing(divisor_key, divisor)
        if reason is None and above is not None and divisor:
            above = Fraction(math.ceil(above / divisor))
        else:
            above = None
        required[node], reasons[node] = above, reason
    cpa = inputs.get("cpa")
    leads = required["leads"]
    if leads is not None and cpa:
        required["budget"], reasons["budget"] = Fraction(_round_yen(leads * cpa)), None
    else:
        required["budget"] = None
        reasons["budget"] = reasons["leads"] or TreeReason.missing("cpa", cpa)
    return required, reasons


def kpi_tree(
    period: Period,
    as_of: dt.datetime,
    actuals: dict[str, Any],
    what_if: dict[str, Fraction] | None = None,
    trailing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The tree of spec section 7: inputs, each node, budget and the bottleneck.
    `trailing` are the trailing window's counts when the caller has them already."""
    inputs = tree_inputs(period, what_if, trailing)
    required, reasons = required_numbers(revenue_target(period), inputs.values)
    elapsed, total = period.elapsed_share(as_of)
    share = Fraction(elapsed, total)
    tree: dict[str, Any] = {
        "inputs": {
            **{key: inputs.values.get(key) for key in INPUT_KEYS},
            "overrides": sorted(inputs.overrides),
            "trailing_period": inputs.trailing.as_dict() if inputs.trailing else None,
        },
        "elapsed_share": share,
    }
    ratios: dict[str, Fraction] = {}
    for key in NODE_KEYS:
        need = required[key]
        actual = actuals[key]
        expected = need * share if need is not None else None
        status = None
        if expected is not None:
            status = "on_track" if Fraction(Decimal(actual)) >= expected else "behind"
            if expected > 0 and key != "won_amount":
                ratios[key] = Fraction(Decimal(actual)) / expected
        tree[key] = {
            "required": need,
            "actual": actual,
            "expected": expected,
            "status": status,
            "reason": reasons[key],
        }
    tree["budget"] = {"required": required["budget"], "reason": reasons["budget"]}
    bottleneck = None
    for key in FUNNEL_ORDER:
        if key in ratios and (bottleneck is None or ratios[key] < ratios[bottleneck]):
            bottleneck = key
    tree["bottleneck"] = bottleneck
    return tree


def raised_rate(period: Period, input_key: str, points: Fraction) -> dict[str, Fraction]:
    """What-if: one input raised by N percentage points (a rate) or N (deal size, CPA)."""
    base = tree_inputs(period).values.get(input_key)
    if base is None:
        raise ValueError(f"{input_key} has no value to change for {period.name}")
    step = points / 100 if input_key.startswith("r_") else points
    return {input_key: max(base + step, Fraction(0))}
