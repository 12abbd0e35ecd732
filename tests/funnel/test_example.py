"""The worked example of the spec (shared/examples/fy2026q1): import both sources and
compare every value of `kpis` and `tree` with the independently computed answers."""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command


def _close(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, str):
        return expected == actual
    return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-9)


def _walk(expected: Any, actual: Any, path: str, out: list[str]) -> None:
    if isinstance(expected, dict):
        for key, value in expected.items():
            _walk(value, (actual or {}).get(key, "MISSING"), f"{path}.{key}", out)
    elif not _close(expected, actual):
        out.append(f"{path}: expected {expected}, got {actual}")


def _import_example(example_dir: Path) -> None:
    call_command("import_csv", str(example_dir / "data" / "ma"), source="ma", stdout=StringIO())
    call_command("import_csv", str(example_dir / "data" / "sfa"), source="sfa", stdout=StringIO())


def _kpis(as_of: str = "2026-06-15T00:00:00+09:00") -> dict[str, Any]:
    out = StringIO()
    call_command("kpis", period="FY2026Q1", as_of=as_of, format="json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_it_matches_every_expected_value(example_dir: Path) -> None:
    _import_example(example_dir)
    expected = json.loads((example_dir / "expected-kpis.json").read_text())
    actual = _kpis()
    mismatches: list[str] = []
    for part in ("kpis", "tree"):
        _walk(expected[part], actual[part], part, mismatches)
    assert mismatches == []
    assert actual["period"] == expected["period"]


@pytest.mark.django_db
def test_it_gives_the_same_numbers_after_a_second_import(example_dir: Path) -> None:
    _import_example(example_dir)
    first = _kpis()
    _import_example(example_dir)
    assert _kpis() == first
