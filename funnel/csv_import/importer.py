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

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from funnel import ingest
from funnel.choices import SourceKind
from funnel.csv_import.formats import IMPORT_ORDER, KINDS, FileKind, Record, Row, kind_of
from funnel.csv_import.reader import FileProblem, open_csv
from funnel.ingest.bulk import relax_commit_durability
from funnel.ingest.deals import ActivityBulkLoad
from funnel.ingest.persons import PersonBulkLoad
from funnel.records import IngestResult

CHUNK_ROWS = 5000
# From this many rows a persons or activities file is loaded with its lookups read once.
BULK_ROWS = 20_000

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "kind": self.kind,
            "encoding": self.encoding,
            "rows": self.rows,
            **self.result.as_dict(),
            "failed": self.failed,
            "errors": self.errors,
            "warnings": self.warnings,
        }


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
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    try:
        # A dry run sees its own files (opportunities find the persons of the same run)
        # and is rolled back as a whole at the end; a real run commits file by file.
        with transaction.atomic() if dry_run else nullcontext():
            source = ingest.get_or_create_source(source_name, SourceKind.CSV)
            for path in collect_files(paths, kind):
                report.files.append(_import_one(source, path, kind, encoding))
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def _import_one(source: Any, path: Path, kind: str | None, encoding: str | None) -> FileReport:
    """One file in its own transaction (a savepoint inside a dry run)."""
    file_report = FileReport(path=path, kind=kind or kind_of(path.name))
    if file_report.kind is None:
        file_report.failed = True
        file_report.errors.append(
            f"{path.name}: the name does not say which kind of file it is "
            f"({', '.join(KINDS)}); rename it or pass --kind"
        )
        return file_report
    try:
        with transaction.atomic():
            relax_commit_durability()
            _import_file(source, path, KINDS[file_report.kind], encoding, file_report)
    except FileProblem as problem:
        file_report.failed = True
        file_report.errors.append(str(problem))
        file_report.result = IngestResult()
    return file_report


def _import_file(
    source: Any, path: Path, kind: FileKind, encoding: str | None, report: FileReport
) -> None:
    csv_file = open_csv(path, encoding)
    report.encoding = csv_file.encoding
    header = csv_file.header
    missing = [column for column in kind.required if column not in header]
    if kind.name == "activities" and not {"person_external_id", "person_email"} & set(header):
        missing.append("person_external_id or person_email")
    if missing:
        raise FileProblem(
            f"{path.name}: the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} {'are' if len(missing) > 1 else 'is'} "
            "missing; nothing was imported from this file"
        )
    unknown = [column for column in header if column not in kind.columns]
    if unknown:
        report.warnings.append(
            f"{path.name}: unknown column{'s' if len(unknown) > 1 else ''} ignored: "
            + ", ".join(unknown)
        )
    write = _WRITERS[kind.name]
    if csv_file.text.count("\n") > BULK_ROWS:
        if kind.name == "activities":
            write = ActivityBulkLoad(source)
        elif kind.name == "persons":
            write = PersonBulkLoad(source)
    seen: dict[Any, int] = {}
    chunk: list[Record] = []
    for number, fields in csv_file.rows():
        report.rows += 1
        where = f"{path.name}, row {number}"
        if len(fields) != len(header):
            report.errors.append(
                f"{where}: {len(fields)} fields where the header has {len(header)}"
            )
            report.result.rejected += 1
            continue
        row = Row(dict(zip(header, fields, strict=True)))
        record, warnings = kind.parse(row)
        for problem in row.problems:
            report.errors.append(f"{where}, column {problem.column}: {problem.message}")
        if record is None:
            report.result.rejected += 1
            continue
        identity = kind.identity(record) if kind.identity else None
        if identity is not None and identity in seen:
            report.errors.append(
                f"{where}: the same {'external_id' if isinstance(identity, str) else 'key'} "
                f"as row {seen[identity]}"
            )
            report.result.rejected += 1
            continue
        if identity is not None:
            seen[identity] = number
        report.warnings.extend(f"{where}: {warning}" for warning in warnings)
        chunk.append(record)
        if len(chunk) >= CHUNK_ROWS:
            report.result.add(write(source, chunk))
            chunk = []
    if chunk:
        report.result.add(write(source, chunk))
