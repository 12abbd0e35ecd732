"""Fast inserts for ingest: PostgreSQL COPY, or executemany elsewhere.

Django's bulk_create builds a model instance and prepares every value through the field
stack; at the benchmark's millions of rows that costs more than the database work. Ingest
already decides which rows are new and holds plain values, so it writes tuples directly.
Ids are allocated up front (from the sequence on PostgreSQL) so that rows referring to
new rows can be written in the same batch.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models

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


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_text(value: Any) -> str:
    return _NULL if value is None else value.translate(_COPY_ESCAPES)


def _copy_moment(value: Any) -> str:
    return _NULL if value is None else value.isoformat()


def _copy_bool(value: Any) -> str:
    return _NULL if value is None else ("t" if value else "f")


def _copy_other(value: Any) -> str:
    return _NULL if value is None else str(value)


def _copy_formatters(model: type[models.Model], columns: Sequence[str]) -> list[Converter]:
    """One formatter per column for PostgreSQL's COPY text format, chosen by field type."""
    fields = {field.column: field for field in model._meta.concrete_fields}
    formatters: list[Converter] = []
    for column in columns:
        field = fields[column]
        if isinstance(field, models.CharField | models.TextField):
            formatters.append(_copy_text)
        elif isinstance(field, models.DateField):  # DateTimeField too: both isoformat()
            formatters.append(_copy_moment)
        elif isinstance(field, models.BooleanField):
            formatters.append(_copy_bool)
        else:
            formatters.append(_copy_other)
    return formatters


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
    quoted = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            formatters = _copy_formatters(model, columns)
            buffer = io.StringIO()
            buffer.writelines(
                "\t".join([f(v) for f, v in zip(formatters, row, strict=True)]) + "\n"
                for row in rows
            )
            buffer.seek(0)
            raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
            raw.copy_expert(f'COPY "{table}" ({quoted}) FROM STDIN', buffer)
        else:
            converters = _sqlite_converters(model, columns)
            marks = ", ".join("%s" for _ in columns)
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


def relax_commit_durability() -> None:
    """For a bulk import's transaction on PostgreSQL: COMMIT does not wait for the WAL
    flush. Consistency is unchanged (the transaction is all or nothing); a server crash in
    the next fraction of a second could undo the import, which is then simply run again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
