"""What every connector's tests compare a sync with: the KPIs of importing the same facts
as canonical CSV (kpi-spec section 6) under the same source, on an empty funnel."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import transaction

from funnel.csv_import.importer import import_csv_files
from funnel.metrics.snapshot import json_ready
from funnel.models import Activity, CostEntry, Opportunity, Person, SourcePerson, StageEntry
from tests.funnel.factories import snapshot

PERSON_HEADER = (
    "external_id,email,name,company,created_at,channel,campaign,mql_at,sql_at,"
    "disqualified_at,disqualify_reason,lead_score,industry,company_size,owner"
)
OPPORTUNITY_HEADER = (
    "external_id,person_external_id,account,name,amount,created_at,closed_at,status,stage,"
    "loss_reason,channel"
)
ACTIVITY_HEADER = "external_id,person_external_id,person_email,type,occurred_at,detail"
COST_HEADER = "date,channel,campaign,amount"


def sync(name: str, *options: str) -> dict[str, Any]:
    """`manage.py sync NAME --format json`: the summary on its last line."""
    out = StringIO()
    call_command("sync", name, "--format", "json", *options, stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def kpis() -> dict[str, Any]:
    return json_ready(snapshot())


def table(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows, ""])


def as_csv(tmp_path: Path, source: str, **files: str) -> dict[str, Any]:
    """The KPIs of importing `files` (kind -> CSV text) as `source` on an empty funnel."""
    return as_csv_sources(tmp_path, {source: files})


def as_csv_sources(tmp_path: Path, sources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The KPIs of importing each source's files (kind -> CSV text), on an empty funnel."""
    with transaction.atomic():
        for model in (Activity, Opportunity, StageEntry, SourcePerson, Person, CostEntry):
            model.objects.all().delete()
    for source, files in sources.items():
        directory = tmp_path / f"csv-{source}"
        directory.mkdir(exist_ok=True)
        paths = []
        for kind, text in files.items():
            path = directory / f"{kind}.csv"
            path.write_text(text)
            paths.append(path)
        report = import_csv_files(source, paths)
        assert report.ok, [f.errors for f in report.files]
    return kpis()
