"""Bad CSV text that the csv module reads leniently or not at all (kpi-spec section 6: a
clear error naming file, row and column; nothing lost; never a traceback), on both import
paths: rows one batch at a time, and the large-file path (staged on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from funnel.csv_import import importer
from funnel.csv_import.formats import TEXT_LIMITS
from funnel.csv_import.importer import ImportReport, import_csv_files
from funnel.ingest import bulk
from funnel.models import Person, SourcePerson

pytestmark = pytest.mark.django_db
HEADER = "external_id,email,name,company,created_at,channel"
GOOD = "p1,a@example.com,Aoki,ACME,2026-04-01T10:00:00+09:00,webinar"


@pytest.fixture(params=["small", "large"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    large = request.param == "large"
    monkeypatch.setattr(importer, "BULK_ROWS", -1 if large else 10**9)
    monkeypatch.setattr(bulk, "BULK_WINDOW_ROWS", 10**9)
    return str(request.param)


def _file(tmp_path: Path, text: str, name: str = "persons.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _import(path: Path) -> ImportReport:
    return import_csv_files("ma", [path])


def _errors(report: ImportReport) -> list[str]:
    return [error for f in report.files for error in f.errors]


def test_it_refuses_a_file_whose_quote_never_closes(tmp_path: Path, path_kind: str) -> None:
    path = _file(
        tmp_path,
        f"{HEADER}\r\n{GOOD}\r\n"
        'p2,b@example.com,"Baba,ACME,2026-04-02T10:00:00+09:00,webinar\r\n'
        "p3,c@example.com,Chiba,ACME,2026-04-03T10:00:00+09:00,webinar\r\n",
    )
    report = _import(path)
    assert report.files[0].failed
    assert _errors(report) == [
        "persons.csv: the quoted field that opens in row 3 is never closed (a missing "
        'closing quote "); nothing was imported'
    ]
    assert Person.objects.count() == 0  # not even the good row before it


def test_it_keeps_the_stored_records_when_a_file_is_refused(tmp_path: Path, path_kind: str) -> None:
    _import(_file(tmp_path, f"{HEADER}\r\n{GOOD}\r\n"))
    changed = GOOD.replace("Aoki", "Aoki Changed")
    report = _import(_file(tmp_path, f'{HEADER}\r\n{changed}\r\np9,"open\r\n'))
    assert report.files[0].failed
    assert SourcePerson.objects.get(external_id="p1").name == "Aoki"


def test_it_rejects_a_value_longer_than_its_column_stores(tmp_path: Path, path_kind: str) -> None:
    """A 1 MB name: past the csv module's default field limit, and past the 300 characters
    a name stores. The row is refused naming the column; the others are imported."""
    huge = "x" * 1_048_576
    path = _file(
        tmp_path,
        f"{HEADER}\r\n{GOOD}\r\n"
        f"p2,b@example.com,{huge},ACME,2026-04-02T10:00:00+09:00,webinar\r\n"
        "p3,c@example.com,Chiba,ACME,2026-04-03T10:00:00+09:00,webinar\r\n",
    )
    report = _import(path)
    assert _errors(report) == [
        f"persons.csv, row 3, column name: 1,048,576 characters; at most "
        f"{TEXT_LIMITS['name']:,} are stored"
    ]
    assert sorted(SourcePerson.objects.values_list("external_id", flat=True)) == ["p1", "p3"]


# A good row of each kind, by column; each limited column is made one too long in turn.
_GOOD_ROWS = {
    "persons": {
        "external_id": "p2", "email": "b@example.com", "name": "Baba", "company": "ACME",
        "created_at": "2026-04-02T10:00:00+09:00", "channel": "webinar", "campaign": "wb-1",
        "disqualify_reason": "budget", "industry": "製造", "company_size": "1-49",
        "owner": "加藤",
    },
    "opportunities": {
        "external_id": "o1", "person_external_id": "p1", "person_email": "a@example.com",
        "account": "ACME", "name": "Deal", "amount": "100", "currency": "JPY",
        "created_at": "2026-04-02T10:00:00+09:00", "status": "open", "stage": "proposal",
        "loss_reason": "", "channel": "webinar",
    },
    "activities": {
        "external_id": "a1", "person_external_id": "p1", "person_email": "a@example.com",
        "type": "web_visit", "occurred_at": "2026-04-02T10:00:00+09:00", "detail": "/",
    },
    "costs": {"date": "2026-04", "channel": "webinar", "campaign": "wb-1", "amount": "100"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "column"),
    [
        (kind, column)
        for kind, row in _GOOD_ROWS.items()
        for column in row
        if column in TEXT_LIMITS and column != "currency"  # any other currency is refused
    ],
)
def test_every_limited_column_refuses_a_value_one_too_long(
    tmp_path: Path, path_kind: str, kind: str, column: str
) -> None:
    """Optional columns too: read after a row's other checks, they once reached COPY and
    ended the import in a traceback ("value too long for type character varying")."""
    _import(_file(tmp_path, f"{HEADER}\r\n{GOOD}\r\n"))
    row = dict(_GOOD_ROWS[kind])
    row[column] = "x" * (TEXT_LIMITS[column] + 1)
    header = ",".join(row)
    report = _import(_file(tmp_path, f"{header}\r\n{','.join(row.values())}\r\n", f"{kind}.csv"))
    assert _errors(report) == [
        f"{kind}.csv, row 2, column {column}: {TEXT_LIMITS[column] + 1:,} characters; "
        f"at most {TEXT_LIMITS[column]:,} are stored"
    ]
    assert SourcePerson.objects.count() == 1  # the stored person is as it was


def test_it_stores_a_long_detail_whole(tmp_path: Path, path_kind: str) -> None:
    _import(_file(tmp_path, f"{HEADER}\r\n{GOOD}\r\n"))
    detail = "/pricing?" + "q" * 200_000
    path = _file(
        tmp_path,
        "external_id,person_external_id,type,occurred_at,detail\r\n"
        f"a1,p1,web_visit,2026-04-02T10:00:00+09:00,{detail}\r\n",
        "activities.csv",
    )
    report = _import(path)
    assert _errors(report) == []
    assert Person.objects.get().activities.get().detail == detail


def test_it_rejects_a_row_with_a_nul_character(tmp_path: Path, path_kind: str) -> None:
    filler = "\r\n".join(
        f"f{i},f{i}@example.com,F,ACME,2026-04-05T10:00:00+09:00,webinar" for i in range(3000)
    )
    path = _file(
        tmp_path,
        f"{HEADER}\r\n{filler}\r\n{GOOD}\r\n"
        "p2,b@example.com,Ba\x00ba,ACME,2026-04-02T10:00:00+09:00,webinar\r\n",
    )
    report = _import(path)
    assert _errors(report) == ["persons.csv, row 3003: a value contains a NUL character"]
    assert SourcePerson.objects.filter(external_id="p1").exists()
    assert not SourcePerson.objects.filter(external_id="p2").exists()


def test_it_rejects_text_after_a_closing_quote_and_reads_on(tmp_path: Path, path_kind: str) -> None:
    path = _file(
        tmp_path,
        f"{HEADER}\r\n"
        'p2,b@example.com,"Baba"x,ACME,2026-04-02T10:00:00+09:00,webinar\r\n'
        f"{GOOD}\r\n",
    )
    report = _import(path)
    assert len(_errors(report)) == 1
    assert _errors(report)[0].startswith("persons.csv, row 2: the row cannot be read as CSV")
    assert list(SourcePerson.objects.values_list("external_id", flat=True)) == ["p1"]


def test_it_keeps_a_lone_carriage_return_inside_quotes(tmp_path: Path, path_kind: str) -> None:
    path = _file(
        tmp_path,
        f'{HEADER}\r\np1,a@example.com,"Ao\rki",ACME,2026-04-01T10:00:00+09:00,webinar\r\n',
    )
    assert _errors(_import(path)) == []
    assert SourcePerson.objects.get().name == "Ao\rki"


def test_it_rejects_rows_of_a_file_with_very_many_columns(tmp_path: Path, path_kind: str) -> None:
    extra = ",".join(f"c{i}" for i in range(5000))
    path = _file(
        tmp_path,
        f"{HEADER},{extra}\r\n{GOOD}{',' * 5000}\r\np2,b@example.com\r\n",
    )
    report = _import(path)
    assert _errors(report) == ["persons.csv, row 3: 2 fields where the header has 5006"]
    assert list(SourcePerson.objects.values_list("external_id", flat=True)) == ["p1"]


def test_it_refuses_a_header_row_longer_than_it_reads(tmp_path: Path) -> None:
    path = _file(tmp_path, ",".join(f"column_{i}" for i in range(30_000)) + "\r\n")
    report = _import(path)
    assert report.files[0].failed
    assert _errors(report) == [
        "persons.csv: the header row is longer than 200,000 characters; is this a CSV file?"
    ]


def test_a_file_whose_quote_never_closes_does_not_stop_the_files_after_it(
    tmp_path: Path, path_kind: str
) -> None:
    """The reader thread reports the file problem and reads on (it used to stop, and the
    import waited forever for the next file)."""
    persons = _file(
        tmp_path, f'{HEADER}\r\n{GOOD}\r\np2,b@example.com,"Baba,ACME,2026-04-02T10:00:00+09:00\r\n'
    )
    costs = _file(
        tmp_path, "date,channel,campaign,amount\r\n2026-04,webinar,,1000\r\n", "costs.csv"
    )
    report = import_csv_files("ma", [persons, costs])
    assert [(f.path.name, f.failed) for f in report.files] == [
        ("persons.csv", True),
        ("costs.csv", False),
    ]
    assert report.files[1].result.created == 1
    assert Person.objects.count() == 0


def test_every_error_is_also_a_problem_with_file_row_and_column(
    tmp_path: Path, path_kind: str
) -> None:
    """FileReport.problems hold the errors apart (pages, CSVs); the printed text is theirs."""
    path = _file(
        tmp_path,
        f"{HEADER}\r\n{GOOD}\r\n"
        "p2,b@example.com,Baba,ACME,not-a-date,webinar\r\n"
        "p3,c@example.com\r\n"
        f"{GOOD}\r\n",
    )
    (file_report,) = _import(path).files
    assert [p.as_dict() for p in file_report.problems] == [
        {"file": "persons.csv", "row": 3, "column": "created_at", "message": ANY_TEXT},
        {"file": "persons.csv", "row": 4, "column": None, "message": ANY_TEXT},
        {
            "file": "persons.csv",
            "row": 5,
            "column": None,
            "message": "the same external_id as row 2",
        },
    ]
    assert file_report.errors == [str(p) for p in file_report.problems]
    assert file_report.errors[1] == "persons.csv, row 4: 2 fields where the header has 6"
    assert "problems" not in file_report.as_dict()  # the command's --json is as it was
    assert file_report.as_dict(with_problems=True)["problems"][2]["row"] == 5


def test_a_file_problem_is_a_problem_without_row(tmp_path: Path) -> None:
    path = _file(tmp_path, "external_id,email\r\np1,a@example.com\r\n")
    (file_report,) = _import(path).files
    (problem,) = file_report.problems
    assert (problem.file, problem.row, problem.column) == ("persons.csv", None, None)
    assert problem.message.startswith("the required column 'created_at' is missing")
    assert file_report.errors == [str(problem)]


class _AnyText:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)


ANY_TEXT = _AnyText()


def test_a_moment_outside_the_calendar_in_utc_is_a_row_error(
    tmp_path: Path, path_kind: str
) -> None:
    """Stored, it could not be read back (year 10000 once in UTC)."""
    path = _file(
        tmp_path,
        f"{HEADER}\r\n{GOOD}\r\np2,b@example.com,Baba,ACME,9999-12-31T23:59:59-14:00,webinar\r\n",
    )
    report = _import(path)
    assert _errors(report) == [
        "persons.csv, row 3, column created_at: '9999-12-31T23:59:59-14:00' is outside the "
        "calendar (years 1 to 9999) in UTC"
    ]
    assert list(SourcePerson.objects.values_list("external_id", flat=True)) == ["p1"]


def test_an_offset_beyond_what_the_database_takes_is_stored_as_its_instant(
    tmp_path: Path, path_kind: str
) -> None:
    """+20:00 is valid (under 24 h) but PostgreSQL takes at most ±15:59: it ended the
    import in COPY."""
    path = _file(
        tmp_path,
        f"{HEADER}\r\n{GOOD}\r\np2,b@example.com,Baba,ACME,2026-04-02T10:00:00+20:00,webinar\r\n",
    )
    assert _errors(_import(path)) == []
    stored = SourcePerson.objects.get(external_id="p2").created_at
    assert stored == dt.datetime(2026, 4, 1, 14, 0, tzinfo=dt.UTC)
