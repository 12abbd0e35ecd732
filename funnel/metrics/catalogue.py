"""The KPI catalogue: every fact about a KPI that is not its computation.

One entry per key of kpi-spec sections 3 and 4: its label (ja/en through Django i18n), unit,
direction (is higher better?), owning team (section 3), the records page a count drills to,
the cohort whose first stage is a rate's denominator, and a definition in plain words. The
dashboard, the quarterly report (HTML, PDF, Excel), the charts, the API schema and the
`kpis` table output all read these facts here.

Adding a KPI touches two places: its computation in `funnel.metrics` and its entry below.
The KPI tree's null reasons are codes (`TreeReason`) with translated labels, so every page
and export says them in the reader's language.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Unit(enum.StrEnum):
    COUNT = "count"
    MONEY = "money"
    RATE = "rate"
    DAYS = "days"


class Team(enum.StrEnum):
    """The department of spec section 3 ("shared": both teams are judged on it)."""

    SHARED = "shared"
    MARKETING = "marketing"
    SALES = "sales"

    @property
    def label(self) -> Promise:
        return TEAM_LABELS[self]


TEAM_LABELS = {
    Team.SHARED: _("Shared KPIs (marketing and sales)"),
    Team.MARKETING: _("Marketing KPIs"),
    Team.SALES: _("Sales KPIs"),
}


class RecordsPage(enum.StrEnum):
    """The record lists a count drills down to (the records app's pages)."""

    PERSONS = "persons"
    OPPORTUNITIES = "opportunities"


@dataclass(frozen=True)
class Kpi:
    """What a KPI means on a page. `records` is (page, the list's `kpi` filter) for a KPI
    whose value counts or sums records; `cohort_base` names the count whose records are a
    cohort rate's denominator; `velocity` the median days of the same stage pair."""

    key: str
    label: Promise
    short_label: Promise
    unit: Unit
    definition: Promise
    team: Team | None = None
    lower_is_better: bool = False
    additive: bool = False
    records: tuple[RecordsPage, str] | None = None
    cohort_base: str | None = None
    velocity: str | None = None

    @property
    def is_rate(self) -> bool:
        return self.unit is Unit.RATE


def _kpi(key: str, **facts: object) -> tuple[str, Kpi]:
    return key, Kpi(key=key, **facts)  # type: ignore[arg-type]


PERSONS, OPPS = RecordsPage.PERSONS, RecordsPage.OPPORTUNITIES
CATALOGUE: dict[str, Kpi] = dict(
    (
        # --- section 3: period KPIs -----------------------------------------------------
        _kpi(
            "leads",
            label=_("New leads"),
            short_label=_("Leads"),
            unit=Unit.COUNT,
            team=Team.MARKETING,
            additive=True,
            records=(PERSONS, "leads"),
            definition=_("Persons first created (in any source) in the period."),
        ),
        _kpi(
            "mqls",
            label=_("MQLs"),
            short_label=_("MQLs"),
            unit=Unit.COUNT,
            team=Team.MARKETING,
            additive=True,
            records=(PERSONS, "mqls"),
            definition=_("Persons who first became MQL in the period."),
        ),
        _kpi(
            "web_visits",
            label=_("Website visits"),
            short_label=_("Visits"),
            unit=Unit.COUNT,
            team=Team.MARKETING,
            additive=True,
            definition=_("Web visit activities in the period."),
        ),
        _kpi(
            "marketing_cost",
            label=_("Marketing cost"),
            short_label=_("Cost"),
            unit=Unit.MONEY,
            team=Team.MARKETING,
            lower_is_better=True,
            additive=True,
            definition=_("Sum of the cost entries dated in the period."),
        ),
        _kpi(
            "cpa",
            label=_("CPA (cost per lead)"),
            short_label=_("CPA"),
            unit=Unit.MONEY,
            team=Team.MARKETING,
            lower_is_better=True,
            definition=_("Marketing cost divided by new leads."),
        ),
        _kpi(
            "cost_per_opportunity",
            label=_("Cost per opportunity"),
            short_label=_("Cost/opp"),
            unit=Unit.MONEY,
            team=Team.MARKETING,
            lower_is_better=True,
            definition=_("Marketing cost divided by opportunities."),
        ),
        _kpi(
            "sqls",
            label=_("SQLs"),
            short_label=_("SQLs"),
            unit=Unit.COUNT,
            team=Team.SHARED,
            additive=True,
            records=(PERSONS, "sqls"),
            definition=_("Persons who first became SQL (accepted by sales) in the period."),
        ),
        _kpi(
            "opportunities",
            label=_("Opportunities"),
            short_label=_("Opps"),
            unit=Unit.COUNT,
            team=Team.SHARED,
            additive=True,
            records=(OPPS, "opportunities"),
            definition=_("Opportunities created in the period."),
        ),
        _kpi(
            "won_amount",
            label=_("Won amount"),
            short_label=_("Won amount"),
            unit=Unit.MONEY,
            team=Team.SHARED,
            additive=True,
            # The sum over the won deals: its records are theirs.
            records=(OPPS, "won_deals"),
            definition=_("Sum of the amounts of the opportunities won in the period."),
        ),
        _kpi(
            "won_deals",
            label=_("Won deals"),
            short_label=_("Won"),
            unit=Unit.COUNT,
            team=Team.SALES,
            additive=True,
            records=(OPPS, "won_deals"),
            definition=_("Opportunities won in the period."),
        ),
        _kpi(
            "lost_deals",
            label=_("Lost deals"),
            short_label=_("Lost"),
            unit=Unit.COUNT,
            team=Team.SALES,
            lower_is_better=True,
            additive=True,
            records=(OPPS, "lost_deals"),
            definition=_("Opportunities lost in the period."),
        ),
        _kpi(
            "win_rate",
            label=_("Win rate"),
            short_label=_("Win rate"),
            unit=Unit.RATE,
            team=Team.SHARED,
            definition=_("Won deals divided by won and lost deals of the period."),
        ),
        _kpi(
            "average_deal_size",
            label=_("Average deal size"),
            short_label=_("Avg deal"),
            unit=Unit.MONEY,
            team=Team.SALES,
            definition=_("Won amount divided by won deals."),
        ),
        _kpi(
            "sales_cycle_days",
            label=_("Sales cycle (median days)"),
            short_label=_("Cycle (days)"),
            unit=Unit.DAYS,
            team=Team.SALES,
            lower_is_better=True,
            definition=_(
                "Median days from creation to close of the deals won in the period "
                "(0 when a deal closed before it was created)."
            ),
        ),
        _kpi(
            "opportunity_rate",
            label=_("Opportunity rate (MQL → opportunity)"),
            short_label=_("MQL→Opp"),
            unit=Unit.RATE,
            team=Team.SHARED,
            cohort_base="mqls",
            velocity="mql_to_opportunity_days",
            definition=_(
                "Share of the period's MQLs who reached the opportunity stage by the as-of "
                "moment (a cohort rate)."
            ),
        ),
        _kpi(
            "mql_acceptance_sla",
            label=_("MQL follow-up SLA"),
            short_label=_("SLA"),
            unit=Unit.RATE,
            team=Team.SHARED,
            definition=_(
                "Share of the period's MQLs that sales handled (SQL, opportunity, won or "
                "disqualified) before the end of the N-th business day after the MQL date, "
                "among those whose deadline has passed or that are handled."
            ),
        ),
        # --- section 4: cohort rates and velocity ----------------------------------------
        _kpi(
            "lead_to_mql_rate",
            label=_("Lead → MQL rate"),
            short_label=_("Lead→MQL"),
            unit=Unit.RATE,
            cohort_base="leads",
            velocity="lead_to_mql_days",
            definition=_("Share of the period's new leads who reached MQL by the as-of moment."),
        ),
        _kpi(
            "mql_to_sql_rate",
            label=_("MQL → SQL rate"),
            short_label=_("MQL→SQL"),
            unit=Unit.RATE,
            cohort_base="mqls",
            velocity="mql_to_sql_days",
            definition=_("Share of the period's MQLs who reached SQL by the as-of moment."),
        ),
        _kpi(
            "sql_to_opportunity_rate",
            label=_("SQL → opportunity rate"),
            short_label=_("SQL→Opp"),
            unit=Unit.RATE,
            cohort_base="sqls",
            velocity="sql_to_opportunity_days",
            definition=_(
                "Share of the period's SQLs who reached the opportunity stage by the as-of moment."
            ),
        ),
        _kpi(
            "opportunity_to_won_rate",
            label=_("Opportunity → won rate"),
            short_label=_("Opp→Won"),
            unit=Unit.RATE,
            cohort_base="opportunities",
            velocity="opportunity_to_won_days",
            definition=_(
                "Share of the opportunities created in the period that were won by the as-of "
                "moment."
            ),
        ),
        _kpi(
            "lead_to_mql_days",
            label=_("Lead → MQL (median days)"),
            short_label=_("Lead→MQL days"),
            unit=Unit.DAYS,
            lower_is_better=True,
            definition=_("Median days from lead to MQL over the cohort members who converted."),
        ),
        _kpi(
            "mql_to_sql_days",
            label=_("MQL → SQL (median days)"),
            short_label=_("MQL→SQL days"),
            unit=Unit.DAYS,
            lower_is_better=True,
            definition=_("Median days from MQL to SQL over the cohort members who converted."),
        ),
        _kpi(
            "sql_to_opportunity_days",
            label=_("SQL → opportunity (median days)"),
            short_label=_("SQL→Opp days"),
            unit=Unit.DAYS,
            lower_is_better=True,
            definition=_(
                "Median days from SQL to opportunity over the cohort members who converted."
            ),
        ),
        _kpi(
            "opportunity_to_won_days",
            label=_("Opportunity → won (median days)"),
            short_label=_("Opp→Won days"),
            unit=Unit.DAYS,
            lower_is_better=True,
            definition=_("Median days from opportunity to won over the deals won."),
        ),
        _kpi(
            "mql_to_opportunity_days",
            label=_("MQL → opportunity (median days)"),
            short_label=_("MQL→Opp days"),
            unit=Unit.DAYS,
            lower_is_better=True,
            definition=_(
                "Median days from MQL to opportunity over the cohort members who converted."
            ),
        ),
    )
)
del PERSONS, OPPS


def kpi(key: str) -> Kpi:
    return CATALOGUE[key]


def keys_of(team: Team) -> tuple[str, ...]:
    return tuple(key for key, entry in CATALOGUE.items() if entry.team is team)


def keys_where(predicate: str) -> frozenset[str]:
    return frozenset(key for key, entry in CATALOGUE.items() if getattr(entry, predicate))


# The article's four shared KPIs (商談数, 商談化率, 受注金額, 受注率), headline of every page.
HEADLINE_KPIS = ("opportunities", "opportunity_rate", "won_amount", "win_rate")
# The shared KPIs where marketing hands over to sales (spec section 3, department shared).
HANDOFF_KPIS = tuple(k for k in keys_of(Team.SHARED) if k not in HEADLINE_KPIS)
MARKETING_KPIS = keys_of(Team.MARKETING)
SALES_KPIS = keys_of(Team.SALES)
SHARED_KPIS = (*HEADLINE_KPIS, *HANDOFF_KPIS)
# Section 5b: the channel table, the same columns on the dashboard and in the report.
CHANNEL_COLUMNS = (
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "won_deals",
    "won_amount",
    "marketing_cost",
    "cpa",
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "opportunity_rate",
    "win_rate",
)
# The cohort rates of section 4 in funnel order, the headline pair last.
STAGE_RATES = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "opportunity_rate",
)
MONEY_KPIS = frozenset(k for k, entry in CATALOGUE.items() if entry.unit is Unit.MONEY)
LOWER_IS_BETTER_KPIS = keys_where("lower_is_better")
ADDITIVE_KPIS = keys_where("additive")


