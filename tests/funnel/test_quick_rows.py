"""funnel/csv_import/quick.py: a row in the usual shape gives the COPY row the full path
(formats.py's parser, then the staged load's stage_row) gives, and every other row is left
to the full path.

Quick rows carry timestamps and scores as the file wrote them, the full path as values; the
comparison reads both as PostgreSQL would (instants, integers).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel.csv_import.formats import KINDS, TEXT_LIMITS
from funnel.csv_import.quick import QUICK_ROWS
from funnel.csv_import.reading import Findings, check_row
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
def _rows(draw: st.DrawFn, kind: str) -> tuple[list[str], list[str]]:
    """A row in the usual shape (USUAL) with up to three columns drawn from their edges,
    the columns in any order, sometimes an optional one missing from the file."""
    usual = dict(zip(*(text.split(",") for text in USUAL[kind]), strict=True))
    header = draw(st.permutations(list(KINDS[kind].columns)))
    dropped = draw(st.sets(st.sampled_from(KINDS[kind].optional), max_size=2))
    header = [c for c in header if c not in dropped]
    for column in draw(st.sets(st.sampled_from(header), max_size=3)):
        usual[column] = draw(_column(column))
    return header, [usual.get(c, "") for c in header]


def _full_path(kind: str, header: list[str], fields: list[str]) -> tuple[Any, ...] | None:
    record = check_row(KINDS[kind], "f.csv", header, 7, list(fields), {}, Findings())
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
