"""Large loads on PostgreSQL: records are COPYed into a temporary table, then written with a
few set-based statements (kpi-spec sections 2 and 6).

The batch path (persons.py, deals.py) decides record by record in Python and sends lookups
and writes per batch; at an initial load of millions of rows the round trips and the Python
work dominate. Here PostgreSQL does the joins, and only what is simple in SQL is decided
here: new records that merge with nothing, and records that did not change. Every other
record (a stored record that changed, an email already known or shared within the file)
goes through the batch path afterwards, so the identity rules stay in one place.

A load is fed COPY text, `load.copy(csv_text(rows), len(rows))` for each chunk of
`stage_row(record, seq)` rows (the import's reader thread builds the text; csv_import/
quick.py builds the same rows from the fields of rows in the usual shape), then
`load.finish()` writes and returns the counts. It runs inside the file's transaction.
"""

# SQL here is composed from our own table and column names and integer ids only; values
# from files travel through COPY and parameters.
# ruff: noqa: S608

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from funnel.choices import QualificationMode, Stage
from funnel.ingest.batches import BATCH_SIZE, chunks, refresh_opportunity_dates
from funnel.ingest.bulk import analyze_roughly, bulk_window, copy_text, reserve_ids
from funnel.ingest.deals import ACTIVITY_FIELDS, OPPORTUNITY_FIELDS, ingest_opportunities
from funnel.ingest.linking import link_waiting_records, records_wait
from funnel.ingest.lookups import Dimensions
from funnel.ingest.persons import (
    ATTRIBUTE_FIELDS,
    RECORD_FIELDS,
    PersonBulkLoad,
    ingest_persons,
    record_texts,
)
from funnel.models import Activity, Opportunity, Person, Source, SourcePerson
from funnel.records import (
    ActivityRecord,
    IngestResult,
    OpportunityRecord,
    PersonRecord,
    normalise_email,
)

# A module reference: qualification.moments reads funnel.ingest.batches in turn.
from qualification import moments as qualifying
from qualification.models import MomentSet

_names = itertools.count(1)
logger = logging.getLogger(__name__)

# SQL types of the staged columns (the stored tables' types, without length limits).
_TYPES = {
    "seq": "integer",
    "account_id": "bigint",
    "channel_id": "bigint",
    "campaign_id": "bigint",
    "lead_score": "integer",
    "amount": "numeric",
    "created_at": "timestamptz",
    "closed_at": "timestamptz",
    "mql_at": "timestamptz",
    "sql_at": "timestamptz",
    "disqualified_at": "timestamptz",
    "occurred_at": "timestamptz",
}


def _person_ref_join(source_id: int) -> str:
    """How a staged opportunity or activity (alias s) finds its person (linking.py says it
    in ORM terms): by external id within its source (this join), else by normalised email
    in any source (_PERSON_OF_REF)."""
    return (
        f"LEFT JOIN funnel_sourceperson ref ON ref.source_id = {int(source_id)} "
        "AND ref.external_id = s.person_external_id AND s.person_external_id <> ''"
    )


# The email is looked up only when the external id found nobody (COALESCE evaluates its
# second argument only then): an export's references nearly all match by id, and a join
# probed the email index for every row anyway.
_PERSON_OF_REF = (
    "COALESCE(ref.person_id, (SELECT by_email.id FROM funnel_person by_email "
    "WHERE by_email.email_normalized = s.person_email_normalized "
    "AND by_email.email_normalized <> ''))"
)
_DIMENSION_JOINS = "LEFT JOIN funnel_channel ch ON s0.channel <> '' AND ch.key = s0.channel"
_HAS_REF = "(s.person_external_id <> '' OR s.person_email_normalized <> '')"


