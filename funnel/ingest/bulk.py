"""Fast inserts for ingest: PostgreSQL COPY, or executemany elsewhere.

Django's bulk_create builds a model instance and prepares every value through the field
stack; at the benchmark's millions of rows that costs more than the database work. Ingest
already decides which rows are new and holds plain values, so it writes tuples directly.
Ids are allocated up front (from the sequence on PostgreSQL) so that rows referring to
new rows can be written in the same batch.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, models

logger = logging.getLogger(__name__)
Converter = Callable[[Any], Any]


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model` (its table is locked by the transaction)."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite has one writer at a time, and this runs inside the ingest transaction.
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')  # noqa: S608
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def _text_columns(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    fields = {field.column: field for field in model._meta.concrete_fields}
    return [c for c in columns if isinstance(fields[c], models.CharField | models.TextField)]


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows (all of one width) as COPY's CSV format, exactly as the csv module writes them:
    None is an unquoted empty field, which COPY reads as NULL (text columns hold '' instead:
    FORCE_NOT_NULL below). Datetimes, dates and Decimals are written by str(), which
    PostgreSQL reads back exactly. Lines end in \r\n: the csv module quotes a field holding
    a character of the line end, so a lone \r inside a value (old Mac text) stays in its
    field instead of ending COPY's line. Needs no database: the import's reader thread
    builds it."""
    rows = rows if isinstance(rows, list) else list(rows)
    width = len(rows[0]) if rows else 0
    if width > 1 and all(len(row) == width for row in rows):
        # Nearly every value needs no quoting: join them, and count the separators to know
        # that none was inside a value (the csv module quotes each field on its own, three
        # times slower at an import's millions of rows).
        text = "\r\n".join(
            [",".join(["" if v is None else v if type(v) is str else str(v) for v in row])
             for row in rows]
        )  # fmt: skip
        if needs_no_quoting(text, len(rows), width):
            return text + "\r\n"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def needs_no_quoting(text: str, lines: int, width: int) -> bool:
    """Whether `text`, `lines` rows of `width` values joined by commas and \\r\\n, holds no
    comma, line end or quote inside a value: then it is what the csv module writes."""
    return (
        text.count(",") == lines * (width - 1)
        and text.count("\n") == lines - 1
        and text.count("\r") == lines - 1
        and '"' not in text
    )


def copy_text(table: str, columns: Sequence[str], text_columns: Sequence[str], text: str) -> None:
    """COPY `text` (csv_text of rows in the order of `columns`) into `table` (PostgreSQL)."""
    if not text:
        return
    quoted = ", ".join(f'"{c}"' for c in columns)
    options = "FORMAT csv"
    if text_columns:
        not_null = ", ".join(f'"{c}"' for c in text_columns)
        options += f", FORCE_NOT_NULL ({not_null})"
    # One read of the whole text: psycopg2 takes the GIL back for every read, and while
    # the import's reader thread parses, each take can wait a whole switch interval.
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f'COPY "{table}" ({quoted}) FROM STDIN WITH ({options})',
            io.StringIO(text),
            size=len(text) + 1,
        )


def _sqlite_converters(model: type[models.Model], columns: Sequence[str]) -> list[Converter]:
    ops = connection.ops
    converters: list[Converter] = []
    fields = {field.column: field for field in model._meta.concrete_fields}
    for column in columns:
        field = fields[column]
        if isinstance(field, models.DateTimeField):
            converters.append(ops.adapt_datetimefield_value)
        elif isinstance(field, models.DateField):
            converters.append(ops.adapt_datefield_value)
        elif isinstance(field, models.DecimalField):
            converters.append(lambda v: None if v is None else str(Decimal(v)))
        else:
            converters.append(lambda v: v)
    return converters


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert `rows` (tuples in the order of `columns`, database column names)."""
    table = model._meta.db_table
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        copy_text(table, columns, _text_columns(model, columns), csv_text(rows))
        return len(rows)
    quoted = ", ".join(f'"{c}"' for c in columns)
    converters = _sqlite_converters(model, columns)
    marks = ", ".join("%s" for _ in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',  # noqa: S608
            [[convert(v) for convert, v in zip(converters, row, strict=True)] for row in rows],
        )
    return len(rows)


def update_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """UPDATE rows by primary key: each row is (id, *values in the order of `columns`).

    Replaces bulk_update, whose one CASE WHEN per row and field grows quadratically.
    """
    table = model._meta.db_table
    rows = list(rows)
    if not rows:
        return 0
    assignments = ", ".join(f'"{c}" = %s' for c in columns)
    sql = f'UPDATE "{table}" SET {assignments} WHERE "id" = %s'  # noqa: S608
    if connection.vendor == "postgresql":
        params = [[*row[1:], row[0]] for row in rows]
    else:
        converters = _sqlite_converters(model, columns)
        params = [
            [*(convert(v) for convert, v in zip(converters, row[1:], strict=True)), row[0]]
            for row in rows
        ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(rows)


def reserve_ids(table: str, count: int) -> int:
    """The first of `count` consecutive fresh ids of `table` (PostgreSQL), for set-based
    inserts that compute ids instead of calling nextval() per row.

    ALTER SEQUENCE locks the sequence until the transaction ends: nobody else can take an
    id meanwhile, so no other writer gets one inside the block; a rollback restores it.
    """
    if count <= 0:
        return 1  # no row takes an id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"ALTER SEQUENCE {sequence} INCREMENT BY 1")
        cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, count])
        last = int(cursor.fetchone()[0])
    return last - count + 1


def relax_commit_durability() -> None:
    """For a bulk import's transaction on PostgreSQL: COMMIT does not wait for the WAL
    flush. Consistency is unchanged (the transaction is all or nothing); a server crash in
    the next fraction of a second could undo the import, which is then simply run again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def vacuum_analyze(tables: Sequence[str]) -> None:
    """After an import on PostgreSQL: refresh the planner's statistics and the visibility
    map of the tables it wrote (index-only scans for the KPI queries). Autovacuum would do
    it later, if it runs at all; the next dashboard load should not wait for it. VACUUM
    cannot run inside a transaction: inside one (a test, a caller's atomic block) the
    tables are only analyzed."""
    if connection.vendor != "postgresql" or not tables:
        return
    quoted = ", ".join(f'"{t}"' for t in tables)
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute(f"ANALYZE {quoted}")
        else:
            cursor.execute(f"VACUUM (ANALYZE) {quoted}")


