"""Which criteria version applies when (kpi-spec section 2b): at `as_of`, for each stage,
the version whose approval is the latest at or before it; none before the first."""

from __future__ import annotations

import datetime as dt

from qualification.models import CriteriaVersion


def version_in_effect(stage: str, at: dt.datetime) -> CriteriaVersion | None:
    return (
        CriteriaVersion.objects.filter(
            stage=stage, status=CriteriaVersion.Status.IN_EFFECT, effective_at__lte=at
        )
        .order_by("-effective_at", "-pk")
        .first()
    )
