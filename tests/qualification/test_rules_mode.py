"""Switching a stage to rules mode (kpi-spec 2b): with no criteria version in effect the
source dates stand. It used to make the next import that touched a person clear its
mql_at (the ingest took the person's dates from "rules" stage entries nobody wrote)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from funnel.ingest.persons import refresh_persons
from funnel.models import Person, QualificationSetting

pytestmark = pytest.mark.django_db


def _import(example_dir: Path) -> None:
    call_command("import_csv", str(example_dir / "data" / "ma"), source="ma", stdout=StringIO())


def _dates() -> dict[int, tuple[object, object]]:
    return {p.pk: (p.mql_at, p.sql_at) for p in Person.objects.all()}


def test_rules_mode_without_a_version_keeps_the_source_dates(example_dir: Path) -> None:
    _import(example_dir)
    before = _dates()
    assert sum(1 for mql, _ in before.values() if mql) > 50
    QualificationSetting.objects.update_or_create(stage="mql", defaults={"mode": "rules"})
    QualificationSetting.objects.update_or_create(stage="sql", defaults={"mode": "rules"})
    # What an import does to each person it touches: derive its fields again.
    refresh_persons(Person.objects.values_list("pk", flat=True))
    assert _dates() == before
    _import(example_dir)
    assert _dates() == before
