"""`import_csv`: canonical CSV files -> the one ingest service (kpi-spec section 6).

The rule for bad input, one for the whole product:
- a file problem (encoding, delimiter, a missing or doubled column, unknown kind) imports
  nothing from that file;
- a bad row is rejected whole and reported with file, row and column; the good rows of the
  same file are imported; a rejected row never touches the stored record it names;
- each file is written in one transaction, so an import that fails or is killed part-way
  leaves that file's records as they were (and re-running it is idempotent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from funnel import ingest
from funnel.choices import SourceKind
from funnel.csv_import.formats import IMPORT_ORDER, KINDS, FileKind, kind_of
from funnel.csv_import.reader import FileProblem, Problem
from funnel.csv_import.reading import FileRead, Plan, Reader
from funnel.ingest.bulk import VacuumAhead, relax_commit_durability
from funnel.ingest.deals import ActivityBulkLoad
from funnel.ingest.persons import PersonBulkLoad
from funnel.ingest.staging import STAGED_LOADS, StagedLoad
from funnel.records import IngestResult

logger = logging.getLogger(__name__)
CHUNK_ROWS = 5000
# From this many rows a persons, opportunities or activities file is a bulk load: on
# PostgreSQL staged in a temporary table and written set-based (ingest/staging.py),
# elsewhere with its lookups read once.
BULK_ROWS = 20_000
_BULK: dict[str, Callable[[Any], Callable[[Any, Sequence[Any]], IngestResult]]] = {
    "persons": PersonBulkLoad,
    "activities": ActivityBulkLoad,
}
# The tables each kind of file writes (and those of the records it links; accounts: the
# companies its rows name), vacuumed and analyzed once the import will not write them again.
_TABLES = {
    "persons": ("funnel_person", "funnel_sourceperson", "funnel_stageentry", "funnel_account"),
    "opportunities": (
        "funnel_opportunity",
        "funnel_opportunitychange",
        "funnel_person",
        "funnel_account",
    ),
    "activities": ("funnel_activity",),
    "costs": ("funnel_costentry",),
    "targets": ("funnel_target",),
}

_WRITERS: dict[str, Callable[[Any, Sequence[Any]], IngestResult]] = {
    "persons": ingest.ingest_persons,
    "opportunities": ingest.ingest_opportunities,
    "activities": ingest.ingest_activities,
    "costs": ingest.ingest_costs,
    "targets": ingest.ingest_targets,
}


@dataclass
class FileReport:
    path: Path
    kind: str | None = None
    encoding: str | None = None
    rows: int = 0
    result: IngestResult = field(default_factory=IngestResult)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: bool = False  # a file problem: nothing imported
    seconds: float = 0.0
    # The errors again, with file, row and column apart (pages, CSVs of the problems).
    problems: list[Problem] = field(default_factory=list)

    def add_problem(self, problem: Problem, text: str | None = None) -> None:
        self.errors.append(text if text is not None else str(problem))
        self.problems.append(problem)

    def as_dict(self, with_problems: bool = False) -> dict[str, Any]:
        """What `import_csv --json` prints; a sync run keeps `with_problems` too."""
        report: dict[str, Any] = {
            "file": str(self.path),
            "kind": self.kind,
            "encoding": self.encoding,
            "rows": self.rows,
            **self.result.as_dict(),
            "failed": self.failed,
            "errors": self.errors,
            "warnings": self.warnings,
        }
        if with_problems:
            report["problems"] = [problem.as_dict() for problem in self.problems]
        return report


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not any(f.failed or f.errors for f in self.files)


class _DryRunRollback(Exception):
    pass


def collect_files(paths: Iterable[Path], kind: str | None) -> list[Path]:
    """Files named, and the CSV files of directories named, persons first (IMPORT_ORDER)."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.csv")) if path.is_dir() else [path])

    def order(p: Path) -> tuple[int, str]:
        k = kind or kind_of(p.name)
        return (IMPORT_ORDER.index(k) if k in IMPORT_ORDER else len(IMPORT_ORDER), p.name)

    return sorted(found, key=order)


