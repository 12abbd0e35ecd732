"""Sync runs (integrations/services.py, tasks.py): a queued CSV import run by Celery.

The `celery` tests start a real worker process against the test database (PostgreSQL) and
Redis; the others run the same service in-process (eager mode, any database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.db import connection

from funnel.models import Activity, CostEntry, Person, SourcePerson
from integrations.models import SyncRun
from integrations.services import queue_csv_import, run_csv_import
from integrations.tasks import run_csv_import_task
from kpi_dashboard.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]
FINISHED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED)
MA_PERSONS = 188  # rows (and distinct emails) of the worked example's data/ma/persons.csv


@pytest.fixture
def eager() -> Iterator[None]:
    """Run tasks in-process whatever the environment says (REDIS_URL may be set)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def _table_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Person, SourcePerson, Activity, CostEntry)}


# --- in-process ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_records_a_queued_run(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    run = SyncRun.objects.create(source_name="ma", paths=[str(path)])
    assert run.status == SyncRun.Status.QUEUED
    assert run.kind == "csv"
    assert run.started_at is None and run.finished_at is None


@pytest.mark.django_db
def test_it_runs_a_queued_import_in_eager_mode(
    eager: None, example_dir: Path, django_capture_on_commit_callbacks
) -> None:
    ma = example_dir / "data" / "ma"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = queue_csv_import("ma", [ma])
        assert SyncRun.objects.get(pk=run.pk).status == SyncRun.Status.QUEUED
    assert len(callbacks) == 1  # enqueued only once the run is committed
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.report
    assert run.paths == [str(ma)]
    assert run.started_at is not None and run.finished_at is not None
    assert run.started_at <= run.finished_at
    assert {Path(f["file"]).name for f in run.report} == {
        "persons.csv",
        "activities.csv",
        "costs.csv",
    }
    assert Person.objects.count() == MA_PERSONS


@pytest.mark.django_db
def test_it_runs_the_task_by_id(eager: None, example_dir: Path) -> None:
    run = SyncRun.objects.create(source_name="ma", paths=[str(example_dir / "data" / "ma")])
    result = run_csv_import_task.delay(run.pk)
    assert result.get() == SyncRun.Status.SUCCEEDED
    assert Person.objects.count() == MA_PERSONS


@pytest.mark.django_db
def test_it_changes_nothing_when_the_same_import_runs_again(example_dir: Path) -> None:
    paths = [str(example_dir / "data" / "ma")]
    run_csv_import(SyncRun.objects.create(source_name="ma", paths=paths).pk)
    counts = _table_counts()
    again = run_csv_import(SyncRun.objects.create(source_name="ma", paths=paths).pk)
    assert again.status == SyncRun.Status.SUCCEEDED
    assert _table_counts() == counts
    assert all(f["created"] == 0 and f["updated"] == 0 for f in again.report)


@pytest.mark.django_db
def test_it_leaves_a_finished_run_alone(example_dir: Path) -> None:
    run = SyncRun.objects.create(source_name="ma", paths=[str(example_dir / "data" / "ma")])
    first = run_csv_import(run.pk)
    second = run_csv_import(run.pk)
    assert second.status == SyncRun.Status.SUCCEEDED
    assert (second.started_at, second.finished_at) == (first.started_at, first.finished_at)


@pytest.mark.django_db
def test_it_records_a_failed_run_naming_the_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "persons_missing.csv"
    run = run_csv_import(SyncRun.objects.create(source_name="ma", paths=[str(missing)]).pk)
    assert run.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL)
    assert run.finished_at is not None
    assert "persons_missing.csv" in run.error + json.dumps(run.report)
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_it_records_a_partial_run_with_the_rejected_rows(tmp_path: Path) -> None:
    path = tmp_path / "persons.csv"
    path.write_bytes(
        b"external_id,email,created_at\r\n"
        b"P1,a@example.jp,2026-04-10\r\n"
        b"P2,b@example.jp,04/05/2026\r\n"
    )
    run = run_csv_import(SyncRun.objects.create(source_name="ma", paths=[str(path)]).pk)
    assert run.status == SyncRun.Status.PARTIAL
    (file_report,) = run.report
    assert (file_report["created"], file_report["rejected"]) == (1, 1)
    (error,) = file_report["errors"]
    assert "persons.csv" in error and "row 3" in error and "created_at" in error
    assert Person.objects.count() == 1


# --- a real worker ----------------------------------------------------------------------


def _database_url() -> str:
    settings = connection.settings_dict
    user = quote(settings.get("USER") or "postgres", safe="")
    password = settings.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or "5432"
    return f"postgres://{auth}@{host}:{port}/{settings['NAME']}"


def _log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _forget_queue(queue: str) -> None:
    """Remove what kombu kept in the (possibly shared) Redis for this test's queue."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


@pytest.fixture
def worker(transactional_db: None, tmp_path: Path) -> Iterator[Path]:
    """A real Celery worker on the test database, consuming a queue of its own (the Redis
    may be shared); tasks of this test process are routed to that queue."""
    queue = f"kpi-bridge-test-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SECRET_KEY": "test-only-worker-secret-key",
        "DJANGO_SETTINGS_MODULE": "kpi_dashboard.settings",
    }
    celery = Path(sys.executable).parent / "celery"
    command = [
        str(celery),
        "-A",
        "kpi_dashboard",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-l",
        "info",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    routes_before = celery_app.conf.task_routes
    # update() makes Celery rebuild its cached router.
    celery_app.conf.update(task_routes={"integrations.tasks.*": {"queue": queue}})
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{_log_tail(log)}")
            time.sleep(0.2)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        celery_app.conf.update(task_routes=routes_before)
        _forget_queue(queue)


def _wait_until_finished(run: SyncRun, log: Path, timeout: float = 60) -> SyncRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in FINISHED:
            return run
        time.sleep(0.5)
    pytest.fail(f"sync run {run.pk} still {run.status} after {timeout}s:\n{_log_tail(log)}")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_queued_import_on_a_real_worker(worker: Path, example_dir: Path) -> None:
    assert not celery_app.conf.task_always_eager
    ma = example_dir / "data" / "ma"
    run = queue_csv_import("ma", [ma])
    finished = _wait_until_finished(run, worker)
    assert finished.status == SyncRun.Status.SUCCEEDED, (finished.error, finished.report)
    assert Person.objects.count() == MA_PERSONS
    counts = _table_counts()
    assert counts["Activity"] > 0 and counts["CostEntry"] > 0

    again = _wait_until_finished(queue_csv_import("ma", [ma]), worker)
    assert again.pk != run.pk
    assert again.status == SyncRun.Status.SUCCEEDED, (again.error, again.report)
    assert _table_counts() == counts  # nothing duplicated
    assert all(f["created"] == 0 and f["updated"] == 0 for f in again.report)
    assert "Task integrations.tasks.run_csv_import_task[" in worker.read_text()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_it_records_a_failed_run_on_a_real_worker(worker: Path, tmp_path: Path) -> None:
    missing = tmp_path / "persons_missing.csv"
    finished = _wait_until_finished(queue_csv_import("ma", [missing]), worker)
    assert finished.status in (SyncRun.Status.FAILED, SyncRun.Status.PARTIAL)
    assert "persons_missing.csv" in finished.error + json.dumps(finished.report)
    assert Person.objects.count() == 0
