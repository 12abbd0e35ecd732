"""Writes of the kpi_dashboard app (services: every write with its checks, in one place)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.access import has_role
from accounts.roles import MARKETING, OPS_ADMIN, SALES
from funnel.periods import Period
from reports.models import Department, ReportCommentary

# Who may write each department's commentary on the quarterly report.
COMMENTARY_EDITORS = {
    Department.MARKETING.value: frozenset({MARKETING, OPS_ADMIN}),
    Department.SALES.value: frozenset({SALES, OPS_ADMIN}),
}
COMMENTARY_MAX_LENGTH = 4000


def may_edit_commentary(user: Any, department: str) -> bool:
    roles = COMMENTARY_EDITORS.get(department)
    return roles is not None and has_role(user, roles)


def save_commentary(
    *, period: Period, department: str, text: str, author: Any
) -> ReportCommentary | None:
    """Replace the department's commentary of `period`; empty text removes it.

    The text is stored verbatim (line breaks normalised); exports neutralise it.
    """
    if not may_edit_commentary(author, department):
        raise PermissionDenied("Your role may not edit this department's commentary.")
    text = text.replace("\r\n", "\n").strip()
    with transaction.atomic():
        if not text:
            ReportCommentary.objects.filter(period=period.name, department=department).delete()
            return None
        commentary, _ = ReportCommentary.objects.update_or_create(
            period=period.name,
            department=department,
            defaults={"text": text, "author": author},
        )
    return commentary
