#!/usr/bin/env python3
"""Benchmark: the product's CSV import against a raw PostgreSQL load of the same files
(issue 16: "reach at least 0.5x a raw COPY + INSERT ... ON CONFLICT DO UPDATE").

    python bench/import_ratio.py [--persons 300000] [--runs 3] [--database-url URL] [--keep]

1. takes bench/out/N/ (bench/generate.py) and its persons, opportunities and activities;
2. raw: in a fresh database, per file one COPY into a typed staging table and one
   INSERT ... ON CONFLICT (external_id) DO UPDATE into a plain table with a primary key,
   in one transaction (the floor any importer pays to parse and store the rows);
3. product: in another fresh database, `manage.py migrate` then `manage.py import_csv`
   of the same three files (identity merge, stage history, validation, linking);
4. repeats both (--runs, default 3; alternated, each after a CHECKPOINT) and prints rows/s
   of the medians and their ratio (target >= 0.5).

Exit status 0 when the target is met, 2 when not, 1 when a step failed.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql
from run import (
    BENCH_SECRET_KEY,
    ROOT,
    _connect,
    drop_database,
    ensure_data,
    manage,
    recreate_database,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/kpi_bench_ratio"
FILES = ("persons.csv", "opportunities.csv", "activities.csv")
TARGET = 0.5


def _type(column: str) -> str:
    if column.endswith("_at"):
        return "timestamptz"
    if column in ("amount", "lead_score"):
        return "numeric"
    return "text"


def settle(url: str) -> None:
    """A CHECKPOINT before a timed load: each load then starts with no dirty buffers of the
    one before (the raw load's gigabyte of WAL, the migrations), whose writing otherwise
    lands inside whichever load comes next and moved the figures by a quarter. Needs a
    superuser or pg_checkpoint; without it, the load is timed as it comes."""
    conn = _connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("CHECKPOINT")
    except psycopg2.Error as exc:
        print(f"(no CHECKPOINT before the load: {exc.pgerror or exc})", file=sys.stderr)
    finally:
        conn.close()


def raw_load(url: str, data_dir: Path) -> float:
    """Seconds for COPY + INSERT ... ON CONFLICT DO UPDATE of the three files."""
    recreate_database(url)
    settle(url)
    conn = _connect(url)
    started = time.perf_counter()
    with conn, conn.cursor() as cur:
        for name in FILES:
            path = data_dir / name
            with path.open(encoding="utf-8-sig", newline="") as handle:
                header = next(csv.reader(handle))
            table = path.stem
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_type(c))) for c in header
            )
            cur.execute(
                sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                    sql.Identifier(f"stage_{table}"), columns
                )
            )
            cur.execute(
                sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY (external_id))").format(
                    sql.Identifier(table), columns
                )
            )
            with path.open(encoding="utf-8-sig", newline="") as handle:
                cur.copy_expert(
                    sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv, HEADER true)")
                    .format(sql.Identifier(f"stage_{table}"))
                    .as_string(cur),
                    handle,
                )
            updates = sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in header
                if c != "external_id"
            )
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} SELECT * FROM {} ON CONFLICT (external_id) DO UPDATE SET {}"
                ).format(sql.Identifier(table), sql.Identifier(f"stage_{table}"), updates)
            )
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def product_load(url: str, data_dir: Path) -> float:
    """Seconds for `import_csv` of the three files into a migrated database."""
    recreate_database(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": BENCH_SECRET_KEY, "DEBUG": "0"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(manage("migrate", "-v", "0"), cwd=ROOT, env=env, check=True)
    only = data_dir.parent / f"{data_dir.name}-three-files"
    shutil.rmtree(only, ignore_errors=True)
    only.mkdir()
    for name in FILES:
        (only / name).symlink_to(data_dir / name)
    settle(url)
    started = time.perf_counter()
    subprocess.run(
        manage("import_csv", "--source", "bench", str(only)),
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    shutil.rmtree(only, ignore_errors=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=300_000)
    parser.add_argument(
        "--runs", type=int, default=3, help="pairs of loads; the ratio is of the medians"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="keep the bench databases")
    args = parser.parse_args()
    data_dir, manifest = ensure_data(args.persons, 2026, False)
    rows = sum(manifest["rows"][name] for name in FILES)
    raw_url, product_url = args.database_url + "_raw", args.database_url + "_product"
    raw_runs: list[float] = []
    product_runs: list[float] = []
    try:
        # Alternated, so that a slow minute of a shared machine hits both sides.
        for _ in range(max(1, args.runs)):
            raw_runs.append(raw_load(raw_url, data_dir))
            product_runs.append(product_load(product_url, data_dir))
    finally:
        if not args.keep:
            for url in (raw_url, product_url):
                drop_database(url)
    raw_s, product_s = statistics.median(raw_runs), statistics.median(product_runs)
    raw_rate, product_rate = rows / raw_s, rows / product_s
    ratio = product_rate / raw_rate
    counts = ", ".join(f"{manifest['rows'][name]:,} {name}" for name in FILES)

    def runs(seconds: list[float]) -> str:
        return ", ".join(f"{s:.1f}" for s in seconds)

    print(f"rows: {rows:,} ({counts})")
    print(
        f"raw COPY + INSERT ... ON CONFLICT: median {raw_s:.1f} s ({raw_rate:,.0f} rows/s); "
        f"runs {runs(raw_runs)}"
    )
    print(
        f"import_csv: median {product_s:.1f} s ({product_rate:,.0f} rows/s); "
        f"runs {runs(product_runs)}"
    )
    print(f"ratio {ratio:.2f} [{'PASS' if ratio >= TARGET else 'FAIL'}: >= {TARGET}]")
    return 0 if ratio >= TARGET else 2


if __name__ == "__main__":
    sys.exit(main())
