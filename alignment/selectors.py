"""What the KPI definitions page reads: every KPI of the catalogue by team, with the last
review that covered it; and the proposals with their comments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from alignment.models import KpiReview, Proposal
from funnel.metrics.catalogue import CATALOGUE, Kpi, Team, Unit, keys_of

UNIT_LABELS = {
    Unit.COUNT: _("count"),
    Unit.MONEY: _("amount (company currency)"),
    Unit.RATE: _("rate"),
    Unit.DAYS: _("days"),
}


@dataclass(frozen=True)
class DefinitionRow:
    kpi: Kpi
    last_review: KpiReview | None

    @property
    def unit(self) -> Any:
        return UNIT_LABELS[self.kpi.unit]


def definitions() -> list[tuple[Any, list[DefinitionRow]]]:
    last: dict[str, KpiReview] = {}
    for review in KpiReview.objects.select_related("reviewed_by"):
        for key in review.kpis:
            last.setdefault(key, review)
    return [
        (team.label, [DefinitionRow(CATALOGUE[key], last.get(key)) for key in keys_of(team)])
        for team in Team
    ] + [
        (
            None,
            [
                DefinitionRow(entry, last.get(key))
                for key, entry in CATALOGUE.items()
                if entry.team is None
            ],
        )
    ]


def proposals() -> QuerySet[Proposal]:
    return Proposal.objects.select_related("proposed_by", "decided_by").prefetch_related(
        "comments__author"
    )