def ordered(keys: Iterable[str]) -> list[str]:
    """`keys` in the catalogue's order: shared first, then marketing, sales, section 4."""
    wanted = set(keys)
    order = [*SHARED_KPIS, *MARKETING_KPIS, *SALES_KPIS]
    order += [key for key in CATALOGUE if key not in order]
    return [key for key in order if key in wanted]


# --- the KPI tree's inputs and reasons (spec section 5) -----------------------------------

TREE_INPUT_LABELS: dict[str, Promise] = {
    "average_deal_size": CATALOGUE["average_deal_size"].label,
    "cpa": CATALOGUE["cpa"].label,
    "r_lead_mql": CATALOGUE["lead_to_mql_rate"].label,
    "r_mql_sql": CATALOGUE["mql_to_sql_rate"].label,
    "r_sql_opp": CATALOGUE["sql_to_opportunity_rate"].label,
    "r_opp_won": CATALOGUE["opportunity_to_won_rate"].label,
}


class TreeReason(enum.StrEnum):
    """Why a tree node is null: the code goes into the API, the label onto pages."""

    NO_TARGET = "no_target"
    ZERO_TARGET = "zero_target"
    NO_AVERAGE_DEAL_SIZE = "no_average_deal_size"
    NO_CPA = "no_cpa"
    ZERO_CPA = "zero_cpa"
    NO_R_LEAD_MQL = "no_r_lead_mql"
    NO_R_MQL_SQL = "no_r_mql_sql"
    NO_R_SQL_OPP = "no_r_sql_opp"
    NO_R_OPP_WON = "no_r_opp_won"
    ZERO_INPUT = "zero_input"

    @property
    def label(self) -> Promise:
        return TREE_REASON_LABELS[self]

    @classmethod
    def missing(cls, input_key: str, value: object) -> TreeReason:
        """The reason an input nulls its node: absent (no trailing data) or set to 0."""
        if value is None:
            return cls(f"no_{input_key}")
        return cls.ZERO_CPA if input_key == "cpa" else cls.ZERO_INPUT


