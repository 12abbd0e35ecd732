"""Reading the files of an import ahead of writing them, in a thread.

Parsing and checking rows is Python work; writing a large file is mostly PostgreSQL work
(ingest/staging.py), during which the Python process waits. A reader thread therefore goes
through the files in import order while the main thread writes: when the persons file is
being written, the activities file is already being parsed. The reader never touches the
database, so the transactions stay as they were (one per file, in the main thread); it only
turns rows into records (or, for a staged load, into COPY text) and collects the problems
with file, row and column.

(Parsing in worker processes as well was measured at 1M persons: no faster on two cores,
where PostgreSQL needs the other one.)
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel.csv_import.formats import FileKind, Record, Row
from funnel.csv_import.quick import QUICK_BATCHES, QUICK_ROWS
from funnel.csv_import.reader import FileProblem, Problem, UnreadableRow, open_csv
from funnel.ingest.bulk import csv_text
from funnel.ingest.staging import STAGED_LOADS

# Rows a reader may hold ahead of the writer: records are heavy (a whole object per row),
# staged COPY text is light (one line), so the budget counts a record as many text rows.
LOOKAHEAD = 6_000_000
RECORD_WEIGHT = 100
# Staged files are handed over in batches of this many rows (COPY text is small).
STAGED_BATCH_ROWS = 20_000
# Rows checked a column at a time (quick.py's batch builders): enough for the C loops to
# pay, few enough that the rows die young (the garbage collector walks what lives long).
QUICK_BATCH_ROWS = 1_000


@dataclass
class FileRead:
    """What reading one file found; complete when its "done" event arrives."""

    encoding: str | None = None
    rows: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the errors, structured
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None  # the file cannot be imported at all
    seq_limit: int = 0  # staged loads: every seq is below it


@dataclass
class Plan:
    """How a file is read: its kind, and whether it is a staged load (the reader hands over
    COPY text) or not (the writer gets records). `staged(line_count)` decides once the file
    is opened."""

    kind: FileKind
    encoding: str | None
    staged: Callable[[int], bool]


@dataclass
class Findings:
    """Problems and warnings of one file's rows, in row order, and how many were rejected."""

    errors: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejected: int = 0

    def add(self, problem: Problem) -> None:
        """A problem, both as the command prints it and structured (for pages and CSVs)."""
        self.errors.append(str(problem))
        self.problems.append(problem)


@dataclass
class FileCheck:
    """The checks of one file's rows: its kind, name and header, the identities of the good
    rows so far (a later row with the same one is rejected) and what was found."""

    kind: FileKind
    file_name: str
    header: list[str]
    seen: dict[Any, int] = field(default_factory=dict)
    findings: Findings = field(default_factory=Findings)

    def row(self, number: int, fields: list[str] | UnreadableRow) -> Record | None:
        """The record of a good row; a bad row, or one whose identity an earlier row of the
        file had, is rejected into `findings` (None)."""
        findings, header = self.findings, self.header
        if isinstance(fields, UnreadableRow):
            findings.add(Problem(self.file_name, fields.message, number))
            findings.rejected += 1
            return None
        if len(fields) != len(header):
            findings.add(
                Problem(
                    self.file_name,
                    f"{len(fields)} fields where the header has {len(header)}",
                    number,
                )
            )
            findings.rejected += 1
            return None
        row = Row(dict(zip(header, fields, strict=True)))
        record, warnings = self.kind.parse(row)
        for problem in row.problems:
            findings.add(Problem(self.file_name, problem.message, number, problem.column))
        if record is None:
            findings.rejected += 1
            return None
        identity = self.kind.identity(record) if self.kind.identity else None
        if identity is not None:
            if identity in self.seen:
                name = "external_id" if isinstance(identity, str) else "key"
                findings.add(
                    Problem(self.file_name, f"the same {name} as row {self.seen[identity]}", number)
                )
                findings.rejected += 1
                return None
            self.seen[identity] = number
        if warnings:
            findings.warnings.extend(f"{self.file_name}, row {number}: {w}" for w in warnings)
        return record

    def records(
        self, rows: Iterable[tuple[int, list[str] | UnreadableRow]]
    ) -> Iterator[tuple[int, Record]]:
        """(row number, record) of each good row."""
        for number, fields in rows:
            record = self.row(number, fields)
            if record is not None:
                yield number, record

    def staged_rows(
        self, rows: Iterable[tuple[int, list[str] | UnreadableRow]]
    ) -> Iterator[tuple[Any, ...]]:
        """The COPY row of each good row for the kind's staged load (its seq: the row number
        minus 2). A row in the usual shape is built by quick.py; any other row, and a quick
        row whose external id came before, takes `row` (which says what is wrong)."""
        stage_row = STAGED_LOADS[self.kind.name].stage_row
        make_quick = QUICK_ROWS.get(self.kind.name)
        quick = make_quick(self.header) if make_quick else None
        width, seen = len(self.header), self.seen
        for number, fields in rows:
            if quick is not None and type(fields) is list and len(fields) == width:
                staged = quick(fields, number - 2)
                if staged is not None and staged[1] not in seen:
                    seen[staged[1]] = number
                    yield staged
                    continue
            record = self.row(number, fields)
            if record is not None:
                yield stage_row(record, number - 2)

    def staged_text(
        self, rows: Iterable[tuple[int, list[str] | UnreadableRow]]
    ) -> Iterator[tuple[str, int]]:
        """(COPY text, good rows) of about STAGED_BATCH_ROWS rows at a time: the text
        staged_rows gives, in the same order. A run of QUICK_BATCH_ROWS rows that are all
        quick (and new) is built a column at a time (quick.py's batch builders); any other
        run takes staged_rows row by row."""
        make_batch = QUICK_BATCHES.get(self.kind.name)
        quick_batch = make_batch(self.header) if make_batch else None
        width = len(self.header)
        pieces: list[str] = []
        count = 0
        iterator = iter(rows)
        while run := list(itertools.islice(iterator, QUICK_BATCH_ROWS)):
            text = None
            if quick_batch is not None:
                whole = [f for _, f in run if type(f) is list and len(f) == width]
                numbers = [number for number, _ in run]
                built = quick_batch(whole, numbers, self.seen) if len(whole) == len(run) else None
                if built is not None:
                    text, ids = built
                    self.seen.update(zip(ids, numbers, strict=True))
                    good = len(run)
            if text is None:
                staged = list(self.staged_rows(run))
                text, good = (csv_text(staged) if staged else ""), len(staged)
            pieces.append(text)
            count += good
            if count >= STAGED_BATCH_ROWS:
                yield "".join(pieces), count
                pieces, count = [], 0
        if count:
            yield "".join(pieces), count


