"""Enumerations of the funnel domain (kpi-spec sections 2, 3 and 6), one place each."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """Funnel stages in order: lead < mql < sql < opportunity < won (spec section 2)."""

    LEAD = "lead", _("Lead")
    MQL = "mql", _("MQL")
    SQL = "sql", _("SQL")
    OPPORTUNITY = "opportunity", _("Opportunity")
    WON = "won", _("Won")


STAGE_ORDER: tuple[str, ...] = tuple(Stage.values)


class SourceKind(models.TextChoices):
    MA = "ma", _("Marketing automation")
    SFA = "sfa", _("Sales force automation")
    CSV = "csv", _("CSV files")
    FEEDBACK = "feedback", _("Sales feedback (KPI Bridge)")


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ActivityType(models.TextChoices):
    WEB_VISIT = "web_visit", _("Web visit")
    PAGE_VIEW = "page_view", _("Page view")
    FORM_SUBMIT = "form_submit", _("Form submission")
    DOWNLOAD = "download", _("Download")
    EMAIL_OPEN = "email_open", _("Email open")
    EMAIL_CLICK = "email_click", _("Email click")
    WEBINAR = "webinar", _("Webinar")
    EVENT = "event", _("Event")


class DisqualifyReason(models.TextChoices):
    """Why sales rejected a lead (spec section 2). Unknown source codes map to OTHER."""

    WRONG_TARGET = "wrong_target", _("Wrong target")
    NO_BUDGET = "no_budget", _("No budget")
    NO_TIMING = "no_timing", _("No timing")
    DUPLICATE = "duplicate", _("Duplicate")
    COMPETITOR = "competitor", _("Competitor")
    STUDENT_JOB_SEEKER = "student_job_seeker", _("Student / job seeker")
    OTHER = "other", _("Other")


class QualificationMode(models.TextChoices):
    """Where MQL/SQL dates come from, chosen per stage by the ops admin (spec section 2)."""

    SOURCE = "source", _("From the source system")
    RULES = "rules", _("From the agreed criteria")


class Origin(models.TextChoices):
    MARKETING = "marketing", _("Marketing-sourced")
    SALES = "sales", _("Sales-sourced")


# Period KPI keys of spec section 3, in the order the product shows them.
PERIOD_KPI_KEYS: tuple[str, ...] = (
    "leads",
    "mqls",
    "web_visits",
    "marketing_cost",
    "cpa",
    "cost_per_opportunity",
    "sqls",
    "opportunities",
    "won_amount",
    "won_deals",
    "lost_deals",
    "win_rate",
    "average_deal_size",
    "sales_cycle_days",
    "opportunity_rate",
    "mql_acceptance_sla",
)

# Channel keys that are sales-sourced unless an admin says otherwise (spec section 2: origin).
DEFAULT_SALES_CHANNEL_KEYS: frozenset[str] = frozenset(
    {"outbound", "partner", "sales", "inside_sales", "field_sales", "direct_sales"}
)