TREE_REASON_LABELS: dict[TreeReason, Promise] = {
    TreeReason.NO_TARGET: _(
        "No revenue (won amount) target is set for this period, so nothing can be "
        "reverse-calculated. An ops admin can set one."
    ),
    TreeReason.ZERO_TARGET: _("The revenue target for this period is 0."),
    TreeReason.NO_AVERAGE_DEAL_SIZE: _(
        "No average deal size: no won deals in the trailing four quarters."
    ),
    TreeReason.NO_CPA: _("No CPA: no leads in the trailing four quarters."),
    TreeReason.ZERO_CPA: _("The CPA is 0, so no budget can be calculated."),
    TreeReason.NO_R_LEAD_MQL: _("No lead → MQL rate: no leads in the trailing four quarters."),
    TreeReason.NO_R_MQL_SQL: _("No MQL → SQL rate: no MQLs in the trailing four quarters."),
    TreeReason.NO_R_SQL_OPP: _("No SQL → opportunity rate: no SQLs in the trailing four quarters."),
    TreeReason.NO_R_OPP_WON: _(
        "No opportunity → won rate: no opportunities in the trailing four quarters."
    ),
    TreeReason.ZERO_INPUT: _("An input of the tree is 0, so nothing below it can be calculated."),
}


def reason_label(code: str | None) -> str:
    """The translated words of a tree reason code ("" for none)."""
    if not code:
        return ""
    return str(TreeReason(code).label)