class VacuumAhead:
    """vacuum_analyze of the tables an import is done with, on a connection of its own
    while the import writes its next files.

    An import's writer waits on PostgreSQL, which works on one core; on a second core the
    tables of the files already committed are vacuumed meanwhile, and only those of the
    last file are left at the end. Inside a transaction (a dry run, a caller's atomic
    block) there is nothing committed to vacuum: the tables are analyzed at the end.
    """

    def __init__(self) -> None:
        ahead = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="vacuum") if ahead else None
        self.running: list[Future[None]] = []
        self.left: set[str] = set()

    def add(self, tables: Iterable[str]) -> None:
        """Tables the import will not write again."""
        tables = sorted(tables)
        if not tables:
            return
        if self.pool is None:
            self.left.update(tables)
        else:
            self.running.append(self.pool.submit(self._vacuum, tables))

    @staticmethod
    def _vacuum(tables: Sequence[str]) -> None:
        try:
            vacuum_analyze(tables)
        except DatabaseError:  # maintenance only: autovacuum does it later
            logger.warning("VACUUM of %s failed", ", ".join(tables), exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def finish(self) -> None:
        """Wait for the vacuums under way; analyze what was left."""
        for future in self.running:
            future.result()
        if self.pool is not None:
            self.pool.shutdown()
        vacuum_analyze(sorted(self.left))


# Statistics for the rest of the import only: a sample of 300 x 10 rows tells a table's size
# and rough spread, which is all the plans of its next statements need, in a fraction of
# the default sample's time. vacuum_analyze, after the import, takes the full sample.
ROUGH_STATISTICS_TARGET = 10


def analyze_roughly(tables: Sequence[str]) -> None:
    """ANALYZE `tables` (PostgreSQL) with ROUGH_STATISTICS_TARGET, inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL default_statistics_target = {ROUGH_STATISTICS_TARGET}")
        cursor.execute(f"ANALYZE {', '.join(tables)}")
        cursor.execute("SET LOCAL default_statistics_target TO DEFAULT")


# From this many new rows into a table (and at least as many as it holds), its secondary
# indexes are built again and its foreign keys checked once (see below).
BULK_WINDOW_ROWS = 20_000


@contextmanager
def bulk_window(tables: Sequence[str], rows: int) -> Iterator[None]:
    """Write `rows` new rows into `tables` with their indexes and foreign keys done in bulk.

    PostgreSQL updates every index and checks every foreign key row by row (a lookup and
    a row lock in the referenced table); at an initial load of millions of rows that is
    most of the time. For a load of BULK_WINDOW_ROWS rows or more, into tables that hold
    fewer rows than that, the foreign keys and the secondary indexes are dropped and made
    again before the transaction ends: one sorted build per index and one join per foreign
    key; unique constraints and indexes too (the writes in the window never rely on them).
    Integrity is the same (an orphan or a duplicate fails the whole transaction; primary
    keys and check constraints stay in place), but the tables involved are locked until
    commit, which is why smaller loads (every regular sync) keep the row-by-row path.
    """
    if connection.vendor != "postgresql" or rows < BULK_WINDOW_ROWS:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid::regclass::text FROM pg_class c "
            "WHERE c.oid = ANY(%s::regclass[]) AND c.reltuples < %s",
            [list(tables), rows],
        )
        small = [row[0] for row in cursor.fetchall()]
        if not small:
            yield
            return
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype IN ('f', 'u') AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY contype, conrelid, conname",
            [small],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY indexrelid",
            [small],
        )
        indexes = cursor.fetchall()
        # Checks still pending from this transaction (e.g. new campaigns) run now: a table
        # with pending trigger events cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _ in constraints:  # foreign keys first
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for index, _ in indexes:
            cursor.execute(f"DROP INDEX {index}")
    yield
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # sorts of index builds
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in reversed(constraints):  # unique ones first
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    # Statistics of the refilled tables, for the statements after the window (in this
    # transaction too): planned without them, the opportunity dates of 90k persons took
    # minutes.
    analyze_roughly(small)
    logger.debug(
        "%s: %d indexes and %d constraints made again in %.2f s",
        ", ".join(small),
        len(indexes),
        len(constraints),
        time.perf_counter() - started,
    )
