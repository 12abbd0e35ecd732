"""Which criteria version applies when (kpi-spec section 2b): at `as_of`, for each stage,
the version whose approval is the latest at or before it; none before the first. And what
the agreement page shows: the versions in effect, the drafts with what they change, the
history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from qualification import presenters
from qualification.applied import version_in_effect
from qualification.backtest import backtest
from qualification.criteria import Criteria, parse_criteria
from qualification.models import CriteriaStage, CriteriaVersion
from qualification.services import may_decide


@dataclass(frozen=True)
class VersionView:
    version: CriteriaVersion
    lines: list[presenters.DiffLine]  # against the version in effect, for a draft
    may_decide: bool
    backtest: dict[str, Any] | None = None  # for a draft: see backtest_view


def backtest_view(version: CriteriaVersion, now: dt.datetime) -> dict[str, Any]:
    """What the page shows of a draft's backtest: quarters, lines, chart; or the progress
    of the moments still being computed."""
    result = backtest(version, now)
    if not result.ready:
        return {"ready": False, "waiting": result.waiting}
    current = result.compared_with.name if result.compared_with else _("source dates")
    return {
        "ready": True,
        "as_of": result.as_of,
        "current_name": current,
        "quarters": [row.period.name for row in result.rows],
        "lines": presenters.backtest_lines(result.rows),
        "figure": presenters.backtest_figure(result.rows, current, version.name),
        "figure_id": f"backtest-figure-{version.pk}",
    }


def agreement_page(user: Any, now: dt.datetime) -> dict[str, Any]:
    versions = list(
        CriteriaVersion.objects.select_related("proposed_by").prefetch_related("decisions__user")
    )
    current = {stage: version_in_effect(stage, now) for stage in CriteriaStage.values}

    def criteria_in_effect(stage: str) -> Criteria | None:
        version = current[stage]
        return parse_criteria(version.definition) if version is not None else None

    drafts = [
        VersionView(
            version,
            presenters.diff(criteria_in_effect(version.stage), parse_criteria(version.definition)),
            may_decide(version, user),
            backtest_view(version, now),
        )
        for version in versions
        if version.status == CriteriaVersion.Status.DRAFT
    ]
    in_effect = [
        VersionView(
            version,
            [
                presenters.DiffLine(t, "")
                for t in presenters.lines(parse_criteria(version.definition))
            ],
            False,
        )
        for version in (current["mql"], current["sql"])
        if version is not None
    ]
    history = [v for v in versions if v.status != CriteriaVersion.Status.DRAFT]
    return {"drafts": drafts, "in_effect": in_effect, "history": history}