def import_csv_files(
    source_name: str,
    paths: Sequence[Path],
    kind: str | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    on_file: Callable[[FileReport], None] | None = None,
) -> ImportReport:
    """Import `paths`, each file in its own transaction; `on_file` hears of each file once
    it is done (committed, or refused), so a run killed later still says which committed."""
    report = ImportReport(dry_run=dry_run)
    staging = connection.vendor == "postgresql"
    plans = [(path, _plan(path, kind, encoding, staging)) for path in collect_files(paths, kind)]
    reader = Reader(plans, CHUNK_ROWS)
    vacuum = VacuumAhead()
    written: set[str] = set()
    try:
        # A dry run sees its own files (opportunities find the persons of the same run)
        # and is rolled back as a whole at the end; a real run commits file by file.
        with transaction.atomic() if dry_run else nullcontext():
            source = ingest.get_or_create_source(source_name, SourceKind.CSV)
            for index, (path, plan) in enumerate(plans):
                started = time.perf_counter()
                report.files.append(_import_one(source, path, plan, reader.events(index)))
                report.files[-1].seconds = time.perf_counter() - started
                if on_file is not None and not dry_run:
                    on_file(report.files[-1])
                if not dry_run:
                    written |= _tables_written(report.files[-1])
                    later = {t for _, p in plans[index + 1 :] if p for t in _tables(p.kind.name)}
                    vacuum.add(written - later)
                    written &= later
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        return report
    finally:
        reader.close()
        vacuum.finish()
    return report


def _tables(kind: str | None) -> tuple[str, ...]:
    return _TABLES.get(kind or "", ())


def _tables_written(file_report: FileReport) -> set[str]:
    """The tables a file's rows went to (and those of the records they link)."""
    result = file_report.result
    return set(_tables(file_report.kind)) if result.created or result.updated else set()


def _plan(path: Path, kind: str | None, encoding: str | None, staging: bool) -> Plan | None:
    """How to read `path`; None when its name does not say its kind."""
    name = kind or kind_of(path.name)
    if name is None or name not in KINDS:
        return None

    def staged(lines: int) -> bool:
        return staging and lines > BULK_ROWS and name in STAGED_LOADS

    return Plan(kind=KINDS[name], encoding=encoding, staged=staged)


def _import_one(
    source: Any, path: Path, plan: Plan | None, events: Iterator[tuple[str, Any, int]]
) -> FileReport:
    """One file in its own transaction (a savepoint inside a dry run)."""
    if plan is None:
        file_report = FileReport(path=path, failed=True)
        file_report.add_problem(
            Problem(
                path.name,
                f"the name does not say which kind of file it is ({', '.join(KINDS)}); "
                "rename it or pass --kind",
            )
        )
        return file_report
    file_report = FileReport(path=path, kind=plan.kind.name)
    try:
        with transaction.atomic():
            relax_commit_durability()
            _write_file(source, plan.kind, events, file_report)
            written = time.perf_counter()
        logger.debug("%s: commit took %.2f s", path.name, time.perf_counter() - written)
    except FileProblem as problem:
        file_report.failed = True
        file_report.add_problem(Problem.of_file(path.name, str(problem)), str(problem))
        file_report.result = IngestResult()
    return file_report


def _write_file(
    source: Any, kind: FileKind, events: Iterator[tuple[str, Any, int]], report: FileReport
) -> None:
    """Write what the reader hands over: record chunks to the kind's writer, or COPY text
    to a staged load, which writes set-based when the file is complete."""
    write = _WRITERS[kind.name]
    load: StagedLoad | None = None
    for event, payload, rows in events:
        if event == "start":
            staged, lines = payload
            if staged:
                load = STAGED_LOADS[kind.name](source)
            elif lines > BULK_ROWS and kind.name in _BULK:
                write = _BULK[kind.name](source)
        elif event == "text":
            assert load is not None
            load.copy(payload, rows)
        elif event == "records":
            report.result.add(write(source, payload))
        elif event == "done":
            read: FileRead = payload
            report.encoding = read.encoding
            report.rows = read.rows
            report.result.rejected += read.rejected
            report.errors.extend(read.errors)
            report.problems.extend(read.problems)
            report.warnings.extend(read.warnings)
            if read.problem:
                raise FileProblem(read.problem)
            if load is not None:
                logger.debug("%s: rows read and staged", report.path.name)
                load.seq_limit = read.seq_limit
                report.result.add(load.finish())
