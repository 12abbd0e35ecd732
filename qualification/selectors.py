"""Which criteria version applies when (kpi-spec section 2b): at `as_of`, for each stage,
the version whose approval is the latest at or before it; none before the first. And what
the agreement page shows: the versions in effect, the drafts with what they change, the
history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qualification import presenters
from qualification.criteria import Criteria, parse_criteria
from qualification.models import CriteriaStage, CriteriaVersion
from qualification.services import may_decide


def version_in_effect(stage: str, at: dt.datetime) -> CriteriaVersion | None:
    return (
        CriteriaVersion.objects.filter(
            stage=stage, status=CriteriaVersion.Status.IN_EFFECT, effective_at__lte=at
        )
        .order_by("-effective_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class VersionView:
    version: CriteriaVersion
    lines: list[presenters.DiffLine]  # against the version in effect, for a draft
    may_decide: bool


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
