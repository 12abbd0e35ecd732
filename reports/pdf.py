"""The quarterly report as a PDF (WeasyPrint), from the same data as the HTML page.

The print template embeds its CSS and loads nothing: the fetcher refuses every URL, so
text a user wrote can never make the renderer read a file or call out. WeasyPrint is
imported on first use: it is slow to import and only this download needs it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from functools import lru_cache

from django.template.loader import render_to_string
from django.utils.translation import gettext

from reports.report import QuarterlyReport

# WeasyPrint logs every layout step at INFO; the product's logs want only its warnings.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


INSTALL_HINT = (
    "Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk; "
    "macOS: brew install pango font-noto-sans-cjk-jp"
)


class PdfUnavailable(RuntimeError):
    """This machine lacks what the PDF needs; the message says what to install. The rest
    of the product (the report page and its Excel download) works without it."""


@lru_cache(maxsize=1)
def _japanese_font_missing() -> bool:
    """Without a CJK font the PDF would print boxes instead of Japanese. Asked of
    fontconfig, which WeasyPrint uses; where fc-list is absent, nothing is claimed."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run(  # noqa: S603 - a fixed command, no user input
        [fc_list, ":lang=ja", "family"], capture_output=True, text=True, check=False
    )
    return found.returncode == 0 and not found.stdout.strip()


def pdf_missing() -> str | None:
    """What this machine lacks to make the PDF (the message the download shows), or None."""
    try:
        _renderer()
    except PdfUnavailable as exc:
        return str(exc)
    return None


def _renderer() -> tuple[type, type]:
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: Pango's libraries cannot be loaded
        raise PdfUnavailable(
            gettext(
                "The PDF cannot be made on this server: the libraries WeasyPrint needs are "
                "missing (%(error)s). Install them (%(hint)s); the Excel download holds the "
                "same numbers."
            )
            % {"error": type(exc).__name__, "hint": INSTALL_HINT}
        ) from None
    if _japanese_font_missing():
        raise PdfUnavailable(
            gettext(
                "The PDF cannot be made on this server: no Japanese font is installed "
                "(%(hint)s); the Excel download holds the same numbers."
            )
            % {"hint": INSTALL_HINT}
        )
    return HTML, URLFetcher


def report_pdf(report: QuarterlyReport) -> bytes:
    HTML, URLFetcher = _renderer()
    html = render_to_string("reports/quarterly_pdf.html", {"report": report})
    pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    assert pdf is not None
    return pdf
