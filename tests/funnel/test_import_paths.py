"""Large files take another path than small ones (csv_import/importer.py): on PostgreSQL a
staged load written set-based, with indexes and foreign keys rebuilt in one pass
(ingest/staging.py, ingest/bulk.py), elsewhere the batch path with lookups read once. Both
must store exactly what the batch path stores, for any sequence of imports: new records,
changed ones, merges by email within and across files, moves, waiting deals and visits."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings

from funnel.csv_import import importer, reading
from funnel.csv_import.importer import import_csv_files
from funnel.ingest import bulk
from funnel.models import Activity, Opportunity, Person, Source, SourcePerson, StageEntry
from funnel.records import ActivityRecord, OpportunityRecord, PersonRecord
from tests.funnel.test_properties import HYPOTHESIS, Dataset, _clean, datasets

pytestmark = pytest.mark.django_db

PERSON_COLUMNS = [
    *("external_id", "email", "name", "company", "created_at", "channel", "campaign"),
    *("mql_at", "sql_at", "disqualified_at", "disqualify_reason", "lead_score", "industry"),
    *("company_size", "owner"),
]
OPPORTUNITY_COLUMNS = [
    *("external_id", "person_external_id", "person_email", "account", "name", "amount"),
    *("created_at", "closed_at", "status", "stage", "loss_reason", "channel"),
]
ACTIVITY_COLUMNS = [
    *("external_id", "person_external_id", "person_email", "type", "occurred_at", "detail")
]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _write(path: Path, columns: list[str], records: list[Any]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for record in records:
            writer.writerow([_cell(getattr(record, column)) for column in columns])


def _files(root: Path, data: Dataset, round_: int) -> tuple[Path, Path]:
    ma, sfa = root / f"ma{round_}", root / f"sfa{round_}"
    ma.mkdir()
    sfa.mkdir()
    _write(ma / "persons.csv", PERSON_COLUMNS, data.ma_persons)
    _write(ma / "activities.csv", ACTIVITY_COLUMNS, data.activities)
    _write(sfa / "persons.csv", PERSON_COLUMNS, data.sfa_persons)
    _write(sfa / "opportunities.csv", OPPORTUNITY_COLUMNS, data.opportunities)
    return ma, sfa


def _import(root: Path, rounds: list[Dataset]) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = []
    for round_, data in enumerate(rounds):
        ma, sfa = _files(root, data, round_)
        for name, folder in (("ma", ma), ("sfa", sfa)):
            report = import_csv_files(name, [folder])
            reports.extend(
                {"file": f"{name}/{f.path.name}", **f.result.as_dict(), "errors": f.errors}
                for f in report.files
            )
    return reports


def _stored() -> dict[str, Any]:
    """Everything ingest stored, without ids: a person is named by its source records."""
    names: dict[int, tuple[tuple[str, str], ...]] = {}
    for record in SourcePerson.objects.select_related("source"):
        names[record.person_id] = tuple(
            sorted((*names.get(record.person_id, ()), (record.source.name, record.external_id)))
        )
    persons = sorted(
        (
            names.get(p.pk),
            p.email_normalized,
            p.channel.key if p.channel else None,
            p.campaign.key if p.campaign else None,
            p.account.name if p.account else None,
            p.lead_at,
            p.mql_at,
            p.sql_at,
            p.opportunity_at,
            p.won_at,
            p.disqualified_at,
            p.disqualify_reason,
            p.name,
            p.company,
            p.lead_score,
        )
        for p in Person.objects.select_related("channel", "campaign", "account")
    )
    records = sorted(
        (
            r.source.name,
            r.external_id,
            names[r.person_id],
            r.email,
            r.email_normalized,
            r.channel_id is not None,
            r.created_at,
            r.mql_at,
            r.sql_at,
            r.disqualified_at,
            r.disqualify_reason,
        )
        for r in SourcePerson.objects.select_related("source")
    )
    entries = sorted(
        (
            names[e.person_id],
            e.source_record.external_id if e.source_record else None,
            e.stage,
            e.basis,
            e.entered_at,
        )
        for e in StageEntry.objects.select_related("source_record")
    )
    deals = sorted(
        (
            o.external_id,
            names.get(o.person_id) if o.person_id else None,
            o.amount,
            o.status,
            o.created_at,
            o.closed_at,
            o.channel.key if o.channel else None,
            tuple(o.changes.order_by("pk").values_list("status", "amount", "closed_at")),
        )
        for o in Opportunity.objects.select_related("channel")
    )
    visits = sorted(
        (
            a.external_id,
            names.get(a.person_id) if a.person_id else None,
            a.type,
            a.occurred_at,
            a.person_email_normalized,
        )
        for a in Activity.objects.all()
    )
    return {
        "persons": persons,
        "records": records,
        "entries": entries,
        "deals": deals,
        "visits": visits,
    }


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rounds: list[Dataset], large: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    _clean()
    monkeypatch.setattr(importer, "BULK_ROWS", -1 if large else 10**9)
    monkeypatch.setattr(bulk, "BULK_WINDOW_ROWS", 0 if large else 10**9)
    # Staged in batches of three rows: merges and duplicates inside and across batches; rows
    # checked a column at a time two by two (a bad or repeated row sends its pair row by row).
    monkeypatch.setattr(reading, "STAGED_BATCH_ROWS", 3 if large else 20_000)
    monkeypatch.setattr(reading, "QUICK_BATCH_ROWS", 2)
    root = tmp_path / ("large" if large else "small") / str(id(rounds))
    root.mkdir(parents=True)
    return _import(root, rounds), _stored()


@settings(HYPOTHESIS, max_examples=8)
@given(first=datasets, second=datasets)
def test_large_files_store_what_small_files_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: Dataset, second: Dataset
) -> None:
    # Three rounds: new records, a changed dataset over the same external ids, and the
    # same again (nothing changes).
    rounds = [first, second, second]
    small_reports, small = _run(tmp_path, monkeypatch, rounds, large=False)
    large_reports, large = _run(tmp_path, monkeypatch, rounds, large=True)
    assert large == small
    assert large_reports == small_reports


def _schema() -> set[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid::regclass::text LIKE 'funnel_%%'"
        )
        constraints = {tuple(row) for row in cursor.fetchall()}
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid::regclass::text LIKE 'funnel_%%'"
        )
        return constraints | {tuple(row) for row in cursor.fetchall()}


def test_a_bulk_window_gives_back_every_index_and_constraint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the bulk window is PostgreSQL's")
    before = _schema()
    data = Dataset(
        ma_persons=[PersonRecord("M1", dt.datetime(2026, 5, 1, tzinfo=dt.UTC), "a@x.jp")],
        sfa_persons=[],
        opportunities=[
            OpportunityRecord(
                "D1", Decimal(1000), dt.datetime(2026, 5, 2, tzinfo=dt.UTC), "open", "M1"
            )
        ],
        costs=[],
        activities=[ActivityRecord("A1", "web_visit", dt.datetime(2026, 5, 3, tzinfo=dt.UTC))],
    )
    reports, stored = _run(tmp_path, monkeypatch, [data], large=True)
    assert [r["created"] for r in reports] == [1, 1, 0, 1]  # ma: persons, visits; sfa
    assert _schema() == before
    assert stored["deals"][0][1] is None  # D1 names M1 of another source: not linked


def test_a_bulk_window_fails_whole_when_a_row_breaks_a_constraint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the bulk window is PostgreSQL's")
    from django.db import IntegrityError, transaction

    monkeypatch.setattr(bulk, "BULK_WINDOW_ROWS", 0)
    before = _schema()
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        bulk.bulk_window(["funnel_activity"], 10**9),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO funnel_activity (source_id, external_id, person_id, "
            "person_external_id, person_email_normalized, type, occurred_at, detail) "
            "VALUES (999999, 'X', NULL, '', '', 'web_visit', now(), '')"
        )
    assert _schema() == before
    assert not Activity.objects.exists()


def test_a_bulk_window_leaves_statistics_of_the_rows_it_wrote(db: None) -> None:
    """Statements after the window (in the same transaction) are planned with statistics
    of the rows it wrote: without them the opportunity dates of 90k persons took minutes."""
    if connection.vendor != "postgresql":
        pytest.skip("the bulk window is PostgreSQL's")
    source = Source.objects.create(name="bulk", kind="csv")
    with bulk.bulk_window(["funnel_activity"], bulk.BULK_WINDOW_ROWS), connection.cursor() as c:
        c.execute(
            "INSERT INTO funnel_activity (source_id, external_id, person_id, "
            "person_external_id, person_email_normalized, type, occurred_at, detail) "
            "SELECT %s, 'A' || n, NULL, '', '', 'web_visit', now(), '' "
            "FROM generate_series(1, %s) n",
            [source.pk, bulk.BULK_WINDOW_ROWS],
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_distinct FROM pg_stats "
            "WHERE tablename = 'funnel_activity' AND attname = 'external_id'"
        )
        assert cursor.fetchall() == [(-1.0,)]  # every value distinct


def test_reserved_ids_are_a_block_nobody_else_gets(db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("ids are reserved from PostgreSQL sequences")
    first = bulk.reserve_ids("funnel_activity", 1000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('funnel_activity', 'id'))")
        after = cursor.fetchone()[0]
    assert after == first + 1000


PERSONS_WITH_PROBLEMS = (
    "external_id,email,created_at,mql_at\n"
    "P1,a@example.jp,2026-05-01T10:00:00+09:00,\n"
    "P2,b@example.jp,2026-05-02T10:00:00+09:00,2026-05-03T10:00:00Z\n"
    "P3,c@example.jp,not a date,\n"
    "P1,d@example.jp,2026-05-04T10:00:00+09:00,\n"  # the same external_id as row 2
    "P4,,2026-05-05T10:00:00+09:00,\n"
    "P5,b@example.jp,2026-05-06T10:00:00+09:00,\n"  # merges with P2
    "P4,e@example.jp,2026-05-07T10:00:00+09:00,\n"  # the same external_id as row 6
    "P6,f@example.jp,2026-05-08,2026-05-09T00:00:00+09:00\n"
)


def test_a_large_file_read_in_batches_reports_and_stores_what_a_small_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of two rows: duplicates across batches are found and never staged; errors
    keep the file's row order."""
    (tmp_path / "persons.csv").write_text(PERSONS_WITH_PROBLEMS)
    monkeypatch.setattr(importer, "BULK_ROWS", 10**9)
    small = import_csv_files("ma", [tmp_path]).files[0]
    small_stored = _stored()
    _clean()
    monkeypatch.setattr(importer, "BULK_ROWS", -1)
    monkeypatch.setattr(reading, "STAGED_BATCH_ROWS", 2)
    monkeypatch.setattr(reading, "QUICK_BATCH_ROWS", 2)
    large = import_csv_files("ma", [tmp_path]).files[0]
    assert large.errors == small.errors
    assert [e.split(":")[0] for e in large.errors] == [
        "persons.csv, row 4, column created_at",
        "persons.csv, row 5",
        "persons.csv, row 8",
    ]
    assert large.result.as_dict() == small.result.as_dict()
    assert large.result.created == 5 and large.result.rejected == 3
    assert _stored() == small_stored
