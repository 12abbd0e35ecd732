"""python manage.py import_csv --source NAME FILE_OR_DIR... [--kind K] [--dry-run]"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.csv_import.formats import KINDS
from funnel.csv_import.importer import import_csv_files
from funnel.ingest.lookups import ReservedSource, check_source_name
from integrations.services import queue_csv_import


class Command(BaseCommand):
    help = (
        "Import canonical CSV files (persons, opportunities, activities, costs, targets). "
        "Bad rows are reported with file, row and column and skipped; good rows are imported."
    )
    # The system checks (URLs, admin, templates: a second of start-up) say nothing about
    # importing data; `manage.py check`, migrate and the web server run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="CSV files or directories")
        parser.add_argument("--source", required=True, help="source name, e.g. hubspot or sfa")
        parser.add_argument("--kind", choices=sorted(KINDS), help="kind of every file named")
        parser.add_argument("--encoding", help="declare the encoding (default: detected)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="run as a background job on the Celery worker; prints the sync run id",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            check_source_name(options["source"])
        except ReservedSource as exc:
            raise CommandError(f"--source: {exc}") from None
        for path in options["paths"]:
            if not path.exists():
                raise CommandError(f"{path}: no such file or directory")
        if options["queue"]:
            run = queue_csv_import(options["source"], [p.resolve() for p in options["paths"]])
            self.stdout.write(f"queued sync run {run.pk}")
            return
        report = import_csv_files(
            options["source"],
            options["paths"],
            kind=options["kind"],
            dry_run=options["dry_run"],
            encoding=options["encoding"],
        )
        if options["json"]:
            self.stdout.write(json.dumps([f.as_dict() for f in report.files], ensure_ascii=False))
        else:
            self._print(report)
        if not report.files:
            raise CommandError("no CSV files found")
        if not report.ok:
            raise CommandError("some rows or files were not imported (see above)", returncode=1)

    def _print(self, report: Any) -> None:
        verb = "would be" if report.dry_run else "were"
        for file_report in report.files:
            counts = file_report.result.as_dict()
            self.stdout.write(
                f"{file_report.path.name} ({file_report.kind or '?'}, "
                f"{file_report.encoding or '-'}): {file_report.rows} rows; "
                + ", ".join(f"{key} {value}" for key, value in counts.items())
                + (f" ({verb} written)" if not file_report.failed else " (nothing imported)")
                + f" in {file_report.seconds:.1f} s"
            )
            for warning in file_report.warnings:
                self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
            for error in file_report.errors:
                self.stderr.write(self.style.ERROR(f"  error: {error}"))
