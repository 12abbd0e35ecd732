"""Which MQL and SQL dates a computation reads (kpi-spec 2b): for each stage in rules
mode, the qualifying moments of the version in effect at `as_of`; with none in effect,
or in source mode, the sources' dates. A version chosen by hand (`kpis --criteria`, the
API's `criteria_mql`, the backtest) applies to its stage as if it were in effect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from funnel.choices import QualificationMode
from funnel.metrics.window import StageDates
from funnel.models import QualificationSetting
from qualification.criteria import (
    STAGES,
    Criteria,
    CriteriaProblem,
    parse_criteria,
    parse_criteria_text,
)
from qualification.models import CriteriaVersion
from qualification.moments import ready_set

# Per stage: criteria applied as if in effect; None: the sources' dates for that stage.
Chosen = Mapping[str, Criteria | None]


def version_in_effect(stage: str, at: dt.datetime) -> CriteriaVersion | None:
    """The version whose approval is the latest at or before `at`; None before the first."""
    return (
        CriteriaVersion.objects.filter(
            stage=stage, status=CriteriaVersion.Status.IN_EFFECT, effective_at__lte=at
        )
        .order_by("-effective_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class Definition:
    """Where a stage's dates come from in a computation, as a page says it."""

    stage: str
    criteria: Criteria
    name: str  # the version's name, else the criteria's
    since: dt.datetime | None  # the version's approval; None for criteria chosen by hand


def definitions(as_of: dt.datetime, chosen: Chosen | None = None) -> list[Definition]:
    """The stages whose dates come from criteria at as_of: the criteria chosen by hand for
    a stage (None: its sources' dates), else in rules mode the version in effect then."""
    chosen = chosen or {}
    modes = dict(QualificationSetting.objects.values_list("stage", "mode"))
    found = []
    for stage in STAGES:
        if stage in chosen:
            criteria = chosen[stage]
            if criteria is not None:
                found.append(Definition(stage, criteria, criteria.name, None))
        elif modes.get(stage) == QualificationMode.RULES:
            version = version_in_effect(stage, as_of)
            if version is not None:
                criteria = parse_criteria(version.definition)
                found.append(Definition(stage, criteria, version.name, version.effective_at))
    return found


def stage_dates(
    as_of: dt.datetime,
    chosen: Chosen | None = None,
    applied: list[Definition] | None = None,
) -> StageDates:
    """The dates `definitions(as_of, chosen)` say (or `applied`, already read)."""
    applied = applied if applied is not None else definitions(as_of, chosen)
    sets = {d.stage: ready_set(d.criteria) for d in applied}
    mql, sql = sets.get("mql"), sets.get("sql")
    return StageDates(
        mql_set=mql.pk if mql else None,
        sql_set=sql.pk if sql else None,
        mql_on_persons=bool(mql and mql.on_persons),
        sql_on_persons=bool(sql and sql.on_persons),
    )


def criteria_of_version(stage: str, version_id: str) -> Criteria:
    """The criteria of a stored version (draft, in effect or rejected) of that stage."""
    if not version_id.isdigit():
        raise CriteriaProblem(f"criteria_{stage}: a criteria version id, not {version_id!r}")
    version = CriteriaVersion.objects.filter(pk=int(version_id)).first()
    if version is None:
        raise CriteriaProblem(f"criteria_{stage}: no criteria version {version_id}")
    if version.stage != stage:
        raise CriteriaProblem(
            f"criteria_{stage}: version {version_id} is for {version.stage}, not {stage}"
        )
    return parse_criteria(version.definition)


def chosen_criteria(spec: str) -> dict[str, Criteria]:
    """`mql=FILE_OR_ID[,sql=FILE_OR_ID]` of `kpis --criteria`: each a version id or a
    criteria JSON file of that stage."""
    chosen: dict[str, Criteria] = {}
    for part in (p.strip() for p in spec.split(",")):
        stage, _, value = part.partition("=")
        stage, value = stage.strip(), value.strip()
        if stage not in STAGES or not value:
            raise CriteriaProblem(
                f"--criteria: expected mql=FILE_OR_ID[,sql=FILE_OR_ID], not {part!r}"
            )
        if stage in chosen:
            raise CriteriaProblem(f"--criteria: {stage} given twice")
        if value.isdigit() and not Path(value).is_file():
            chosen[stage] = criteria_of_version(stage, value)
            continue
        try:
            text = Path(value).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CriteriaProblem(f"--criteria {stage}: cannot read {value}: {exc}") from None
        try:
            criteria = parse_criteria_text(text)
        except CriteriaProblem as exc:
            raise CriteriaProblem(f"--criteria {stage} ({value}): {exc}") from None
        if criteria.stage != stage:
            raise CriteriaProblem(
                f"--criteria {stage}: {value} holds {criteria.stage} criteria, not {stage}"
            )
        chosen[stage] = criteria
    return chosen
