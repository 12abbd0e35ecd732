"""Reading a canonical CSV file: encoding, header checks, rows (kpi-spec section 6).

Problems with the file as a whole (encoding, delimiter, duplicate or missing columns) raise
FileProblem: nothing is imported from that file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
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


# Characters at the start of a file that the checks looking at its text read (header, CP932).
HEAD_CHARS = 200_000


def _reads_as_japanese(text: str) -> bool:
    """CP932 decodes many byte strings; accept it when what comes out is Japanese text."""
    foreign = [ch for ch in text[:HEAD_CHARS] if ord(ch) > 127]
    if not foreign:
        return True
    japanese = sum(1 for ch in foreign if _JAPANESE.match(ch))
    return japanese >= 0.95 * len(foreign)


class FileProblem(ValueError):
    """The file cannot be imported at all; the message names the file."""


@dataclass(frozen=True)
class Problem:
    """One problem of an import and where it is, for a page or a CSV of them: `row` (the
    header is row 1) and `column` are None where the problem is the file's or the row's as a
    whole. `str()` is the line the import command prints."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"

    @classmethod
    def of_file(cls, file: str, text: str) -> Problem:
        """A FileProblem's text, told apart from the file name (or path) it starts with."""
        head, colon, rest = text.partition(": ")
        return cls(file, rest if colon and head.endswith(file) else text)

    def as_dict(self) -> dict[str, str | int | None]:
        return {"file": self.file, "row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class UnreadableRow:
    """A row the CSV reader could not split into fields (e.g. text after a closing quote:
    `"abc"def`): it is rejected, the rows after it are read on."""

    message: str


# Fields are read whole whatever their length (the csv module's default limit, 131,072
# characters, would stop the file half-read); a value longer than its column allows is
# then a bad value of its row (formats.TEXT_LIMITS).
csv.field_size_limit(2**31 - 1)
# What the strict reader says, and only says, when the file ends inside a quoted field.
_EOF_IN_QUOTES = "unexpected end of data"


# The file is decoded in pieces of this many bytes: an import holds its rows, not its file.
PIECE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class CsvFile:
    path: Path
    encoding: str
    header: list[str]
    lines: int  # line ends in the file, the header's included

    def rows(self) -> Iterator[tuple[int, list[str] | UnreadableRow]]:
        """(row number, fields); the header is row 1, as a spreadsheet shows it. Streams
        the file (its encoding was checked whole by open_csv).

        Read strictly: a quoted field whose closing quote never comes would swallow the
        rest of the file into one field, so it is a FileProblem naming the row where the
        quote opened; other rows the reader cannot split are UnreadableRow. A NUL
        character (no database stores it in text) makes its row unreadable too."""
        nul = False

        def pieces() -> Iterator[io.StringIO]:
            nonlocal nul
            for text in self._texts():
                nul = nul or "\x00" in text  # before any row of the piece is read
                yield io.StringIO(text, newline="")

        # The reader takes the lines straight from the pieces (C iterators all the way: a
        # generator a line cost a tenth of the read).
        reader = csv.reader(itertools.chain.from_iterable(pieces()), strict=True)
        with contextlib.suppress(csv.Error):  # the header was read by open_csv
            next(reader, None)
        number = 1
        while True:
            number += 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if str(exc) == _EOF_IN_QUOTES:
                    raise FileProblem(
                        f"{self.path.name}: the quoted field that opens in row {number} is "
                        'never closed (a missing closing quote "); nothing was imported'
                    ) from None
                yield number, UnreadableRow(f"the row cannot be read as CSV ({exc})")
                continue
            if nul and any("\x00" in field for field in fields):
                yield number, UnreadableRow("a value contains a NUL character")
            elif fields:  # a blank line is no row
                yield number, fields

    def _texts(self) -> Iterator[str]:
        """The file's text, decoded a piece at a time, each cut after its last \\n (so no
        \\r\\n is split in two and every piece is whole lines). (Lines of decoded text, not
        a text file object: with one, the import's writer thread waited for the GIL so often
        that its COPYs took 20 times longer; measured.)"""
        rest = ""
        for piece, text in _decoded_pieces(self.path, self.encoding):
            text = rest + text
            cut = text.rfind("\n") + 1 if piece else len(text)  # the end: all that is left
            rest = text[cut:]
            if cut:
                yield text[:cut]


class _Undecodable(Exception):
    def __init__(self, byte: int) -> None:
        self.byte = byte


@dataclass(frozen=True)
class _Scan:
    lines: int
    head: str  # the first characters, for the checks that look at the text


def _decoded_pieces(path: Path, encoding: str) -> Iterator[tuple[bytes, str]]:
    """(bytes, text) of each piece of the file, then (b"", the decoder's last text); a bad
    byte raises _Undecodable with its offset in the file. A character cut between two
    pieces is decoded with the second."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while True:
            piece = handle.read(PIECE_BYTES)
            pending = len(decoder.getstate()[0])  # bytes of a character cut at the last piece
            try:
                text = decoder.decode(piece, final=not piece)
            except UnicodeDecodeError as exc:
                raise _Undecodable(offset - pending + exc.start) from None
            yield piece, text
            if not piece:
                return
            offset += len(piece)


def _scan(path: Path, encoding: str) -> _Scan:
    """Decode the whole file without keeping it: its line ends and first HEAD_CHARS
    characters, or _Undecodable."""
    lines = 0
    head = ""
    for piece, text in _decoded_pieces(path, encoding):
        if len(head) < HEAD_CHARS:
            head += text[: HEAD_CHARS - len(head)]
        lines += piece.count(b"\n")
    return _Scan(lines=lines, head=head)


def decode(path: Path, declared: str | None = None) -> tuple[str, _Scan]:
    """Encoding name (UTF-8 with or without BOM, or CP932: detected unless declared) and
    what reading the whole file in it found."""
    if declared:
        if declared.lower() in _CP932_NAMES:
            declared = "cp932"
        try:
            codecs.lookup(declared)
        except LookupError:
            raise FileProblem(f"{path.name}: unknown encoding '{declared}'") from None
        try:
            return declared, _scan(path, declared)
        except _Undecodable as bad:
            raise FileProblem(f"{path.name}: not valid {declared} text (byte {bad.byte})") from None
    with path.open("rb") as handle:
        start = handle.read(65536)
    if b"\x00" in start:
        raise FileProblem(
            f"{path.name}: not a text file (UTF-16 or binary, e.g. an .xlsx); "
            "save it as CSV in UTF-8 or Shift_JIS (CP932)"
        )
    if start.startswith(codecs.BOM_UTF8):
        try:
            return "utf-8-sig", _scan(path, "utf-8-sig")
        except _Undecodable as bad:
            raise FileProblem(f"{path.name}: not valid UTF-8 text (byte {bad.byte})") from None
    try:
        return "utf-8", _scan(path, "utf-8")
    except _Undecodable:
        pass
    try:
        scan = _scan(path, "cp932")
        if _reads_as_japanese(scan.head):
            return "cp932", scan
    except _Undecodable:
        pass
    with path.open("rb") as handle:
        best = from_bytes(handle.read(1_000_000)).best()  # only to say what it looks like
    detected = f" (it looks like {best.encoding})" if best is not None else ""
    raise FileProblem(
        f"{path.name}: not text in a supported encoding{detected}; "
        "use UTF-8 or Shift_JIS (CP932), or declare it with --encoding"
    )


def open_csv(path: Path, declared_encoding: str | None = None) -> CsvFile:
    """The file's encoding, header and size, checked; its rows are read by CsvFile.rows()."""
    try:
        encoding, scan = decode(path, declared_encoding)
    except OSError as exc:
        raise FileProblem(f"{path}: cannot be read ({exc.strerror})") from None
    if len(scan.head) == HEAD_CHARS and "\n" not in scan.head and "\r" not in scan.head:
        raise FileProblem(
            f"{path.name}: the header row is longer than {HEAD_CHARS:,} characters; "
            "is this a CSV file?"
        )
    reader = csv.reader(io.StringIO(scan.head, newline=""))
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
    return CsvFile(path=path, encoding=encoding, header=header, lines=scan.lines)
