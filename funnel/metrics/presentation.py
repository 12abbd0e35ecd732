"""How KPI values read on screen (kpi-spec section 3): money `¥1,234,567`, rates `25.0%`,
null as "-", never as 0. Labels are the spec's names, translated through Django i18n."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from funnel.choices import MONEY_KPI_KEYS

KPI_LABELS = {
    "leads": _("New leads"),
    "mqls": _("MQLs"),
    "web_visits": _("Website visits"),
    "marketing_cost": _("Marketing cost"),
    "cpa": _("CPA (cost per lead)"),
    "cost_per_opportunity": _("Cost per opportunity"),
    "sqls": _("SQLs"),
    "opportunities": _("Opportunities"),
    "won_amount": _("Won amount"),
    "won_deals": _("Won deals"),
    "lost_deals": _("Lost deals"),
    "win_rate": _("Win rate"),
    "average_deal_size": _("Average deal size"),
    "sales_cycle_days": _("Sales cycle (median days)"),
    "opportunity_rate": _("Opportunity rate (MQL → opportunity)"),
    "mql_acceptance_sla": _("MQL follow-up SLA"),
    "lead_to_mql_rate": _("Lead → MQL rate"),
    "mql_to_sql_rate": _("MQL → SQL rate"),
    "sql_to_opportunity_rate": _("SQL → opportunity rate"),
    "opportunity_to_won_rate": _("Opportunity → won rate"),
    "lead_to_mql_days": _("Lead → MQL (median days)"),
    "mql_to_sql_days": _("MQL → SQL (median days)"),
    "sql_to_opportunity_days": _("SQL → opportunity (median days)"),
    "opportunity_to_won_days": _("Opportunity → won (median days)"),
    "mql_to_opportunity_days": _("MQL → opportunity (median days)"),
}
SHARED_KPIS = (
    "opportunities",
    "opportunity_rate",
    "won_amount",
    "win_rate",
    "sqls",
    "mql_acceptance_sla",
)
MARKETING_KPIS = ("leads", "mqls", "web_visits", "marketing_cost", "cpa", "cost_per_opportunity")
SALES_KPIS = ("won_deals", "lost_deals", "average_deal_size", "sales_cycle_days")
CURRENCY_SYMBOLS = {"JPY": "¥", "USD": "$", "EUR": "€"}
NULL = "-"


def format_money(value: Any) -> str:
    if value is None:
        return NULL
    symbol = CURRENCY_SYMBOLS.get(settings.COMPANY_CURRENCY, settings.COMPANY_CURRENCY + " ")
    places = Decimal(1) if settings.COMPANY_CURRENCY == "JPY" else Decimal("0.01")
    amount = Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)
    return f"{symbol}{amount:,}"


def format_value(key: str, value: Any) -> str:
    if value is None:
        return NULL
    if key in MONEY_KPI_KEYS:
        return format_money(value)
    if key.endswith("_rate") or key == "mql_acceptance_sla":
        return f"{float(value) * 100:.1f}%"
    if key.endswith("_days") or key == "expected_count":
        return f"{float(value):,.1f}"
    return f"{int(value):,}"


def kpi_table_rows(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) for every KPI of a JSON-ready snapshot, shared KPIs first."""
    kpis = snapshot["kpis"]
    order = [*SHARED_KPIS, *MARKETING_KPIS, *SALES_KPIS]
    order += [key for key in KPI_LABELS if key not in order]
    return [(f"{KPI_LABELS[key]} ({key})", format_value(key, kpis.get(key))) for key in order]
