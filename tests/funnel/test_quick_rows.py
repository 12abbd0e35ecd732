"""funnel/csv_import/quick.py: a row in the usual shape gives the COPY row the full path
(formats.py's parser, then the staged load's stage_row) gives, and every other row is left
to the full path.

Quick rows carry timestamps and scores as the file wrote them, the full path as values; the
comparison reads both as PostgreSQL would (instants, integers).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.csv_import import reading
from funnel.csv_import.formats import KINDS, TEXT_LIMITS
from funnel.csv_import.quick import QUICK_BATCHES, QUICK_ROWS
from funnel.csv_import.reading import FileCheck, Plan, read_file
from funnel.ingest.bulk import csv_text
from funnel.ingest.staging import STAGED_LOADS
from funnel.values import parse_timestamp

EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values of each shape a column may meet: the usual ones, and the edges around them.
TIMESTAMPS = [
    "",
    "2026-05-10T09:30:00Z",
    "2026-05-10T09:30:00+09:00",
    " 2026-05-10T09:30:00-05:30 ",
    "2026-05-10T09:30:00+15:59",
    "2026-05-10T09:30:00+16:00",
    "2026-02-30T09:30:00Z",
    "2026-05-10T24:00:00Z",
    "2026-05-10 09:30:00",
    "2026-05-10",
    "2026-05-10T09:30:00.5Z",
    "0001-01-01T00:00:00+09:00",
    "9999-12-31T23:59:59-14:00",
    "2026-05-10t09:30:00z",
    "２０２６-05-10T09:30:00Z",
    "yesterday",
]
SCORES = ["", "0", "49", "007", " 12 ", "-3", "１２", "4.5", "999999999", "1" * 10]
TYPES = ["email_open", " web_visit ", "form_submit", "", "Email_Open", "call?"]
EMAILS = ["", "Sakura@Example.CO.JP", " a@b.c ", "x" * 300 + "@e.jp"]
REASONS = ["", "budget", "Budget", " no budget ", "その他", "timing"]


def _edges(column: str) -> list[str]:
    """The listed edges of a column."""
    if column.endswith("_at"):
        return TIMESTAMPS
    listed = {
        "lead_score": SCORES,
        "type": TYPES,
        "email": EMAILS,
        "person_email": EMAILS,
        "disqualify_reason": REASONS,
    }.get(column)
    if listed is not None:
        return listed
    limit = TEXT_LIMITS.get(column, 300)
    return [
        "",
        " ",
        "a",
        " padded ",
        "山田 太郎",
        "x" * limit,
        "x" * (limit + 1),
        " " + "x" * limit + " ",
    ]


def _column(column: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(_edges(column)), st.text(max_size=12))


def _as_stored(row: tuple[Any, ...], columns: tuple[str, ...]) -> tuple[Any, ...]:
    """A COPY row as PostgreSQL would store it: timestamps as instants, scores as integers."""
    stored = []
    for column, value in zip(columns, row, strict=True):
        if isinstance(value, str) and column.endswith("_at"):
            value = parse_timestamp(value).astimezone(dt.UTC)
        elif isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC)
        elif column == "lead_score" and value is not None:
            value = int(value)
        stored.append(value)
    return tuple(stored)


USUAL = {
    "persons": (
        "external_id,email,name,company,created_at,channel,campaign,mql_at,sql_at,"
        "disqualified_at,disqualify_reason,lead_score,industry,company_size,owner",
        "P1,Sakura@Example.co.jp,山口 さくら,富士工業株式会社,2025-03-31T21:04:52Z,webinar,"
        "wb-1,2025-04-02T10:00:00+09:00,,,,49,製造,1-49,加藤 葵",
    ),
    "activities": (
        "external_id,person_external_id,person_email,type,occurred_at,detail",
        "A1,P1,,email_open,2025-05-24T01:03:16Z,newsletter",
    ),
}


@st.composite
def _header(draw: st.DrawFn, kind: str) -> list[str]:
    """The kind's columns in any order, sometimes an optional one missing from the file."""
    header = draw(st.permutations(list(KINDS[kind].columns)))
    dropped = draw(st.sets(st.sampled_from(KINDS[kind].optional), max_size=2))
    return [c for c in header if c not in dropped]