def read_file(path: Path, plan: Plan, chunk_rows: int) -> Iterator[tuple[str, Any, int]]:
    """Events of one file: ("start", (staged?, lines), 0), then per chunk ("records",
    records, rows) or, for a staged load, ("text", COPY text, rows), then ("done", FileRead,
    0). Rows are checked here; what they say about stored records is decided by the writer.
    A staged row's seq is its row number minus 2 (unique, in file order; rejected rows
    leave gaps)."""
    read = FileRead()
    kind = plan.kind
    try:
        csv_file = open_csv(path, plan.encoding)
        read.encoding = csv_file.encoding
        header = csv_file.header
        _check_header(path, kind, header, read)
    except FileProblem as problem:
        read.problem = str(problem)
        yield "done", read, 0
        return
    lines = csv_file.lines
    staged = plan.staged(lines)
    yield "start", (staged, lines), 0
    check = FileCheck(kind, path.name, header)
    last = 1

    def counted() -> Iterator[tuple[int, list[str] | UnreadableRow]]:
        nonlocal last
        for number, fields in csv_file.rows():
            read.rows += 1
            last = number
            yield number, fields

    # One row at a time from the CSV reader to the batch: a row's objects die young, so
    # the garbage collector never walks big batches of them (the full collections did
    # cost half of the parse time).
    try:
        if staged:
            for text, count in check.staged_text(counted()):
                yield "text", text, count
        else:
            good = check.records(counted())
            while records := [record for _, record in itertools.islice(good, chunk_rows)]:
                yield "records", records, len(records)
    except FileProblem as problem:
        # Found part-way (a quote never closed): the writer drops what it was handed of
        # this file, and the reader goes on to the next file (raised out of the thread, it
        # left the writer waiting forever for the next file's events).
        yield "done", FileRead(problem=str(problem)), 0
        return
    findings = check.findings
    read.errors.extend(findings.errors)
    read.problems.extend(findings.problems)
    read.warnings.extend(findings.warnings)
    read.rejected = findings.rejected
    read.seq_limit = last - 1
    yield "done", read, 0


def _check_header(path: Path, kind: FileKind, header: list[str], read: FileRead) -> None:
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
        read.warnings.append(
            f"{path.name}: unknown column{'s' if len(unknown) > 1 else ''} ignored: "
            + ", ".join(unknown)
        )


class Reader:
    """Reads the files in a thread, ahead of the writer, within the LOOKAHEAD budget.

    `events(index)` yields the events of file `index` (files are consumed in order).
    An exception in the thread is raised again in the writer; `close()` stops the thread.
    """

    def __init__(self, files: list[tuple[Path, Plan | None]], chunk_rows: int) -> None:
        self.files = files
        self.chunk_rows = chunk_rows
        self.queue: queue.Queue[tuple[int, str, Any, int, int]] = queue.Queue()
        self.held = 0
        self.budget = threading.Condition()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="csv-import-reader", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for index, (path, plan) in enumerate(self.files):
                if plan is None:
                    continue  # nothing to read (the writer reports why)
                for event, payload, rows in read_file(path, plan, self.chunk_rows):
                    weight = rows * (RECORD_WEIGHT if event == "records" else 1)
                    if not self._take(weight):
                        return
                    self.queue.put((index, event, payload, rows, weight))
        except BaseException as exc:
            self.queue.put((-1, "error", exc, 0, 0))

    def _take(self, weight: int) -> bool:
        with self.budget:
            while self.held and self.held + weight > LOOKAHEAD and not self.stopped.is_set():
                self.budget.wait(0.5)
            self.held += weight
        return not self.stopped.is_set()

    def events(self, index: int) -> Iterator[tuple[str, Any, int]]:
        while True:
            file_index, event, payload, rows, weight = self.queue.get()
            if event == "error":
                raise payload
            assert file_index == index, "files are read and written in the same order"
            with self.budget:
                self.held -= weight
                self.budget.notify_all()
            yield event, payload, rows
            if event == "done":
                return

    def close(self) -> None:
        self.stopped.set()
        with self.budget:
            self.budget.notify_all()
        self.thread.join(timeout=5)
