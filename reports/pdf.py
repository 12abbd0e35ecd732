"""The quarterly report as a PDF (WeasyPrint), from the same data as the HTML page.

The print template embeds its CSS and loads nothing: the fetcher refuses every URL, so
text a user wrote can never make the renderer read a file or call out. WeasyPrint is
imported on first use: it is slow to import and only this download needs it.
"""

from __future__ import annotations

import logging

from django.template.loader import render_to_string

from reports.report import QuarterlyReport

# WeasyPrint logs every layout step at INFO; the product's logs want only its warnings.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def report_pdf(report: QuarterlyReport) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string("reports/quarterly_pdf.html", {"report": report})
    pdf = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    assert pdf is not None
    return pdf
