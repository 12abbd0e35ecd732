"""funnel/csv_import/reader.py: encodings, header checks and row numbers (kpi-spec section 6).

A file problem (encoding, delimiter, a doubled column) is an error naming the file, and
nothing is imported from that file.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest

from funnel.csv_import import reader
from funnel.csv_import.importer import import_csv_files
from funnel.csv_import.reader import FileProblem, open_csv
from funnel.models import Person, SourcePerson

PERSONS_HEADER = "external_id,email,name,company,created_at"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _persons_text(*rows: str) -> str:
    return "\r\n".join([PERSONS_HEADER, *rows]) + "\r\n"


def test_it_reads_utf8_and_numbers_rows_like_a_spreadsheet(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "persons.csv",
        "external_id,created_at,name\nP1,2026-05-01,山田太郎\n\nP2,2026-05-02,鈴木\n".encode(),
    )
    csv_file = open_csv(path)
    assert csv_file.encoding == "utf-8"
    assert csv_file.header == ["external_id", "created_at", "name"]
    # The header is row 1; a blank line is no record but still a line of the sheet.
    assert list(csv_file.rows()) == [
        (2, ["P1", "2026-05-01", "山田太郎"]),
        (4, ["P2", "2026-05-02", "鈴木"]),
    ]


def test_it_drops_a_utf8_bom_from_the_first_column_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "persons.csv", codecs.BOM_UTF8 + b"external_id,created_at\nP1,2026-05-01\n"
    )
    csv_file = open_csv(path)
    assert csv_file.encoding == "utf-8-sig"
    assert csv_file.header == ["external_id", "created_at"]


def test_it_detects_cp932_with_crlf_line_ends(tmp_path: Path) -> None:
    text = "external_id,created_at,name,company\r\nP1,2026-05-01,山田太郎,株式会社テスト\r\n"
    csv_file = open_csv(_write(tmp_path, "persons.csv", text.encode("cp932")))
    assert csv_file.encoding == "cp932"
    assert list(csv_file.rows()) == [(2, ["P1", "2026-05-01", "山田太郎", "株式会社テスト"])]


def test_it_detects_a_short_cp932_file_with_japanese_surnames(tmp_path: Path) -> None:
    """Only UTF-8 and CP932 are supported, so bytes that are not UTF-8 but are valid CP932
    are CP932; a guess of another East Asian encoding must not reject the file."""
    text = "external_id,created_at,name\r\nP1,2026-05-01,山田\r\nP2,2026-05-02,佐藤\r\n"
    csv_file = open_csv(_write(tmp_path, "persons.csv", text.encode("cp932")))
    assert csv_file.encoding == "cp932"
    assert [fields[2] for _, fields in csv_file.rows()] == ["山田", "佐藤"]


def test_it_reads_a_declared_encoding(tmp_path: Path) -> None:
    text = "external_id,created_at,name\r\nP1,2026-05-01,山田\r\n"
    csv_file = open_csv(_write(tmp_path, "persons.csv", text.encode("cp932")), "cp932")
    assert csv_file.encoding == "cp932"
    assert next(csv_file.rows())[1][2] == "山田"


@pytest.mark.parametrize("declared", [None, "cp932", "shift_jis", "Shift_JIS", "sjis"])
def test_it_reads_excel_japanese_characters_whether_detected_or_declared_shift_jis(
    tmp_path: Path, declared: str | None
) -> None:
    """Excel's "Shift_JIS" is CP932: ㈱, ① and 髙 (common in company and person names) are
    CP932 characters; a file declared Shift_JIS must not be rejected for them (spec 6:
    "CP932/Shift_JIS (Excel exports in Japan), detected or declared")."""
    text = "external_id,created_at,company\r\nP1,2026-05-01,㈱テスト①\r\nP2,2026-05-01,髙橋商店\r\n"
    csv_file = open_csv(_write(tmp_path, "persons.csv", text.encode("cp932")), declared)
    assert [fields[2] for _, fields in csv_file.rows()] == ["㈱テスト①", "髙橋商店"]


def test_it_rejects_a_declared_encoding_the_bytes_do_not_match(tmp_path: Path) -> None:
    path = _write(tmp_path, "persons.csv", "external_id,name\nP1,山田\n".encode("cp932"))
    with pytest.raises(FileProblem) as raised:
        open_csv(path, "utf-8")
    assert "persons.csv" in str(raised.value)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp932", b"")],
    ids=["utf-8", "utf-8-bom", "cp932"],
)
def test_it_decodes_characters_cut_between_the_pieces_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str, prefix: bytes
) -> None:
    """The file is decoded a piece at a time (memory stays flat): a character whose bytes
    fall into two pieces is still read whole, and the line count is the file's."""
    monkeypatch.setattr(reader, "PIECE_BYTES", 5)
    names = ["山田太郎", "㈱テスト①" if encoding == "cp932" else "株式会社テスト", "鈴木"]
    text = "external_id,created_at,name\r\n" + "".join(
        f"P{i},2026-05-0{i},{name}\r\n" for i, name in enumerate(names, start=1)
    )
    csv_file = open_csv(_write(tmp_path, "persons.csv", prefix + text.encode(encoding)))
    assert csv_file.encoding == ("utf-8-sig" if prefix else encoding)
    assert csv_file.lines == 4
    assert [fields[2] for _, fields in csv_file.rows()] == names