@st.composite
def _row(draw: st.DrawFn, kind: str, header: list[str]) -> list[str]:
    """A row in the usual shape (USUAL) with up to three columns drawn from their edges."""
    usual = dict(zip(*(text.split(",") for text in USUAL[kind]), strict=True))
    for column in draw(st.sets(st.sampled_from(header), max_size=3)):
        usual[column] = draw(_column(column))
    return [usual.get(c, "") for c in header]


@st.composite
def _rows(draw: st.DrawFn, kind: str) -> tuple[list[str], list[str]]:
    header = draw(_header(kind))
    return header, draw(_row(kind, header))


def _full_path(kind: str, header: list[str], fields: list[str]) -> tuple[Any, ...] | None:
    record = FileCheck(KINDS[kind], "f.csv", header).row(7, list(fields))
    return None if record is None else STAGED_LOADS[kind].stage_row(record, 5)


@pytest.mark.parametrize("kind", sorted(QUICK_ROWS))
@EXAMPLES
@given(data=st.data())
def test_a_quick_row_is_the_full_paths_row(kind: str, data: st.DataObject) -> None:
    header, fields = data.draw(_rows(kind))
    quick = QUICK_ROWS[kind](header)(list(fields), 5)
    if quick is None:
        return  # left to the full path, which says what (if anything) is wrong
    full = _full_path(kind, header, fields)
    assert full is not None, "quick accepted a row the full path rejects"
    columns = STAGED_LOADS[kind].columns
    assert _as_stored(quick, columns) == _as_stored(full, columns)


@pytest.mark.parametrize("kind", sorted(QUICK_ROWS))
def test_rows_in_the_usual_shape_take_the_quick_path(kind: str) -> None:
    header, line = (text.split(",") for text in USUAL[kind])
    quick = QUICK_ROWS[kind](header)(line, 5)
    assert quick is not None
    full = _full_path(kind, header, line)
    assert full is not None
    columns = STAGED_LOADS[kind].columns
    assert _as_stored(quick, columns) == _as_stored(full, columns)
    assert quick[0] == 5 and len(quick) == len(columns)


@pytest.mark.parametrize(
    ("kind", "column"),
    [(kind, column) for kind in sorted(QUICK_ROWS) for column in KINDS[kind].columns],
)
def test_each_edge_of_each_column_alone(kind: str, column: str) -> None:
    header, line = (text.split(",") for text in USUAL[kind])
    for edge in _edges(column):
        fields = list(line)
        fields[header.index(column)] = edge
        quick = QUICK_ROWS[kind](header)(fields, 5)
        if quick is None:
            continue
        full = _full_path(kind, header, fields)
        assert full is not None, f"{column}={edge!r}: quick accepted a row the full path rejects"
        columns = STAGED_LOADS[kind].columns
        assert _as_stored(quick, columns) == _as_stored(full, columns), f"{column}={edge!r}"


# External ids of a batch's rows: mostly new ones, sometimes one the batch or the file had.
_IDS = st.sampled_from(["X1", "X2", "X3", "X4", " X5 ", "X6", "", "P1"])


