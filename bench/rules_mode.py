#!/usr/bin/env python3
"""Benchmark: KPIs under agreed MQL criteria (kpi-spec 2b) against the sources' dates.

    python bench/rules_mode.py [--persons 300000] [--activities 3000000] [--runs 5] [--keep]

1. imports bench/out/N/ (bench/generate.py) into a fresh PostgreSQL database
   (default postgresql://postgres@127.0.0.1:5432/kpi_bench_rules), then adds activities
   by SQL until there are --activities (the generator writes ~3 per person);
2. times the background job that computes every person's qualifying moment under an MQL
   criteria version (attributes, a detail match and two behaviour windows);
3. times `kpi_snapshot` for FY2026Q1 warm, --runs times alternating, in source mode and in
   rules mode with that version in effect (as many MQLs, give or take), and prints the
   ratio of the medians (target: rules <= source, issue 14);
4. times an import of 20,000 new activities with and without a criteria set kept current
   (the ingest's cost of keeping the moments current in its transaction).

Exit status 0 when the target is met, 2 when not, 1 when a step failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

from run import (
    BENCH_SECRET_KEY,
    ROOT,
    _connect,
    drop_database,
    ensure_data,
    manage,
    recreate_database,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/kpi_bench_rules"
PERIOD, AS_OF = "FY2026Q1", "2026-09-30T00:00:00+09:00"
CRITERIA = {
    "stage": "mql",
    "name": "bench MQL",
    "groups": [
        {
            "all": [
                {"field": "lead_score", "op": "gte", "value": 50},
                {
                    "activity": ["web_visit", "page_view"],
                    "detail_contains": "/pricing",
                    "at_least": 1,
                    "within_days": 30,
                },
            ]
        },
        {"all": [{"activity": ["download"], "at_least": 2, "within_days": 14}]},
    ],
}
TOP_UP_SQL = """
INSERT INTO funnel_activity (source_id, external_id, person_id, person_external_id,
    person_email_normalized, type, occurred_at, detail)
SELECT %(source)s, 'topup-' || p.id || '-' || g, p.id, '', '',
    (ARRAY['web_visit','page_view','download','email_open','email_click'])
        [floor(random() * 5)::int + 1],
    p.lead_at + (random() * 240 - 30) * interval '1 day',
    (ARRAY['/','/pricing','/features','whitepaper-kpi','/blog'])[floor(random() * 5)::int + 1]
