"""Sync runs (integrations/services.py, tasks.py): a queued CSV import run by Celery.

The `celery` tests start a real worker process against the test database (PostgreSQL) and
Redis; the others run the same service in-process (eager mode, any database).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.utils import timezone

from funnel.models import Activity, CostEntry, Person, SourcePerson
from integrations.models import SyncRun
from integrations.services import (
    claim_run,
    queue_csv_import,
    run_csv_import,
    sweep_dead_runs,
    this_worker,
)
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


@pytest.mark.django_db
def test_it_leaves_a_run_that_a_live_worker_holds_alone(example_dir: Path) -> None:
    run = SyncRun.objects.create(
        source_name="ma",
        paths=[str(example_dir / "data" / "ma")],
        status=SyncRun.Status.RUNNING,
        worker="other-host:123",
        heartbeat_at=timezone.now(),
    )
    assert claim_run(run.pk) is None  # a redelivered task must not import twice at once
    assert run_csv_import(run.pk).status == SyncRun.Status.RUNNING
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_it_sweeps_a_run_whose_worker_went_silent_and_runs_it_again(
    example_dir: Path, tmp_path: Path
) -> None:
    persons = tmp_path / "persons.csv"
    persons.write_bytes((example_dir / "data" / "ma" / "persons.csv").read_bytes())
    run = SyncRun.objects.create(
        source_name="ma",
        paths=[str(persons)],
        status=SyncRun.Status.RUNNING,
        worker="gone-host:99",
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10),
        report=[{"file": str(persons), "failed": False, "created": 188}],
    )
    fresh = SyncRun.objects.create(
        source_name="ma", status=SyncRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    assert [r.pk for r in sweep_dead_runs()] == [run.pk]
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert fresh.status == SyncRun.Status.RUNNING
    assert run.status == SyncRun.Status.FAILED and run.finished_at is not None
    assert "gone-host:99" in run.error and "Files committed: persons.csv" in run.error
    again = run_csv_import(run.pk)  # the redelivered task
    assert again.status == SyncRun.Status.SUCCEEDED, again.report
    assert again.worker == this_worker()
    assert Person.objects.count() == MA_PERSONS


@pytest.mark.django_db
def test_a_run_that_dies_part_way_says_which_files_committed(
    example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from funnel.csv_import import importer

    real = importer._import_one
    calls = 0

    def dies_on_the_second_file(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise SystemExit("killed")  # the process goes away mid-run
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "_import_one", dies_on_the_second_file)
    run = SyncRun.objects.create(source_name="ma", paths=[str(example_dir / "data" / "ma")])
    with pytest.raises(SystemExit):
        run_csv_import(run.pk)
    run.refresh_from_db()
    # What the database holds while the process is gone: the first file, committed.
    assert run.status == SyncRun.Status.RUNNING
    assert [Path(f["file"]).name for f in run.report] == ["persons.csv"]
    assert Person.objects.count() == MA_PERSONS


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


def _start_worker(queue: str, log: Path, **env_extra: str) -> subprocess.Popen[bytes]:
    """A real Celery worker process on the test database, consuming `queue`; started when
    it logs "ready."."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SECRET_KEY": "test-only-worker-secret-key",
        "DJANGO_SETTINGS_MODULE": "kpi_dashboard.settings",
        **env_extra,
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
        f"{queue}-{uuid.uuid4().hex[:4]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"the Celery worker did not start:\n{_log_tail(log)}")
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def _routed_to(queue: str) -> Iterator[None]:
    """Tasks of this test process go to `queue` (the Redis may be shared)."""
    routes_before = celery_app.conf.task_routes
    # update() makes Celery rebuild its cached router.
    celery_app.conf.update(task_routes={"*": {"queue": queue}})
    try:
        yield
    finally:
        celery_app.conf.update(task_routes=routes_before)
        _forget_queue(queue)


@pytest.fixture
def worker(transactional_db: None, tmp_path: Path) -> Iterator[Path]:
    """A real Celery worker on the test database, consuming a queue of its own."""
    queue = f"kpi-bridge-test-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "worker.log"
    with _routed_to(queue):
        process = _start_worker(queue, log)
        try:
            yield log
        finally:
            _stop(process)


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


