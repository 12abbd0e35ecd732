"""REST API v1: the KPI object of kpi-spec section 7 (login or token required)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import DASHBOARD_ROLES, HasRole
from dashboard.questions import BadQuestion, kpi_question
from funnel.metrics.catalogue import CATALOGUE, TREE_INPUT_LABELS, TreeReason, ordered
from funnel.metrics.filters import FILTER_PARAMS
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.metrics.tree import INPUT_KEYS
from qualification.applied import stage_dates
from qualification.criteria import STAGES

_PARAMETERS = [
    OpenApiParameter(
        "period",
        str,
        description="FY2026, FY2026Q1, 2026-05 or 2026-04-01..2026-06-30 (default: this quarter)",
    ),
    OpenApiParameter(
        "as_of",
        str,
        description="ISO 8601 moment the numbers are computed at; default: now (the last "
        "second of the current minute)",
    ),
    *[OpenApiParameter(name, str, description=f"narrow to one {name}") for name in FILTER_PARAMS],
    OpenApiParameter(
        "conversion_days",
        int,
        description="count a cohort conversion only within this many days of the member's "
        "cohort date (1-3650; default: any time up to as_of, the spec's rates)",
    ),
    *[
        OpenApiParameter(
            f"criteria_{stage}",
            int,
            description=f"compute with this {stage.upper()} criteria version (a draft, the "
            "version in effect or an older one) as if it were in effect at as_of, in rules "
            "mode (kpi-spec 2b, section 7)",
        )
        for stage in STAGES
    ],
    *[
        OpenApiParameter(
            f"what_if_{key}",
            str,
            description=f"KPI tree what-if: use this {TREE_INPUT_LABELS[key]} ({key})",
        )
        for key in INPUT_KEYS
    ],
]


def _kpis_description() -> str:
    """The `kpis` object's keys with unit, team and definition, from the KPI catalogue."""
    lines = [
        "The KPI object of the spec, section 7. `kpis` holds, per key (rates are fractions, "
        "money a number in company currency, null when a denominator is 0):",
        "",
    ]
    for key in ordered(CATALOGUE):
        entry = CATALOGUE[key]
        team = f", {entry.team.value}" if entry.team else ""
        lines.append(f"- `{key}` ({entry.unit.value}{team}): {entry.label}. {entry.definition}")
    lines += ["", "A null tree node carries `reason`, one of: "]
    lines.append(", ".join(f"`{reason.value}` ({reason.label})" for reason in TreeReason))
    return "\n".join(lines)


class KpiView(APIView):
    """GET /api/v1/kpis/: the same object as `manage.py kpis --format json`."""

    permission_classes = [HasRole]
    allowed_roles = DASHBOARD_ROLES

    @extend_schema(
        parameters=_PARAMETERS,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description=_kpis_description()),
            400: OpenApiResponse(
                OpenApiTypes.OBJECT, description="a parameter that cannot be read"
            ),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            question = kpi_question(request.query_params)
        except BadQuestion as exc:
            return Response({"detail": str(exc)}, status=400)
        try:
            dates = stage_dates(question.as_of, question.criteria)
        except RuntimeError as exc:  # the criteria's moments could not be computed
            return Response({"detail": str(exc)}, status=503)
        snapshot = kpi_snapshot(
            question.period,
            question.as_of,
            question.filters,
            question.what_if,
            dates,
            question.conversion_days,
        )
        return Response(json_ready(snapshot))