FROM funnel_person p CROSS JOIN generate_series(1, %(per_person)s) g
WHERE p.id %% %(every)s < %(some)s
"""


def _child_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": BENCH_SECRET_KEY,
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DEBUG": "0",
    }


def _prepare(url: str, persons: int, activities: int) -> dict[str, Any]:
    data_dir, _manifest = ensure_data(persons, 2026, False)
    recreate_database(url)
    env = _child_env(url)
    subprocess.run(manage("migrate", "-v", "0"), cwd=ROOT, env=env, check=True)
    started = time.perf_counter()
    subprocess.run(
        manage("import_csv", "--source", "bench", str(data_dir)),
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    imported = time.perf_counter() - started
    conn = _connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM funnel_activity")
        have = cur.fetchone()[0]
        cur.execute("SELECT id FROM funnel_source WHERE name = 'bench'")
        source = cur.fetchone()[0]
        missing = max(activities - have, 0)
        per_person = -(-missing // persons) if missing else 0
        if per_person:
            # Spread `missing` over persons: `per_person` each for a share of them.
            every = 1000
            some = min(every, round(every * missing / (per_person * persons)))
            cur.execute(
                TOP_UP_SQL,
                {"source": source, "per_person": per_person, "every": every, "some": some},
            )
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM funnel_activity")
        total = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM funnel_person")
        persons_stored = cur.fetchone()[0]
    conn.close()
    return {"import_s": imported, "activities": total, "persons": persons_stored}


def _measure(runs: int, extra_dir: Path) -> dict[str, Any]:
    """In this process, on the bench database (DJANGO settings from the environment)."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpi_dashboard.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from funnel.metrics.snapshot import kpi_snapshot
    from funnel.models import QualificationSetting
    from funnel.periods import parse_as_of, parse_period
    from qualification.criteria import parse_criteria
    from qualification.models import CriteriaVersion, MomentSet, QualifyingMoment
    from qualification.moments import compute_set, moment_set_for

    period, as_of = parse_period(PERIOD), parse_as_of(AS_OF)
    criteria = parse_criteria(CRITERIA)
    CriteriaVersion.objects.create(
        stage="mql",
        name=criteria.name,
        definition=criteria.as_json(),
        status=CriteriaVersion.Status.IN_EFFECT,
        effective_at=parse_as_of("2025-01-01T00:00:00+09:00"),
    )
    moment_set = moment_set_for(criteria)
    started = time.perf_counter()
    compute_set(moment_set.pk)
    job_s = time.perf_counter() - started
    qualified = QualifyingMoment.objects.filter(moment_set=moment_set).count()
    # What autovacuum does soon after the job's writes: statistics and the visibility map
    # (index-only scans), for both modes alike.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE funnel_person")
        cursor.execute("VACUUM ANALYZE qualification_qualifyingmoment")

    def snapshot_in(mode: str) -> tuple[float, dict[str, Any]]:
        QualificationSetting.objects.update_or_create(stage="mql", defaults={"mode": mode})
        t0 = time.perf_counter()
        snapshot = kpi_snapshot(period, as_of)
        return time.perf_counter() - t0, snapshot["kpis"]

    snapshot_in("source"), snapshot_in("rules")  # warm
    times: dict[str, list[float]] = {"source": [], "rules": []}
    kpis: dict[str, dict[str, Any]] = {}
    for _ in range(runs):  # alternating, so drift of the machine hits both alike
        for mode in ("source", "rules"):
            seconds, kpis[mode] = snapshot_in(mode)
            times[mode].append(seconds)
    source_s, source_kpis = statistics.median(times["source"]), kpis["source"]
    rules_s, rules_kpis = statistics.median(times["rules"]), kpis["rules"]

    def import_extra(name: str) -> float:
        t0 = time.perf_counter()
        call_command("import_csv", str(extra_dir), source=name, stdout=StringIO())
        return time.perf_counter() - t0

    with_set_s = import_extra("extra-with-set")
    MomentSet.objects.all().delete()
    without_set_s = import_extra("extra-without-set")
    return {
        "job_s": job_s,
        "qualified": qualified,
        "source_s": source_s,
        "rules_s": rules_s,
        "source_mqls": source_kpis["mqls"],
        "rules_mqls": rules_kpis["mqls"],
        "import_with_set_s": with_set_s,
        "import_without_set_s": without_set_s,
    }


def _extra_activities(directory: Path, count: int, persons: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    step = max(persons // count, 1)
    with (directory / "activities.csv").open("w", encoding="utf-8") as out:
        out.write("external_id,person_external_id,person_email,type,occurred_at,detail\n")
        for i in range(count):
            person = f"P{(i * step) % persons:08d}"
            out.write(f"E{i},{person},,download,2026-05-{1 + i % 28:02d}T10:00:00Z,guide\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=300_000)
    parser.add_argument("--activities", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    prepared = _prepare(args.database_url, args.persons, args.activities)
    print(
        f"data: {prepared['persons']:,} persons, {prepared['activities']:,} activities "
        f"(import {prepared['import_s']:.1f} s)"
    )
    extra = ROOT / "bench" / "out" / f"extra-activities-{args.persons}"
    _extra_activities(extra, 20_000, args.persons)
    for key, value in _child_env(args.database_url).items():
        os.environ[key] = value
    try:
        figures = _measure(args.runs, extra)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url)
    ratio = figures["rules_s"] / figures["source_s"]
    per_s = prepared["persons"] / figures["job_s"]
    print(
        f"moments job: {figures['job_s']:.1f} s for {prepared['persons']:,} persons "
        f"({per_s:,.0f} persons/s), {figures['qualified']:,} qualify"
    )
    print(
        f"kpi_snapshot {PERIOD} warm, median of {args.runs}: source {figures['source_s']:.3f} s "
        f"({figures['source_mqls']:,} MQLs), rules {figures['rules_s']:.3f} s "
        f"({figures['rules_mqls']:,} MQLs): ratio {ratio:.2f} "
        f"[{'PASS' if ratio <= 1.0 else 'FAIL'}: rules <= source]"
    )
    print(
        f"import of 20,000 activities: {figures['import_with_set_s']:.2f} s with a criteria "
        f"set kept current, {figures['import_without_set_s']:.2f} s without"
    )
    return 0 if ratio <= 1.0 else 2


if __name__ == "__main__":
    sys.exit(main())
