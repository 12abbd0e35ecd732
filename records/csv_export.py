"""CSV downloads that Excel in Japan opens as UTF-8 and never runs as formulas.

Kpi-spec section 6: text is stored verbatim (`=HYPERLINK(...)` included), so every export
neutralises a cell a spreadsheet would evaluate. Rows are streamed, so a 100k-row export
does not sit in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse

BOM = "\ufeff"
# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice or
# Google Sheets; the full-width forms are included because Japanese Excel converts them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
ROWS_PER_CHUNK = 500


def safe_cell(value: object) -> str:
    """Text as a spreadsheet shows it, not runs it: a formula start gets a leading `'`.

    Only text is neutralised; numbers (an int, a Decimal) are the product's own output and
    stay numbers.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Sequence[object], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The BOM and header, then the rows in chunks, every cell through safe_cell."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([safe_cell(cell) for cell in header])
    chunk: list[str] = []
    for row in rows:
        chunk.append(writer.writerow([safe_cell(cell) for cell in row]))
        if len(chunk) >= ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_response(
    filename: str, header: Sequence[object], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A streamed UTF-8 (with BOM) CSV download; `filename` must be ASCII."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
