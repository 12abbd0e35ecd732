"""Reading a canonical CSV file: encoding, header checks, rows (kpi-spec section 6).

Problems with the file as a whole (encoding, delimiter, duplicate or missing columns) raise
FileProblem: nothing is imported from that file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

SUPPORTED_ENCODINGS = ("utf-8", "utf-8-sig", "cp932", "shift_jis")
# Names of Shift_JIS: Excel in Japan writes CP932, its superset (㈱, ①, 髙 ...).
_CP932_NAMES = {"cp932", "ms932", "windows-31j", "shift_jis", "shift-jis", "sjis", "s_jis"}
_OTHER_DELIMITERS = (";", "\t", "|")
# Scripts a Japanese CP932 export is written in: kana, kanji, full-width forms, CJK punctuation,
# and the NEC/IBM extensions Excel uses (circled numbers, ㈱).
_JAPANESE = re.compile(
    "[\u3000-\u30ff\u3190-\u319f\u31f0-\u31ff\u3200-\u32ff\u3300-\u33ff"
    "\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\u2460-\u24ff\u2010-\u2312\u00a7\u00a8"
    "\u00b0\u00b1\u00b4\u00b6\u00d7\u00f7\u0391-\u03c9\u0401-\u0451]"
)


def _reads_as_japanese(text: str) -> bool:
    """CP932 decodes many byte strings; accept it when what comes out is Japanese text."""
    foreign = [ch for ch in text[:200_000] if ord(ch) > 127]
    if not foreign:
        return True
    japanese = sum(1 for ch in foreign if _JAPANESE.match(ch))
    return japanese >= 0.95 * len(foreign)


class FileProblem(ValueError):
    """The file cannot be imported at all; the message names the file."""


@dataclass(frozen=True)
class CsvFile:
    path: Path
    encoding: str
    header: list[str]
    text: str

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, fields); the header is row 1, as a spreadsheet shows it."""
        reader = csv.reader(io.StringIO(self.text, newline=""))
        next(reader, None)
        for number, fields in enumerate(reader, start=2):
            if fields:  # a blank line is no row
                yield number, fields


def decode(path: Path, data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (BOM or not) or CP932, detected unless declared."""
    if declared:
        if declared.lower() in _CP932_NAMES:
            declared = "cp932"
        try:
            codecs.lookup(declared)
            return data.decode(declared), declared
        except LookupError:
            raise FileProblem(f"{path.name}: unknown encoding '{declared}'") from None
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"{path.name}: not valid {declared} text (byte {exc.start})"
            ) from None
    if b"\x00" in data[:65536]:
        raise FileProblem(
            f"{path.name}: not a text file (UTF-16 or binary, e.g. an .xlsx); "
            "save it as CSV in UTF-8 or Shift_JIS (CP932)"
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileProblem(f"{path.name}: not valid UTF-8 text (byte {exc.start})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        text = None
    if text is not None and _reads_as_japanese(text):
        return text, "cp932"
    best = from_bytes(data[:1_000_000]).best()  # only to say what the file looks like
    detected = f" (it looks like {best.encoding})" if best is not None else ""
    raise FileProblem(
        f"{path.name}: not text in a supported encoding{detected}; "
        "use UTF-8 or Shift_JIS (CP932), or declare it with --encoding"
    )


def open_csv(path: Path, declared_encoding: str | None = None) -> CsvFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"{path}: cannot be read ({exc.strerror})") from None
    text, encoding = decode(path, data, declared_encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [column.strip() for column in next(reader, [])]
    if not any(header):
        raise FileProblem(f"{path.name}: no header row; the first row must name the columns")
    if len(header) == 1:
        for delimiter in _OTHER_DELIMITERS:
            if delimiter in header[0]:
                shown = "tab" if delimiter == "\t" else f"'{delimiter}'"
                raise FileProblem(
                    f"{path.name}: the columns are separated by {shown}; canonical files use commas"
                )
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise FileProblem(f"{path.name}: the column '{column}' appears twice in the header")
        seen.add(column)
    return CsvFile(path=path, encoding=encoding, header=header, text=text)