@pytest.mark.parametrize("piece_bytes", [1, 2, 3, 7, 64])
@pytest.mark.parametrize(
    "text",
    [
        "external_id,name\r\nP1,山田\r\n\r\nP2,鈴木\r\n",  # CRLF, a blank line
        "external_id,name\rP1,山田\rP2,鈴木",  # old Mac line ends, no final one
        'external_id,name\nP1,"two\r\nlines"\nP2,"a ""quoted"" name"\n',  # a cell with a line end
        "external_id,name\nP1,山田\n\n\nP2,鈴木",  # blank lines, no final line end
    ],
    ids=["crlf", "cr", "multiline-cell", "no-final-newline"],
)
def test_it_reads_rows_and_row_numbers_as_from_the_whole_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, piece_bytes: int
) -> None:
    """Pieces are cut anywhere, even between \\r and \\n or inside a quoted cell; the
    rows and their numbers are those of the file read whole."""
    monkeypatch.setattr(reader, "PIECE_BYTES", piece_bytes)
    records = list(csv.reader(io.StringIO(text, newline="")))
    expected = [(n, f) for n, f in enumerate(records[1:], start=2) if f]
    csv_file = open_csv(_write(tmp_path, "persons.csv", text.encode()))
    assert list(csv_file.rows()) == expected


def test_it_names_the_offset_of_a_bad_byte_in_a_later_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "PIECE_BYTES", 4)
    good = "external_id,name\nP1,山田\n".encode()
    path = _write(tmp_path, "persons.csv", good + b"P2,\xff\n")
    with pytest.raises(FileProblem) as raised:
        open_csv(path, "utf-8")
    assert str(raised.value) == f"persons.csv: not valid utf-8 text (byte {len(good) + 3})"


@pytest.mark.parametrize(
    "data",
    [
        "external_id,created_at\r\nP1,2026-05-01\r\n".encode("utf-16"),
        "external_id,created_at\r\nP1,2026-05-01\r\n".encode("utf-16-le"),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00binary xlsx content",
        bytes(range(256)),
    ],
    ids=["utf-16", "utf-16-le-no-bom", "xlsx", "binary"],
)
def test_it_rejects_a_file_that_is_not_text_naming_the_file(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "persons_export.csv", data)
    with pytest.raises(FileProblem) as raised:
        open_csv(path)
    assert "persons_export.csv" in str(raised.value)


def test_it_rejects_a_doubled_column_naming_the_file_and_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "persons.csv", b"external_id,created_at,email,email\nP1,2026-05-01,a,b\n"
    )
    with pytest.raises(FileProblem) as raised:
        open_csv(path)
    assert "persons.csv" in str(raised.value)
    assert "email" in str(raised.value)


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_it_rejects_a_wrong_delimiter_naming_the_file(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["external_id", "created_at", "name"]) + "\n"
    text += delimiter.join(["P1", "2026-05-01", "Taro"]) + "\n"
    path = _write(tmp_path, "persons.csv", text.encode())
    with pytest.raises(FileProblem) as raised:
        open_csv(path)
    assert "persons.csv" in str(raised.value)


def test_it_rejects_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(FileProblem) as raised:
        open_csv(_write(tmp_path, "persons.csv", b""))
    assert "persons.csv" in str(raised.value)


def test_it_reads_a_header_without_rows_as_an_empty_file(tmp_path: Path) -> None:
    csv_file = open_csv(_write(tmp_path, "persons.csv", (PERSONS_HEADER + "\n").encode()))
    assert csv_file.header == PERSONS_HEADER.split(",")
    assert list(csv_file.rows()) == []


@pytest.mark.django_db
def test_it_imports_a_header_only_file_as_valid_and_empty(tmp_path: Path) -> None:
    path = _write(tmp_path, "persons.csv", (PERSONS_HEADER + "\r\n").encode())
    report = import_csv_files("ma", [path])
    assert report.ok
    (file_report,) = report.files
    assert (file_report.rows, file_report.errors, file_report.failed) == (0, [], False)
    assert Person.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp932", b"")],
    ids=["utf-8", "utf-8-bom", "cp932"],
)
def test_it_stores_japanese_names_verbatim_in_every_supported_encoding(
    tmp_path: Path, encoding: str, prefix: bytes
) -> None:
    text = _persons_text(
        "P1,taro@example.jp,山田太郎,株式会社テスト,2026-05-01T10:00:00+09:00",
        "P2,hanako@example.jp,鈴木花子,有限会社サンプル,2026-05-02T10:00:00+09:00",
    )
    path = _write(tmp_path, "persons.csv", prefix + text.encode(encoding))
    report = import_csv_files("ma", [path])
    assert report.ok, report.files[0].errors
    assert report.files[0].result.created == 2
    stored = {sp.external_id: (sp.name, sp.company) for sp in SourcePerson.objects.all()}
    assert stored == {"P1": ("山田太郎", "株式会社テスト"), "P2": ("鈴木花子", "有限会社サンプル")}
    assert Person.objects.get(email_normalized="taro@example.jp").name == "山田太郎"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        _persons_text("P1,a@example.jp,A,Co,2026-05-01").encode("utf-16"),
        _persons_text("P1,a@example.jp,A,Co,2026-05-01").replace(",", ";").encode(),
        _persons_text("P1,a@example.jp,A,Co,2026-05-01").replace(",", "\t").encode(),
        b"external_id,email,email,created_at\r\nP1,a@example.jp,b@example.jp,2026-05-01\r\n",
    ],
    ids=["utf-16", "semicolon", "tab", "doubled-column"],
)
def test_it_imports_nothing_from_a_file_with_a_file_problem(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, "persons.csv", data)
    report = import_csv_files("ma", [path])
    assert not report.ok
    (file_report,) = report.files
    assert file_report.failed
    assert any("persons.csv" in error for error in file_report.errors)
    assert Person.objects.count() == 0