class StagedLoad:
    """A temporary table of one file's records; dropped at commit.

    `stage_row` turns a record into a COPY row without touching the database (the import
    builds it in its reader thread while the previous file is written); dimension ids
    (channels, campaigns, accounts) are resolved when the load finishes, by joins."""

    columns: tuple[str, ...] = ()
    names_dimensions = False  # its rows name channels, campaigns or accounts

    def __init__(self, source: Source) -> None:
        self.source = source
        self.table = f"kb_stage_{next(_names)}"
        self.rows = 0
        self.seq_limit = 0  # every staged seq is below it (set when the file is read)
        self.batch_made = False
        self.dims = Dimensions()
        self.accounts_added: set[str] = set()  # by add_accounts, or there already
        definition = ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in self.columns)
        self.execute(f"CREATE TEMPORARY TABLE {self.table} ({definition}) ON COMMIT DROP")
        # The joins of a load hash whole files: in the default 4 MB they spill to disk in
        # batches. For this transaction only.
        self.execute("SET LOCAL work_mem = '64MB'")

    @staticmethod
    def stage_row(record: Any, seq: int) -> tuple[Any, ...]:
        """The COPY row of `record` (in the order of `columns`). A row's seq (its row number
        minus 2: unique, increasing) keeps the file's order and gives a new row its id (the
        reserved block plus its seq)."""
        raise NotImplementedError

    def copy(self, text: str, count: int) -> None:
        """Stage `count` rows of COPY text (csv_text of stage rows). A kind whose rows
        name channels, campaigns or accounts has the missing ones added batch by batch,
        while the reader parses the next batch and PostgreSQL would wait."""
        text_columns = [c for c in self.columns if c not in _TYPES]
        if not self.names_dimensions:
            copy_text(self.table, self.columns, text_columns, text)
        else:
            batch = f"{self.table}_batch"
            if not self.batch_made:
                self.execute(f"CREATE TEMPORARY TABLE {batch} (LIKE {self.table}) ON COMMIT DROP")
                self.batch_made = True
            copy_text(batch, self.columns, text_columns, text)
            self.add_dimensions(batch)
            self.execute(f"INSERT INTO {self.table} SELECT * FROM {batch}")
            self.execute(f"TRUNCATE {batch}")
        self.rows += count

    def add_dimensions(self, table: str) -> None:
        """The channels, campaigns and accounts the rows of `table` name that do not
        exist yet (when `names_dimensions`)."""

    def finish(self) -> IngestResult:
        raise NotImplementedError

    def distinct(self, *columns: str, table: str | None = None) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT {', '.join(columns)} FROM {table or self.table}")
            return cursor.fetchall()

    def add_accounts(self, column: str, table: str) -> None:
        """The accounts named in `column` of `table` that do not exist yet, in one
        statement (tens of thousands of names took a second as model instances). Names an
        earlier batch of this load added are left out: checking every name of every batch
        against the accounts took a third of the writer's time a batch."""
        names = {name for (name,) in self.distinct(column, table=table) if name}
        names -= self.accounts_added
        if names:
            self.execute(
                "INSERT INTO funnel_account (name, industry, company_size) "
                "SELECT name, '', '' FROM unnest(%s::text[]) AS named(name) ORDER BY 1 "
                "ON CONFLICT (name) DO NOTHING",
                [sorted(names)],
            )
            self.accounts_added |= names

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            count = int(cursor.rowcount)
        logger.debug("%.3f s, %d rows: %s", time.perf_counter() - started, count, sql[:90])
        return count

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def temp(self, suffix: str, query: str, params: Sequence[Any] | dict[str, Any] = ()) -> str:
        """A temporary table from `query`, analyzed so the planner knows its size."""
        name = f"{self.table}_{suffix}"
        self.execute(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {query}", params)
        analyze_roughly([name])
        return name

    def rows_of(self, seqs: str, staged: str) -> tuple[str, int]:
        """FROM clause (alias s) of the `staged` rows whose seq is in table `seqs`, and how
        many they are."""
        count = int(self.scalar(f"SELECT count(*) FROM {seqs}"))
        if count == self.rows:
            return staged, count
        return f"{staged} JOIN {seqs} n ON n.seq = s.seq", count

    def leftover(
        self, exclude: Sequence[str], handled: int, build: Callable[[dict[str, Any]], Any]
    ) -> Iterator[list[Any]]:
        """Staged rows not in the `exclude` tables (by seq; `handled` rows in all), in file
        order, as records, in batches: what the batch path must handle."""
        if handled == self.rows:
            return
        not_in = " ".join(
            f"AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.seq = s.seq)" for t in exclude
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT s.seq FROM {self.table} s WHERE TRUE {not_in} ORDER BY s.seq")
            seqs = [row[0] for row in cursor.fetchall()]
        if not seqs:
            return
        self.execute(f"CREATE INDEX ON {self.table} (seq)")
        names = ", ".join(self.columns)
        for chunk in chunks(seqs, BATCH_SIZE * 5):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {names} FROM {self.table} WHERE seq = ANY(%s) ORDER BY seq",
                    [list(chunk)],
                )
                yield [
                    build(dict(zip(self.columns, row, strict=True))) for row in cursor.fetchall()
                ]


_PERSON_TABLES = ("funnel_person", "funnel_sourceperson", "funnel_stageentry")
_STAGED_TEXTS = tuple(f for f in RECORD_FIELDS if f not in ("channel_id", "campaign_id"))
PERSON_STAGE_COLUMNS = ("seq", "external_id", *_STAGED_TEXTS, "channel", "campaign")


class StagedPersons(StagedLoad):
    columns = PERSON_STAGE_COLUMNS

    @staticmethod
    def stage_row(record: PersonRecord, seq: int) -> tuple[Any, ...]:
        texts = record_texts(record)
        return (
            seq,
            record.external_id,
            *(texts[f] for f in _STAGED_TEXTS),
            record.channel,
            record.campaign,
        )

    names_dimensions = True

    def add_dimensions(self, table: str) -> None:
        pairs = self.distinct("channel", "campaign", table=table)
        self.dims.load_channels(channel for channel, _ in pairs)
        self.dims.load_campaigns(pairs)
        self.add_accounts("company", table)

    def with_ids(self) -> str:
        """The staged rows with the ids of their channel, campaign and account (alias s)."""
        return (
            "(SELECT s0.*, ch.id AS channel_id, ca.id AS campaign_id, ac.id AS account_id "
            f"FROM {self.table} s0 {_DIMENSION_JOINS} "
            "LEFT JOIN funnel_campaign ca ON s0.campaign <> '' AND ca.channel_id = ch.id "
            "AND ca.key = s0.campaign "
            "LEFT JOIN funnel_account ac ON s0.company <> '' AND ac.name = s0.company) s"
        )

    def finish(self) -> IngestResult:
        source_id = int(self.source.pk)
        stage = self.table
        analyze_roughly([stage])
        staged = self.with_ids()
        known_source = SourcePerson.objects.filter(source_id=source_id).exists()
        shared = self.temp(
            "shared",
            f"SELECT email_normalized FROM {stage} WHERE email_normalized <> '' "
            "GROUP BY email_normalized HAVING count(*) > 1",
        )
        alone = (
            f"NOT EXISTS (SELECT 1 FROM {shared} d WHERE d.email_normalized = s.email_normalized)"
        )
        stored = (
            "SELECT 1 FROM funnel_sourceperson sp "
            f"WHERE sp.source_id = {source_id} AND sp.external_id = s.external_id"
        )
        exclude: list[str] = []
        unchanged = 0
        # New records that merge with nothing: a new person each. Into a database without
        # persons (a first load), with no email twice in the file, every record is.
        everyone = not self.scalar(
            f"SELECT EXISTS (SELECT 1 FROM funnel_person) OR EXISTS (SELECT 1 FROM {shared})"
        )
        if everyone:
            rows, count = staged, self.rows
        else:
            new = self.temp(
                "new",
                f"SELECT s.seq FROM {stage} s WHERE "
                + (f"NOT EXISTS ({stored}) AND " if known_source else "")
                + "(s.email_normalized = '' OR ("
                "NOT EXISTS (SELECT 1 FROM funnel_person p WHERE p.email_normalized = "
                f"s.email_normalized AND p.email_normalized <> '') AND {alone}))",
            )
            exclude.append(new)
            rows, count = self.rows_of(new, staged)
        if known_source:
            same = self.temp(
                "same",
                f"SELECT s.seq FROM {staged} JOIN funnel_sourceperson sp "
                f"ON sp.source_id = {source_id} AND sp.external_id = s.external_id "
                f"WHERE ({', '.join('sp.' + f for f in RECORD_FIELDS)}) "
                f"IS NOT DISTINCT FROM ({', '.join('s.' + f for f in RECORD_FIELDS)}) "
                f"AND (s.email_normalized = '' OR ({alone} AND NOT EXISTS ("
                "SELECT 1 FROM funnel_person p WHERE p.email_normalized = s.email_normalized "
                "AND p.email_normalized <> '' AND p.id <> sp.person_id)))",
            )
            unchanged = self.scalar(f"SELECT count(*) FROM {same}")
            exclude.append(same)
        created = 0
        if count:
            with bulk_window(_PERSON_TABLES, count):
                created = self._write_new(rows, source_id)
            self._link_waiting(rows)
            qualifying.refresh_moments(
                Person.objects.filter(
                    pk__range=(self.first_person, self.first_person + self.seq_limit - 1)
                ).values_list("pk", flat=True)
            )
        result = IngestResult(created=created, unchanged=unchanged)
        load: PersonBulkLoad | None = None
        for records in self.leftover(exclude, count + unchanged, _person_record):
            if load is None and len(records) >= BATCH_SIZE:
                load = PersonBulkLoad(self.source)
            result.add(ingest_persons(self.source, records, load))
        return result

    def _write_new(self, rows: str, source_id: int) -> int:
        """Persons, their source records and stage entries of the new rows (`rows`, alias s):
        ids are the reserved blocks plus the row's seq."""
        now = timezone.now()
        self.first_person = reserve_ids("funnel_person", self.seq_limit)
        person_id = f"{self.first_person} + s.seq"
        record_id = f"{reserve_ids('funnel_sourceperson', self.seq_limit)} + s.seq"
        person_fields = ("email_normalized", "account_id", "channel_id", "campaign_id")
        derived = ("mql_at", "sql_at", "disqualified_at", "disqualify_reason", *ATTRIBUTE_FIELDS)
        created = self.execute(
            f"INSERT INTO funnel_person (id, {', '.join(person_fields)}, lead_at, "
            f"{', '.join(derived)}) SELECT {person_id}, "
            f"{', '.join('s.' + f for f in person_fields)}, s.created_at, "
            f"{', '.join('s.' + f for f in derived)} FROM {rows}"
        )
        self.execute(
            "INSERT INTO funnel_sourceperson (id, source_id, external_id, person_id, "
            f"{', '.join(RECORD_FIELDS)}, updated_at) SELECT {record_id}, {source_id}, "
            f"s.external_id, {person_id}, {', '.join('s.' + f for f in RECORD_FIELDS)}, %s "
            f"FROM {rows}",
            [now],
        )
        entries = " UNION ALL ".join(
            f"SELECT {person_id}, {record_id}, '{stage}', '{QualificationMode.SOURCE}', "
            f"s.{field}, %(now)s FROM {rows} WHERE s.{field} IS NOT NULL"
            for field, stage in (("mql_at", Stage.MQL.value), ("sql_at", Stage.SQL.value))
        )
        self.execute(
            "INSERT INTO funnel_stageentry (person_id, source_record_id, stage, basis, "
            f"entered_at, recorded_at) {entries}",
            {"now": now},
        )
        return created

    def _link_waiting(self, rows: str) -> None:
        """Opportunities and activities stored before their person are linked now."""
        if not records_wait():
            return
        linked: set[int] = set()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT s.external_id, s.email_normalized FROM {rows}")
            written = cursor.fetchall()
        for chunk in chunks(written, BATCH_SIZE * 5):
            linked |= link_waiting_records(
                self.source, [r[0] for r in chunk], [r[1] for r in chunk if r[1]]
            )
        refresh_opportunity_dates(linked)


def _person_record(row: dict[str, Any]) -> PersonRecord:
    return PersonRecord(
        external_id=row["external_id"],
        created_at=row["created_at"],
        email=row["email"],
        name=row["name"],
        company=row["company"],
        channel=row["channel"],
        campaign=row["campaign"],
        mql_at=row["mql_at"],
        sql_at=row["sql_at"],
        disqualified_at=row["disqualified_at"],
        disqualify_reason=row["disqualify_reason_text"],
        lead_score=row["lead_score"],
        industry=row["industry"],
        company_size=row["company_size"],
        owner=row["owner"],
    )


# The stored values of an activity but its person, which the load finds by a join.
_ACTIVITY_VALUES = tuple(f for f in ACTIVITY_FIELDS if f != "person_id")
ACTIVITY_STAGE_COLUMNS = ("seq", "external_id", *_ACTIVITY_VALUES)


class StagedActivities(StagedLoad):
    """Activities add no persons and change nothing else: one UPDATE of the stored rows that
    changed, one INSERT of the new ones."""

    columns = ACTIVITY_STAGE_COLUMNS

    @staticmethod
    def stage_row(record: ActivityRecord, seq: int) -> tuple[Any, ...]:
        return (
            seq,
            record.external_id,
            record.person_external_id,
            normalise_email(record.person_email),
            record.type,
            record.occurred_at,
            record.detail,
        )

    def finish(self) -> IngestResult:
        source_id = int(self.source.pk)
        stage = self.table
        analyze_roughly([stage])
        resolved = (
            f"SELECT s.external_id, {_PERSON_OF_REF} AS person_id, "
            f"{', '.join('s.' + c for c in _ACTIVITY_VALUES)} "
            f"FROM {stage} s {_person_ref_join(source_id)}"
        )
        updated = 0
        known_source = Activity.objects.filter(source_id=source_id).exists()
        touched = self._persons_of_staged(source_id) if known_source else set()
        if known_source:
            fields = ("person_id", *_ACTIVITY_VALUES)
            updated = self.execute(
                f"UPDATE funnel_activity a SET {', '.join(f'{f} = r.{f}' for f in fields)} "
                f"FROM ({resolved}) r WHERE a.source_id = {source_id} "
                "AND a.external_id = r.external_id "
                f"AND ({', '.join('a.' + f for f in fields)}) "
                f"IS DISTINCT FROM ({', '.join('r.' + f for f in fields)})"
            )
        new_only = (
            "WHERE NOT EXISTS (SELECT 1 FROM funnel_activity a "
            f"WHERE a.source_id = {source_id} AND a.external_id = s.external_id)"
            if known_source
            else ""
        )
        with bulk_window(["funnel_activity"], self.rows):
            created, first_id = self._insert_new(source_id, new_only)
        # A new source's rows were all inserted: those waiting for their person are the
        # unlinked ones. Otherwise rows not written again may wait too: count them all.
        unlinked = (
            self.scalar(
                f"SELECT count(*) FROM {stage} s {_person_ref_join(source_id)} "
                f"WHERE {_HAS_REF} AND {_PERSON_OF_REF} IS NULL"
            )
            if known_source
            else self._waiting(source_id, first_id)
        )
        qualifying.refresh_moments(touched | self._persons_of_staged(source_id))
        return IngestResult(
            created=created,
            updated=updated,
            unchanged=self.rows - created - updated,
            unlinked=unlinked,
        )

    def _persons_of_staged(self, source_id: int) -> set[int]:
        """The persons the staged activities are stored under (their qualifying moments
        follow their activities); nothing to read while no criteria set exists."""
        if not MomentSet.objects.exists():
            return set()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT a.person_id FROM funnel_activity a "
                f"JOIN {self.table} s ON a.source_id = {source_id} "
                "AND a.external_id = s.external_id WHERE a.person_id IS NOT NULL"
            )
            return {row[0] for row in cursor.fetchall()}

    def _insert_new(self, source_id: int, new_only: str) -> tuple[int, int]:
        """New activities (ids: a reserved block plus seq): how many, and the block's first
        id."""
        first_id = reserve_ids("funnel_activity", self.seq_limit)
        created = self.execute(
            "INSERT INTO funnel_activity (id, source_id, external_id, "
            f"person_id, {', '.join(_ACTIVITY_VALUES)}) SELECT {first_id} + s.seq, "
            f"{source_id}, s.external_id, {_PERSON_OF_REF}, "
            f"{', '.join('s.' + c for c in _ACTIVITY_VALUES)} "
            f"FROM {self.table} s {_person_ref_join(source_id)} {new_only}"
        )
        return created, first_id

    def _waiting(self, source_id: int, first_id: int) -> int:
        """How many of the new activities wait for their person (a reference that matches
        nobody yet): read from the small partial index of unlinked rows."""
        return int(
            self.scalar(
                f"SELECT count(*) FROM funnel_activity a WHERE a.source_id = {source_id} "
                f"AND a.person_id IS NULL AND a.id BETWEEN {first_id} "
                f"AND {first_id + self.seq_limit - 1} "
                "AND (a.person_external_id <> '' OR a.person_email_normalized <> '')"
            )
        )


