"""csv_text: COPY text for the import's staged rows, built by joining values where none
needs quoting and by the csv module otherwise; either way exactly what the csv module
writes, and read back by PostgreSQL's COPY as the same values."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.ingest.bulk import copy_text, csv_text


def _written_by_csv_module(rows: list[tuple[object, ...]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


# Text with every character COPY's CSV format treats specially, and plain text.
_TEXT = st.text(alphabet=st.sampled_from(list("ab 山,\"\r\n\t\\;'")), max_size=6)
_VALUE = st.one_of(
    st.none(),
    _TEXT,
    st.integers(-(10**12), 10**12),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.datetimes(timezones=st.just(dt.UTC)),
)


@given(st.integers(1, 4).flatmap(lambda w: st.lists(st.tuples(*[_VALUE] * w), max_size=5)))
@settings(max_examples=400, deadline=None)
def test_the_same_text_as_the_csv_module(rows: list[tuple[object, ...]]) -> None:
    assert csv_text(rows) == _written_by_csv_module(rows)


def test_plain_rows_are_joined_and_special_ones_quoted() -> None:
    plain = [(1, "P-1", None, "山田"), (2, "P-2", "", "x")]
    assert csv_text(plain) == "1,P-1,,山田\r\n2,P-2,,x\r\n"
    special = [(1, "a,b", None, 'say "hi"'), (2, "line\nbreak", "\r", "x")]
    assert csv_text(special) == '1,"a,b",,"say ""hi"""\r\n2,"line\nbreak","\r",x\r\n'
    assert csv_text([("",)]) == '""\r\n'  # one empty field is not a blank line
    assert csv_text([(1, "a"), (2, "b", "c")]) == _written_by_csv_module([(1, "a"), (2, "b", "c")])


@pytest.mark.django_db
def test_postgresql_reads_back_the_values() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    rows = [
        (1, "plain", None, Decimal("12.50")),
        (2, 'a,b "c"\r\nd\re', "", None),
        (3, "山田\\N", "\t", Decimal("0")),
    ]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE copy_check (n int, a text, b text, d numeric)")
        copy_text("copy_check", ("n", "a", "b", "d"), ("a", "b"), csv_text(rows))
        cursor.execute("SELECT n, a, b, d FROM copy_check ORDER BY n")
        assert cursor.fetchall() == [
            (1, "plain", "", Decimal("12.50")),
            (2, 'a,b "c"\r\nd\re', "", None),
            (3, "山田\\N", "\t", Decimal("0")),
        ]
