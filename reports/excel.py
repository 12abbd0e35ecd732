"""The quarterly report as an Excel workbook (openpyxl), from the same data as the HTML page:
one sheet per section, numbers written as numbers with number formats (¥#,##0, 0.0%).

Text that came from users or sources (commentary, author names, channel keys) is
neutralised: a cell a spreadsheet would run as a formula gets a leading apostrophe
(kpi-spec section 6: every export neutralises such cells).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from io import BytesIO
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from funnel.metrics.formatting import NULL, Figure, Kind
from reports.report import KpiRow, QuarterlyReport, local_moment

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {
    "count": "#,##0",
    "money": "¥#,##0" if settings.COMPANY_CURRENCY == "JPY" else "#,##0.00",
    "rate": "0.0%",
    "days": "#,##0.0",
    "expected": "#,##0.0",
    "change": "+0.0%;-0.0%;0.0%",
    "points": '+0.0" pt";-0.0" pt";0.0" pt"',
}
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F0F4F8")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def neutralise(text: str) -> str:
    """User text as a plain string: never a formula, whatever it starts with."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Sheet:
    """Appends rows of labels and Figures to one worksheet."""

    def __init__(self, book: Workbook, title: str) -> None:
        self.ws: Worksheet = book.create_sheet(_SHEET_NAME_BAD.sub(" ", title)[:31])

    def row(self, *cells: Any, header: bool = False) -> None:
        self.ws.append([self._value(cell) for cell in cells])
        row = self.ws.max_row
        for column, cell in enumerate(cells, start=1):
            target = self.ws.cell(row=row, column=column)
            if isinstance(cell, Figure):
                target.number_format = NUMBER_FORMATS[cell.kind]
                target.alignment = Alignment(horizontal="right")
            if header:
                target.font = _BOLD
                target.fill = _HEADER_FILL

    def title(self, text: str) -> None:
        self.ws.append([text])
        self.ws.cell(row=self.ws.max_row, column=1).font = Font(bold=True, size=13)

    def blank(self) -> None:
        self.ws.append([])

    def widths(self, *widths: int) -> None:
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width

    @staticmethod
    def _value(cell: Any) -> Any:
        if isinstance(cell, Figure):
            return NULL if cell.value is None else cell.value
        return "" if cell is None else str(cell)