OPPORTUNITY_STAGE_COLUMNS = (
    "seq",
    "external_id",
    "person_external_id",
    "person_email_normalized",
    "account",
    "name",
    "amount",
    "created_at",
    "closed_at",
    "status",
    "stage",
    "loss_reason",
    "channel",
)
# The stored values of an opportunity but its person, which the load finds by a join.
_OPPORTUNITY_VALUES = tuple(f for f in OPPORTUNITY_FIELDS if f != "person_id")


class StagedOpportunities(StagedLoad):
    """New opportunities are written here with their first history row; stored ones that
    come again go through the batch path (it keeps their change history)."""

    columns = OPPORTUNITY_STAGE_COLUMNS

    @staticmethod
    def stage_row(record: OpportunityRecord, seq: int) -> tuple[Any, ...]:
        return (
            seq,
            record.external_id,
            record.person_external_id,
            normalise_email(record.person_email),
            record.account,
            record.name,
            record.amount,
            record.created_at,
            record.closed_at,
            record.status,
            record.stage,
            record.loss_reason,
            record.channel,
        )

    names_dimensions = True

    def add_dimensions(self, table: str) -> None:
        self.dims.load_channels(channel for (channel,) in self.distinct("channel", table=table))
        self.add_accounts("account", table)

    def with_ids(self) -> str:
        """The staged rows with the ids of their channel and account (alias s)."""
        return (
            "(SELECT s0.*, ch.id AS channel_id, ac.id AS account_id "
            f"FROM {self.table} s0 {_DIMENSION_JOINS} "
            "LEFT JOIN funnel_account ac ON s0.account <> '' AND ac.name = s0.account) s"
        )

    def finish(self) -> IngestResult:
        source_id = int(self.source.pk)
        stage = self.table
        analyze_roughly([stage])
        known_source = Opportunity.objects.filter(source_id=source_id).exists()
        new_only = (
            "WHERE NOT EXISTS (SELECT 1 FROM funnel_opportunity o "
            f"WHERE o.source_id = {source_id} AND o.external_id = s.external_id)"
            if known_source
            else ""
        )
        new = self.temp("new", f"SELECT s.seq FROM {stage} s {new_only}")
        rows, count = self.rows_of(new, self.with_ids())
        result = IngestResult()
        if count:
            first_id = reserve_ids("funnel_opportunity", self.seq_limit)
            with bulk_window(("funnel_opportunity", "funnel_opportunitychange"), count):
                result.created = self._insert_new(rows, source_id, first_id)
            written = f"o.id BETWEEN {first_id} AND {first_id + self.seq_limit - 1}"
            refresh_opportunity_dates(
                Opportunity.objects.filter(
                    id__range=(first_id, first_id + self.seq_limit - 1), person__isnull=False
                ).values("person_id")
            )
            result.unlinked = self.scalar(
                f"SELECT count(*) FROM funnel_opportunity o WHERE {written} "
                "AND o.person_id IS NULL "
                "AND (o.person_external_id <> '' OR o.person_email_normalized <> '')"
            )
        for records in self.leftover([new], count, _opportunity_record):
            result.add(ingest_opportunities(self.source, records))
        return result

    def _insert_new(self, rows: str, source_id: int, first_id: int) -> int:
        """New opportunities (ids: the reserved block plus seq) with their first history row."""
        now = timezone.now()
        created = self.execute(
            "INSERT INTO funnel_opportunity (id, source_id, external_id, person_id, "
            f"{', '.join(_OPPORTUNITY_VALUES)}, updated_at) SELECT {first_id} + s.seq, "
            f"{source_id}, s.external_id, {_PERSON_OF_REF}, "
            f"{', '.join('s.' + c for c in _OPPORTUNITY_VALUES)}, %s "
            f"FROM {rows} {_person_ref_join(source_id)}",
            [now],
        )
        self.execute(
            "INSERT INTO funnel_opportunitychange (opportunity_id, stage, status, amount, "
            f"closed_at, recorded_at) SELECT {first_id} + s.seq, s.stage, s.status, s.amount, "
            f"s.closed_at, %s FROM {rows}",
            [now],
        )
        return created


def _opportunity_record(row: dict[str, Any]) -> OpportunityRecord:
    return OpportunityRecord(
        external_id=row["external_id"],
        amount=row["amount"],
        created_at=row["created_at"],
        status=row["status"],
        person_external_id=row["person_external_id"],
        person_email=row["person_email_normalized"],
        account=row["account"],
        name=row["name"],
        closed_at=row["closed_at"],
        stage=row["stage"],
        loss_reason=row["loss_reason"],
        channel=row["channel"],
    )


STAGED_LOADS: dict[str, type[StagedLoad]] = {
    "persons": StagedPersons,
    "opportunities": StagedOpportunities,
    "activities": StagedActivities,
}