@pytest.mark.parametrize("kind", sorted(QUICK_BATCHES))
@EXAMPLES
@given(data=st.data())
def test_a_quick_batch_is_its_quick_rows(kind: str, data: st.DataObject) -> None:
    """The batch builder gives the COPY text of its rows' quick rows and their ids, or None
    exactly when one of them is not quick or repeats an id of the batch or of the file."""
    header = data.draw(_header(kind))
    rows = data.draw(st.lists(_row(kind, header), min_size=1, max_size=5))
    for row in rows:
        if data.draw(st.booleans()):
            row[header.index("external_id")] = data.draw(_IDS)
    seen = data.draw(st.dictionaries(_IDS.map(str.strip), st.integers(2, 9), max_size=2))
    numbers = list(range(10, 10 + len(rows)))
    quick = QUICK_ROWS[kind](header)
    singles = [quick(list(row), number - 2) for row, number in zip(rows, numbers, strict=True)]
    given_seen = dict(seen)

    built = QUICK_BATCHES[kind](header)([list(row) for row in rows], numbers, given_seen)

    assert given_seen == seen  # the caller records the ids it takes
    ids = [single[1] for single in singles if single is not None]
    if None in singles or len(set(ids)) < len(ids) or not seen.keys().isdisjoint(ids):
        assert built is None
    else:
        assert built == (csv_text(singles), ids)


@pytest.mark.parametrize(
    ("kind", "column"),
    [(kind, column) for kind in sorted(QUICK_BATCHES) for column in KINDS[kind].columns],
)
def test_each_edge_of_each_column_alone_in_a_batch(kind: str, column: str) -> None:
    header, line = (text.split(",") for text in USUAL[kind])
    other = list(line)
    other[header.index("external_id")] = "X9"
    quick, batch = QUICK_ROWS[kind](header), QUICK_BATCHES[kind](header)
    for edge in _edges(column):
        fields = list(line)
        fields[header.index(column)] = edge
        single = quick(list(fields), 5)
        built = batch([list(other), list(fields)], [6, 7], {})
        if single is None or single[1] == "X9":
            assert built is None, f"{column}={edge!r}"
        else:
            assert built == (csv_text([quick(list(other), 4), single]), ["X9", single[1]])


_FILES = {
    "persons": USUAL["persons"][0]
    + "\n"
    + "\n".join(
        [
            USUAL["persons"][1]
            .replace("P1,", f"P{n}," if n % 7 else "P3,", 1)
            .replace("Sakura@", f"s{n}@")
            .replace("富士工業株式会社", '"富士, 工業"' if n % 5 == 0 else f"会社{n}")
            .replace(",49,", ",x9," if n % 11 == 0 else ",49,")
            for n in range(1, 40)
        ]
    )
    + "\n",
    "activities": USUAL["activities"][0]
    + "\n"
    + "\n".join(
        [
            USUAL["activities"][1]
            .replace("A1,", f"A{n}," if n % 9 else "A2,", 1)
            .replace("newsletter", '"say ""hi"""' if n % 6 == 0 else f"n{n}")
            .replace("email_open", "email_opened" if n % 13 == 0 else "email_open")
            for n in range(1, 40)
        ]
    )
    + "\n",
}


@pytest.mark.parametrize("kind", sorted(QUICK_BATCHES))
@pytest.mark.parametrize("batch_rows", [1, 2, 3, 1000])
def test_a_file_read_by_columns_gives_what_it_gives_row_by_row(
    kind: str, batch_rows: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same COPY text, errors, warnings and counts, whatever the runs: repeated ids,
    bad values, values that need quoting (a comma, a quote) among quick rows."""
    path = tmp_path / f"{kind}.csv"
    path.write_text(_FILES[kind], encoding="utf-8")
    plan = Plan(kind=KINDS[kind], encoding=None, staged=lambda lines: True)
    monkeypatch.setattr(reading, "STAGED_BATCH_ROWS", 5)

    def read() -> tuple[str, int, Any]:
        events = list(read_file(path, plan, 100))
        texts = "".join(payload for event, payload, _ in events if event == "text")
        counts = sum(rows for event, _, rows in events if event == "text")
        return texts, counts, events[-1][1]

    monkeypatch.setattr(reading, "QUICK_BATCH_ROWS", batch_rows)
    by_columns = read()
    monkeypatch.setattr(reading, "QUICK_BATCHES", {})
    row_by_row = read()

    assert by_columns == row_by_row
    text, count, done = by_columns
    assert done.rejected > 0 and count == 39 - done.rejected  # the file has both kinds
    assert '"' in text  # and values the csv module quotes
