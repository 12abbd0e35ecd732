"""The article's 15-item checklist (共通KPI設計チェックリスト), each item evaluated from the
product's data where the data can tell, with the evidence and the page that closes the gap;
the others answered by hand (who and when). Evaluations read; answers are services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.names import display_name
from accounts.roles import EXECUTIVE, MARKETING, SALES, role_label
from alignment.models import ChecklistAnswer, ChecklistScore, KpiReview, Meeting, Proposal
from alignment.usage import views_by_role
from feedback.models import Feedback
from funnel.choices import OpportunityStatus
from funnel.metrics.catalogue import HEADLINE_KPIS, kpi
from funnel.metrics.filters import opportunity_channel_key
from funnel.models import Activity, Opportunity, Person, SourcePerson, Target
from funnel.periods import Period, current_quarter, local_date, previous_quarter
from integrations.models import Connection
from qualification.models import CriteriaVersion
from reports.models import Department, ReportCommentary

RECENT = dt.timedelta(days=30)
LINKED = _("%(share).0f%% of persons are in two sources or more; %(count)s connections sync")
KNOWN_CHANNEL_SHARE = Decimal("0.9")


@dataclass(frozen=True)
class Verdict:
    holds: bool | None  # None: the data cannot tell and nobody answered yet
    evidence: str
    by_hand: ChecklistAnswer | None = None


@dataclass(frozen=True)
class Item:
    key: str
    text: Promise  # the article's wording
    link: str  # URL name of the page that closes the gap
    evaluate: Callable[[Period, dt.datetime], Verdict] | None  # None: answered by hand

    @property
    def by_hand(self) -> bool:
        return self.evaluate is None


@dataclass(frozen=True)
class ItemResult:
    item: Item
    verdict: Verdict


def _tree(period: Period, now: dt.datetime) -> Verdict:
    has = Target.objects.filter(period=period.name, kpi="won_amount").exists()
    inputs = Target.objects.filter(period=period.name).exclude(kpi="won_amount").count()
    return Verdict(
        has and inputs > 0,
        str(_("%(period)s: revenue target %(target)s, %(inputs)s other targets"))
        % {"period": period.name, "target": _("set") if has else _("missing"), "inputs": inputs},
    )


def _shared_targets(period: Period, now: dt.datetime) -> Verdict:
    set_keys = set(
        Target.objects.filter(period=period.name, kpi__in=HEADLINE_KPIS).values_list(
            "kpi", flat=True
        )
    )
    missing = [str(kpi(key).label) for key in HEADLINE_KPIS if key not in set_keys]
    if not missing:
        return Verdict(
            True, str(_("%(period)s: every shared KPI has a target")) % {"period": period.name}
        )
    return Verdict(
        False,
        str(_("%(period)s: no target for %(missing)s"))
        % {"period": period.name, "missing": ", ".join(missing)},
    )


def _criteria(period: Period, now: dt.datetime) -> Verdict:
    agreed = CriteriaVersion.objects.filter(
        status=CriteriaVersion.Status.IN_EFFECT, effective_at__lte=now
    ).order_by("-effective_at")
    stages = sorted({version.stage.upper() for version in agreed})
    if stages:
        return Verdict(
            True, str(_("Agreed by both teams: %(stages)s")) % {"stages": ", ".join(stages)}
        )
    return Verdict(False, str(_("No MQL/SQL criteria agreed by both teams yet")))


def _linked(period: Period, now: dt.datetime) -> Verdict:
    """Persons whose records come from two sources or more (an MA's and an SFA's, joined by
    email): the funnel runs from lead to won across the systems."""
    joined = (
        SourcePerson.objects.values("person_id")
        .annotate(sources=Count("source_id", distinct=True))
        .filter(sources__gt=1)
        .count()
    )
    total = Person.objects.count()
    connections = Connection.objects.filter(enabled=True).count()
    share = joined / total if total else 0
    return Verdict(joined > 0, str(LINKED) % {"share": share * 100, "count": connections})


def _feedback(period: Period, now: dt.datetime) -> Verdict:
    recent = Feedback.objects.filter(decided_at__gte=now - RECENT).count()
    return Verdict(
        recent > 0,
        str(_("%(count)s decisions on MQLs in the MQL inbox in the last 30 days"))
        % {"count": recent},
    )


def _since(now: dt.datetime) -> dt.date:
    return local_date(now - RECENT)


def _behaviour(period: Period, now: dt.datetime) -> Verdict:
    """Sales read the persons' MA history: activities are linked, and sales open person
    pages."""
    linked = Activity.objects.filter(person__isnull=False).count()
    opened = views_by_role("person", _since(now))[SALES]
    return Verdict(
        linked > 0 and opened > 0,
        str(
            _(
                "%(count)s MA activities linked to persons; sales opened person pages "
                "%(opened)s times in the last 30 days"
            )
        )
        % {"count": linked, "opened": opened},
    )


def _dashboard(period: Period, now: dt.datetime) -> Verdict:
    """One shared dashboard both teams look at."""
    views = views_by_role("dashboard", _since(now))
    return Verdict(
        views[MARKETING] > 0 and views[SALES] > 0,
        str(_("Dashboard opened in the last 30 days: marketing %(m)s, sales %(s)s times"))
        % {"m": views[MARKETING], "s": views[SALES]},
    )


MEETING_WEEKS = 4
MEETINGS_WANTED = 3


def _meetings(period: Period, now: dt.datetime) -> Verdict:
    """Weekly meetings: a meeting recorded in at least 3 of the last 4 weeks."""
    today = local_date(now)
    held = Meeting.objects.filter(
        held_on__gt=today - dt.timedelta(weeks=MEETING_WEEKS), held_on__lte=today
    ).values_list("held_on", flat=True)
    weeks = {day.isocalendar()[:2] for day in held}
    return Verdict(
        len(weeks) >= MEETINGS_WANTED,
        str(_("Meetings recorded in %(weeks)s of the last 4 weeks (3 wanted)"))
        % {"weeks": len(weeks)},
    )


def _success(period: Period, now: dt.datetime) -> Verdict:
    """What converts is read by both teams."""
    views = views_by_role("what_converts", _since(now))
    return Verdict(
        views[MARKETING] > 0 and views[SALES] > 0,
        str(_("'What converts' opened in the last 30 days: marketing %(m)s, sales %(s)s times"))
        % {"m": views[MARKETING], "s": views[SALES]},
    )


def _non_conversion(period: Period, now: dt.datetime) -> Verdict:
    reasons = Person.objects.filter(disqualified_at__isnull=False).exclude(disqualify_reason="")
    lost = Opportunity.objects.filter(status=OpportunityStatus.LOST).exclude(loss_reason="")
    return Verdict(
        reasons.exists() or lost.exists(),
        str(_("%(reasons)s disqualified leads and %(lost)s lost deals carry a reason"))
        % {"reasons": reasons.count(), "lost": lost.count()},
    )


def _won_channels(period: Period, now: dt.datetime) -> Verdict:
    won = Opportunity.objects.filter(status=OpportunityStatus.WON).annotate(
        channel_key=opportunity_channel_key()
    )
    total = won.count()
    known = won.filter(channel_key__isnull=False).count()
    share = Decimal(known) / total if total else Decimal(0)
    return Verdict(
        total > 0 and share >= KNOWN_CHANNEL_SHARE,
        str(
            _("%(share).0f%% of %(total)s won deals have a known first-touch channel (90%% wanted)")
        )
        % {"share": float(share * 100), "total": total},
    )


def _reviewed(period: Period, now: dt.datetime) -> Verdict:
    quarters = {period.name, previous_quarter(period).name}
    last = KpiReview.objects.filter(quarter__in=quarters).select_related("reviewed_by").first()
    if last is None:
        return Verdict(False, str(_("No KPI review in this or the last quarter")))
    return Verdict(
        True,
        str(_("Reviewed for %(quarter)s by %(who)s"))
        % {"quarter": last.quarter, "who": display_name(last.reviewed_by)},
    )


def _commentary_of(period: Period) -> set[str]:
    return set(
        ReportCommentary.objects.filter(period=previous_quarter(period).name)
        .exclude(text="")
        .values_list("department", flat=True)
    )


def _reported(period: Period, now: dt.datetime) -> Verdict:
    """The quarterly report reaches executives: they opened or downloaded it this or last
    quarter, or the teams wrote their commentary in it."""
    written = _commentary_of(period)
    opened = views_by_role("report", previous_quarter(period).start)[EXECUTIVE]
    return Verdict(
        bool(written) or opened > 0,
        str(
            _(
                "The %(quarter)s quarterly report has commentary by %(count)s of 2 teams; "
                "executives opened or downloaded reports %(opened)s times since it began"
            )
        )
        % {"quarter": previous_quarter(period).name, "count": len(written), "opened": opened},
    )


def _misses(period: Period, now: dt.datetime) -> Verdict:
    written = _commentary_of(period)
    both = {Department.MARKETING, Department.SALES} <= written
    return Verdict(
        both,
        str(_("Both teams commented the %(quarter)s results"))
        % {"quarter": previous_quarter(period).name}
        if both
        else str(_("Only %(count)s of 2 teams commented the %(quarter)s results"))
        % {"count": len(written), "quarter": previous_quarter(period).name},
    )


def _proposals(period: Period, now: dt.datetime) -> Verdict:
    teams = set(Proposal.objects.values_list("team", flat=True)) - {""}
    both = {MARKETING, SALES} <= teams
    if not teams:
        return Verdict(False, str(_("No proposal from either team yet")))
    names = ", ".join(role_label(team) for team in sorted(teams))
    return Verdict(both, str(_("Proposals from: %(teams)s")) % {"teams": names})


ITEMS = (
    Item(
        "kpi_tree", _("A KPI tree is built backwards from the revenue target (KGI)"), "home", _tree
    ),
    Item(
        "shared_kpis",
        _("Marketing and sales share KPIs (opportunities, opportunity rate, won amount, ...)"),
        "home",
        _shared_targets,
    ),
    Item(
        "criteria",
        _("Both teams agree on the criteria from MQL to SQL"),
        "qualification:agreement",
        _criteria,
    ),
    Item(
        "linked",
        _("MA and SFA data are joined from lead to won deal"),
        "integrations:connections",
        _linked,
    ),
    Item(
        "dashboard",
        _("Both teams see the data in real time on one shared dashboard"),
        "home",
        _dashboard,
    ),
    Item(
        "meetings",
        _("Regular meetings between the teams share the KPIs' progress"),
        "alignment:meeting",
        _meetings,
    ),
    Item(
        "feedback",
        _("Sales feed back to marketing on lead quality"),
        "feedback:inbox",
        _feedback,
    ),
    Item(
        "behaviour",
        _("Marketing gives sales the customers' behaviour history"),
        "records:persons",
        _behaviour,
    ),
    Item(
        "non_conversion",
        _("The reasons why leads did not become opportunities are analysed"),
        "feedback:summary",
        _non_conversion,
    ),
    Item(
        "won_channels",
        _("The channels of won leads are tracked"),
        "records:opportunities",
        _won_channels,
    ),
    Item(
        "reviews",
        _("The KPIs are reviewed regularly (every quarter, for example)"),
        "alignment:definitions",
        _reviewed,
    ),
    Item(
        "executives",
        _("Both teams' KPI results are reported to executives"),
        "reports:quarterly-latest",
        _reported,
    ),
    Item(
        "misses",
        _("Both teams analyse together why a KPI was missed"),
        "reports:quarterly-latest",
        _misses,
    ),
    Item(
        "success",
        _("Success stories (what high-converting leads have in common) are shared"),
        "alignment:patterns",
        _success,
    ),
    Item(
        "proposals",
        _("Both teams can propose improvements to the KPI design"),
        "alignment:proposals",
        _proposals,
    ),
)


def evaluate(now: dt.datetime | None = None) -> list[ItemResult]:
    now = now or timezone.now()
    period = current_quarter(now)
    answers: dict[str, ChecklistAnswer] = {}
    for found in ChecklistAnswer.objects.select_related("answered_by"):
        answers.setdefault(found.item, found)
    results = []
    for item in ITEMS:
        if item.evaluate is not None:
            results.append(ItemResult(item, item.evaluate(period, now)))
            continue
        answer = answers.get(item.key)
        if answer is None:
            verdict = Verdict(None, str(_("The data cannot tell: answer it by hand")))
        else:
            verdict = Verdict(answer.holds, answer.note, answer)
        results.append(ItemResult(item, verdict))
    return results


def record_score(now: dt.datetime | None = None) -> ChecklistScore:
    """Today's score (replacing an earlier one of the same day)."""
    now = now or timezone.now()
    results = evaluate(now)
    score, _created = ChecklistScore.objects.update_or_create(
        day=timezone.localdate(now),
        defaults={
            "held": sum(1 for r in results if r.verdict.holds),
            "total": len(results),
            "items": {r.item.key: r.verdict.holds for r in results},
        },
    )
    return score


def score_on(day: dt.date) -> ChecklistScore | None:
    """The latest score recorded on or before `day`."""
    return ChecklistScore.objects.filter(day__lte=day).order_by("-day").first()
