"""After a large import on PostgreSQL the tables it wrote are vacuumed and analyzed with
the full sample (ingest/bulk.py VacuumAhead): the import's own statistics are rough ones
for its next statements, and the dashboard's plans need the real ones; the tables of a
file are vacuumed on a connection of their own while the next file is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from funnel.csv_import import importer
from funnel.csv_import.importer import import_csv_files
from funnel.ingest import bulk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROWS = 400


def _histogram_bounds(table: str, column: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cardinality(histogram_bounds::text::text[]) FROM pg_stats "
            "WHERE tablename = %s AND attname = %s",
            [table, column],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _all_visible_pages(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relallvisible FROM pg_class WHERE oid = %s::regclass", [table])
        return int(cursor.fetchone()[0])


def test_a_large_import_leaves_full_statistics_and_vacuumed_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BULK_ROWS", -1)  # staged loads
    monkeypatch.setattr(bulk, "BULK_WINDOW_ROWS", 0)  # with the window's rough statistics
    persons = ["external_id,email,company,created_at"] + [
        f"P{n},p{n}@example.jp,Company {n % 40},"
        f"2026-04-01T{n // 60 % 24:02d}:{n % 60:02d}:{n % 59:02d}+09:00"
        for n in range(ROWS)
    ]
    activities = ["external_id,person_external_id,type,occurred_at"] + [
        f"A{n},P{n},web_visit,2026-05-{1 + n % 28:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00Z"
        for n in range(ROWS)
    ]
    (tmp_path / "persons.csv").write_text("\n".join(persons) + "\n")
    (tmp_path / "activities.csv").write_text("\n".join(activities) + "\n")

    report = import_csv_files("maintenance", [tmp_path])

    assert [f.result.created for f in report.files] == [ROWS, ROWS]
    # The rough sample keeps 10 + 1 bounds; the full one up to 101.
    assert _histogram_bounds("funnel_sourceperson", "created_at") > bulk.ROUGH_STATISTICS_TARGET + 1
    assert _histogram_bounds("funnel_activity", "occurred_at") > bulk.ROUGH_STATISTICS_TARGET + 1
    # Accounts too: the companies the persons named (40 of them, each name its own value).
    assert _histogram_bounds("funnel_account", "name") > bulk.ROUGH_STATISTICS_TARGET + 1
    for table in ("funnel_person", "funnel_sourceperson", "funnel_activity", "funnel_account"):
        assert _all_visible_pages(table) > 0, table