def _person_files(directory: Path, files: int, rows: int) -> list[Path]:
    paths = []
    for index in range(files):
        path = directory / f"persons-{index}.csv"
        lines = ["external_id,email,created_at,channel,mql_at"]
        lines += [
            f"P{index}-{row},p{index}-{row}@example.jp,2026-04-{row % 28 + 1:02d},webinar,"
            f"2026-05-{row % 28 + 1:02d}"
            for row in range(rows)
        ]
        path.write_text("\r\n".join(lines) + "\r\n")
        paths.append(path)
    return paths


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_and_doubles_nothing(tmp_path: Path, settings: Any) -> None:
    """SIGKILL the worker between two files of an import: the run stays "running" until the
    sweep marks it failed (naming the committed file); Redis redelivers the task after the
    visibility timeout to a new worker, which imports again: every row once."""
    files, rows = 3, 8_000
    paths = _person_files(tmp_path, files, rows)
    queue = f"kpi-bridge-test-{uuid.uuid4().hex[:10]}"
    quick = {"CELERY_VISIBILITY_TIMEOUT": "4", "SYNC_RUN_STALE_SECONDS": "3"}
    settings.SYNC_RUN_STALE_SECONDS = 3
    with _routed_to(queue):
        first = _start_worker(queue, tmp_path / "first.log", **quick)
        try:
            run = queue_csv_import("bulk", paths)
            deadline = time.monotonic() + 120
            while True:
                run.refresh_from_db()
                if run.report or (run.status != SyncRun.Status.QUEUED and run.finished_at):
                    break
                assert time.monotonic() < deadline, _log_tail(tmp_path / "first.log")
                time.sleep(0.05)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                _stop(first)
        run.refresh_from_db()
        assert run.status == SyncRun.Status.RUNNING, (run.status, run.error)
        committed = [Path(f["file"]).name for f in run.report]
        assert committed and len(committed) < files  # killed part-way
        time.sleep(3.5)
        assert [r.pk for r in sweep_dead_runs()] == [run.pk]
        run.refresh_from_db()
        assert run.status == SyncRun.Status.FAILED
        assert f"Files committed: {', '.join(committed)}" in run.error

        second = _start_worker(queue, tmp_path / "second.log", **quick)
        try:
            deadline = time.monotonic() + 120
            while run.status != SyncRun.Status.SUCCEEDED:
                assert time.monotonic() < deadline, _log_tail(tmp_path / "second.log")
                time.sleep(0.5)
                run.refresh_from_db()
        finally:
            _stop(second)
    assert [Path(f["file"]).name for f in run.report] == [p.name for p in paths]
    assert SourcePerson.objects.count() == files * rows
    assert Person.objects.count() == files * rows
    assert Person.objects.filter(mql_at__isnull=False).count() == files * rows


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_sync_killed_mid_run_loses_and_doubles_nothing(tmp_path: Path, settings: Any) -> None:
    """SIGKILL the worker while it syncs a HubSpot portal (throttled so the run takes
    seconds): the run is swept to failed, Redis redelivers the task to a new worker, which
    syncs on; every contact and deal once, and the KPIs of one clean run."""
    from funnel.metrics.snapshot import json_ready
    from funnel.models import Opportunity, StageEntry
    from integrations.connections import add_connection
    from integrations.models import Connection, SyncCursor, VendorLink, VendorObject
    from integrations.sync import queue_sync, run_sync
    from tests.contract_servers.hubspot import HubSpotContractServer
    from tests.funnel.factories import snapshot
    from tests.integrations.test_hubspot_mapping import _stage

    contacts, deals = 1_500, 300
    queue = f"kpi-bridge-test-{uuid.uuid4().hex[:10]}"
    key = settings.CONNECTION_SECRET_KEYS[0]
    quick = {
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "SYNC_RUN_STALE_SECONDS": "3",
        "CONNECTION_SECRET_KEYS": key,
    }
    settings.SYNC_RUN_STALE_SECONDS = 3
    with HubSpotContractServer(token="pat-kill", burst=12, window=1.0) as hs:
        hs.state.pipelines = [
            {"id": "p", "label": "Sales", "stages": [_stage("won", "受注", "true", "1.0")]}
        ]
        for number in range(1, contacts + 1):
            hs.put(
                "contacts", str(number), email=f"k{number}@example.jp",
                createdate="2026-05-01T00:00:00Z", hs_analytics_source="PAID_SEARCH",
                hs_lifecyclestage_marketingqualifiedlead_date="2026-05-03T00:00:00Z",
            )  # fmt: skip
        for number in range(1, deals + 1):
            deal = str(100_000 + number)
            hs.put("deals", deal, dealname=f"d{number}", amount=str(number * 1000),
                   createdate="2026-05-10T00:00:00Z", closedate="2026-06-01T00:00:00Z",
                   dealstage="won")  # fmt: skip
            hs.associate(deal, "contacts", str(number * 5))
        connection = add_connection("hs", "hubspot", {"token": "pat-kill"}, base_url=hs.base_url)
        with _routed_to(queue):
            first = _start_worker(queue, tmp_path / "first.log", **quick)
            try:
                queue_sync(connection)
                deadline = time.monotonic() + 120
                while not SourcePerson.objects.filter(source__name="hs").count() > 200:
                    assert time.monotonic() < deadline, _log_tail(tmp_path / "first.log")
                    time.sleep(0.05)
                os.kill(first.pid, signal.SIGKILL)
                first.wait(timeout=10)
            finally:
                if first.poll() is None:
                    _stop(first)
            killed = SyncRun.objects.get(kind="hubspot")
            assert killed.status == SyncRun.Status.RUNNING
            assert SourcePerson.objects.count() < contacts  # killed part-way
            time.sleep(3.5)
            second = _start_worker(queue, tmp_path / "second.log", **quick)
            try:
                deadline = time.monotonic() + 180
                while not SyncRun.objects.filter(
                    kind="hubspot", status__in=[SyncRun.Status.SUCCEEDED]
                ).exists():
                    assert time.monotonic() < deadline, _log_tail(tmp_path / "second.log")
                    time.sleep(0.5)
            finally:
                _stop(second)
        killed.refresh_from_db()
        assert killed.status == SyncRun.Status.FAILED
        assert "the next sync goes on from there" in killed.error
        assert SourcePerson.objects.count() == contacts
        assert Person.objects.count() == contacts
        assert Opportunity.objects.count() == deals
        after_kill = json_ready(snapshot())
        assert after_kill["kpis"]["won_amount"] == sum(n * 1000 for n in range(1, deals + 1))

        # One clean run of the same portal, in-process, on an empty funnel.
        for model in (Opportunity, StageEntry, SourcePerson, Person):
            model.objects.all().delete()
        for model in (SyncCursor, VendorObject, VendorLink):
            model.objects.all().delete()
        hs.burst, hs.window = 190, 10.0
        run, summary = run_sync(Connection.objects.get(name="hs"))
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert summary["objects"]["persons"]["created"] == contacts
    assert json_ready(snapshot()) == after_kill
