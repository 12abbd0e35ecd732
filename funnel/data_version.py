"""Which state of the data a number was computed from: the data version, a number that
grows with every committed write to a table the numbers read (kpi-spec: the numbers are
the product, so a kept result is never shown once the data under it changed).

On PostgreSQL a statement-level trigger on each such table adds one to a row of
`funnel_dataversion` inside the writing transaction: the version moves exactly when the
write commits, atomically with it. There are SLOTS rows, and a writer bumps the one of its
backend, so concurrent writers rarely wait for each other on the counter (a bump holds its
row until the writer commits); the version is their sum, which every commit that wrote
increases. One more row holds a random epoch, chosen when the slots are created: a
database emptied and filled again (a test run's flush) never repeats an earlier version.

A version is only read outside a transaction (`current()` is None inside one): in a
transaction that wrote, the sum counts its own uncommitted writes, which a rollback
would take back. The embedded SQLite mode has no version either: nothing is kept there.
"""

from __future__ import annotations

import secrets

from django.db import connection

SLOTS = 1024
TABLE = "funnel_dataversion"
# Tables whose rows no number reads (a page view, a sync's heartbeat): writes to them do
# not change the version. Every other table of these apps does.
APPS = ("funnel", "qualification", "feedback", "alignment")
IGNORED = frozenset({TABLE, "alignment_pageview"})
FUNCTION = f"""
CREATE OR REPLACE FUNCTION kpi_bump_data_version() RETURNS trigger AS $$
BEGIN
    UPDATE {TABLE} SET version = version + 1 WHERE slot = pg_backend_pid() % {SLOTS};
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""  # noqa: S608 - constants


EPOCH = SLOTS  # the slot that holds the epoch


def current() -> str | None:
    """The committed data's version (None where none is kept, or inside a transaction)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(version) FILTER (WHERE slot = {EPOCH}), "  # noqa: S608 - constants
            f"sum(version) FILTER (WHERE slot < {EPOCH}) FROM {TABLE}"
        )
        row = cursor.fetchone()
    if not row or row[0] is None or row[1] is None:
        return None
    return f"{row[0]}.{row[1]}"


def watched_tables() -> list[str]:
    """The tables whose writes change the version: every table of APPS but IGNORED."""
    from django.apps import apps

    tables = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            table = model._meta.db_table
            if table not in IGNORED and not model._meta.proxy and model._meta.managed:
                tables.append(table)
    return sorted(set(tables))


def install() -> None:
    """Create the slots, the function and a trigger on every watched table (idempotent:
    run after every migrate, so a table added later is watched too)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (slot, version) SELECT g, 0 "  # noqa: S608 - constants
            f"FROM generate_series(0, {SLOTS - 1}) g ON CONFLICT (slot) DO NOTHING"
        )
        cursor.execute(
            f"INSERT INTO {TABLE} (slot, version) VALUES (%s, %s) "  # noqa: S608 - constants
            "ON CONFLICT (slot) DO NOTHING",
            [EPOCH, secrets.randbits(62)],
        )
        cursor.execute(FUNCTION)
        existing = set(connection.introspection.table_names(cursor))
        for table in watched_tables():
            if table in existing:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER kpi_data_version AFTER INSERT OR UPDATE OR "
                    f'DELETE OR TRUNCATE ON "{table}" FOR EACH STATEMENT '
                    f"EXECUTE FUNCTION kpi_bump_data_version()"
                )