def _summary(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.title(_("Quarterly executive report") + f" {report.label}")
    sheet.row(_("Period"), report.period.name)
    sheet.row(_("From"), report.period.start.isoformat())
    sheet.row(_("To"), report.period.end.isoformat())
    sheet.row(_("As of"), report.as_of_text)
    for name, other in (
        (_("Previous quarter"), report.previous),
        (_("Same quarter last year"), report.year_ago),
    ):
        sheet.row(name, other.period.name, _("as of"), local_moment(other.as_of))
    sheet.blank()
    kgi = report.kgi
    sheet.row(_("Revenue (KGI = won amount)"), header=True)
    sheet.row(_("Actual"), kgi["actual"])
    sheet.row(_("Target"), kgi["target"])
    sheet.row(_("Attainment"), kgi["attainment"])
    sheet.row(_("Expected by now"), kgi["expected"])
    sheet.row(_("Status"), kgi["status_label"] or kgi["reason"])
    sheet.row(_("Elapsed share of the quarter"), report.elapsed_share)
    sheet.row(_("Bottleneck"), report.bottleneck_label or NULL)
    sheet.widths(34, 22, 10, 24)


def _tree(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.row("", "key", _("Required"), _("Expected by now"), _("Actual"), _("Status"), header=True)
    for node in report.tree:
        status = node.status_label or node.reason or ""
        if node.bottleneck:
            status += " / " + _("Bottleneck")
        sheet.row(node.label, node.key, node.required, node.expected, node.actual, status)
    sheet.row(
        _("Required marketing budget"), "budget", report.budget, None, None, report.budget_reason
    )
    sheet.blank()
    sheet.row(_("Inputs (trailing four quarters)"), report.trailing_period, header=True)
    for item in report.inputs:
        sheet.row(item.label, item.key, item.value, _("override") if item.override else "")
    sheet.widths(34, 16, 16, 16, 16, 30)


def _kpis(sheet: _Sheet, report: QuarterlyReport, rows: Iterable[KpiRow]) -> None:
    sheet.row(
        "KPI",
        "key",
        report.label,
        _("Target"),
        report.previous.label,
        _("QoQ"),
        report.year_ago.label,
        _("YoY"),
        header=True,
    )
    for row in rows:
        target = row.target if row.target is not None else ""
        sheet.row(
            row.label, row.key, row.current, target, row.previous, row.qoq, row.year_ago, row.yoy
        )
    sheet.widths(34, 22, 16, 16, 16, 12, 16, 12)


def _channels(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.row(_("Channel"), *[label for _key, label in report.channel_columns], header=True)
    for channel in report.channels:
        sheet.row(neutralise(str(channel.label)), *channel.cells)
    sheet.widths(22, *[14] * len(report.channel_columns))


def _disqualifications(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.row(_("Reason"), "code", _("Leads"), _("Share"), header=True)
    for reason in report.disqualifications:
        sheet.row(reason.label, reason.code, reason.count, reason.share)
    sheet.row(_("Total"), "", Figure(report.disqualified_total, Kind.COUNT), header=True)
    sheet.widths(30, 20, 12, 12)


def _feedback(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.row(
        _("Channel"),
        _("Decided"),
        _("Accepted"),
        _("Rejected"),
        _("Acceptance rate"),
        _("Most common reason"),
        header=True,
    )
    for row in report.feedback:
        sheet.row(
            neutralise(str(row.label)),
            row.decided,
            row.accepted,
            row.rejected,
            row.acceptance_rate,
            str(row.top_reason),
        )
    sheet.widths(22, 12, 12, 12, 16, 24)


def _checklist(sheet: _Sheet, report: QuarterlyReport) -> None:
    checklist = report.checklist
    if checklist is None:
        sheet.row(_("The checklist was not recorded by the end of this quarter."))
        return
    sheet.row(_("Items that hold"), Figure(checklist.held, Kind.COUNT), header=True)
    sheet.row(_("Items"), Figure(checklist.total, Kind.COUNT))
    sheet.row(_("Day"), checklist.day.isoformat())
    for text, holds in checklist.items:
        sheet.row(str(text), "?" if holds is None else ("✓" if holds else "✗"))
    sheet.widths(80, 12)


def _sla(sheet: _Sheet, report: QuarterlyReport) -> None:
    sla = report.sla
    sheet.row(_("MQL follow-up SLA"), sla["rate"])
    sheet.row(_("MQLs due or handled"), sla["eligible"])
    sheet.row(_("Handled in time"), sla["handled_in_time"])
    sheet.row(
        _("Deadline (business days after the MQL date)"), Figure(sla["business_days"], Kind.COUNT)
    )
    sheet.widths(44, 14)


def _commentary(sheet: _Sheet, report: QuarterlyReport) -> None:
    sheet.row(_("Department"), _("Commentary"), _("Author"), _("Updated"), header=True)
    for commentary in report.commentary.values():
        sheet.row(
            str(commentary.label),
            neutralise(commentary.text),
            neutralise(commentary.author),
            local_moment(commentary.updated_at) if commentary.updated_at else "",
        )
        cell = sheet.ws.cell(row=sheet.ws.max_row, column=2)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.widths(14, 80, 20, 22)


def report_workbook(report: QuarterlyReport) -> bytes:
    book = Workbook()
    book.remove(book.active)
    _summary(_Sheet(book, _("Summary")), report)
    _tree(_Sheet(book, _("KPI tree")), report)
    sheet_titles = {
        "shared": _("Shared KPIs"),
        "marketing": _("Marketing KPIs"),
        "sales": _("Sales KPIs"),
    }
    for key, _title, rows in report.kpi_sections:
        _kpis(_Sheet(book, sheet_titles[key]), report, rows)
    _channels(_Sheet(book, _("By channel")), report)
    _disqualifications(_Sheet(book, _("Disqualification reasons")), report)
    _feedback(_Sheet(book, _("Sales feedback")), report)
    _checklist(_Sheet(book, _("Alignment checklist")), report)
    _sla(_Sheet(book, _("MQL follow-up SLA")), report)
    _commentary(_Sheet(book, _("Commentary")), report)
    out = BytesIO()
    book.save(out)
    return out.getvalue()
