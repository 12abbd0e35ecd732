"""python manage.py kpis --period FY2026Q1 [--as-of T] [--format json|table] [filters]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from funnel.metrics.filters import KpiFilters
from funnel.metrics.formatting import kpi_table_rows
from funnel.metrics.snapshot import json_ready, kpi_snapshot
from funnel.periods import PeriodError, parse_as_of, parse_period
from funnel.values import BadValue
from qualification.applied import chosen_criteria, stage_dates
from qualification.criteria import CriteriaProblem


class Command(BaseCommand):
    help = "Print the KPIs of a period as of a moment (the object of the KPI spec, section 7)."
    # A read-only report: the system checks import every URLconf and view (PDF and Excel
    # libraries included) and would add ~0.3 s to every call.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="FY2026, FY2026Q1, 2026-05 or a..b")
        parser.add_argument("--as-of", help="ISO 8601 moment (default: now)")
        parser.add_argument("--format", choices=["json", "table"], default="table")
        parser.add_argument(
            "--criteria",
            help="mql=FILE_OR_ID[,sql=FILE_OR_ID]: compute as if this criteria version (a "
            "stored version's id or a criteria JSON file) were in effect for that stage",
        )
        for name in ("origin", "channel", "campaign", "industry", "company-size", "owner"):
            parser.add_argument(f"--{name}", help=f"narrow to one {name.replace('-', ' ')}")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = parse_period(options["period"])
            as_of = parse_as_of(options["as_of"])
            chosen = chosen_criteria(options["criteria"]) if options["criteria"] else {}
            dates = stage_dates(as_of, chosen)
        except (PeriodError, BadValue, CriteriaProblem, RuntimeError) as exc:
            raise CommandError(str(exc)) from None
        filters = KpiFilters(
            origin=options["origin"],
            channel=options["channel"],
            campaign=options["campaign"],
            industry=options["industry"],
            company_size=options["company_size"],
            owner=options["owner"],
        )
        snapshot = json_ready(kpi_snapshot(period, as_of, filters, dates=dates))
        if options["format"] == "json":
            self.stdout.write(json.dumps(snapshot, ensure_ascii=False, indent=1))
            return
        self.stdout.write(f"{snapshot['period']['name']} as of {snapshot['as_of']}")
        for label, value in kpi_table_rows(snapshot):
            self.stdout.write(f"  {label:<42} {value}")
