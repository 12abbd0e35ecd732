"""What the connections page reads: each connection with its current run, last success,
next scheduled run and recent runs (plain data; the template only shows it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from integrations import secrets
from integrations.models import Connection, SyncRun
from integrations.sync import next_run_at

RECENT_RUNS = 5


@dataclass(frozen=True)
class RunView:
    run: SyncRun
    objects: dict[str, dict[str, int]]
    requests: int | None
    seconds: float | None

    @property
    def first_error(self) -> str:
        return self.run.error.splitlines()[0] if self.run.error else ""


@dataclass(frozen=True)
class ConnectionView:
    connection: Connection
    credentials: str
    current: RunView | None
    last_success: SyncRun | None
    next_run: dt.datetime | None
    recent: list[RunView]
    scheduled: bool  # a beat starts runs (not in the embedded mode: only when started)


def _run_view(run: SyncRun) -> RunView:
    report: Any = run.report if isinstance(run.report, dict) else {}
    return RunView(
        run=run,
        objects=dict(report.get("objects") or {}),
        requests=report.get("requests"),
        seconds=report.get("seconds"),
    )


def connection_views() -> list[ConnectionView]:
    views = []
    # The embedded mode runs tasks in-process and has no beat: a "next run" would never come.
    scheduled = not settings.CELERY_TASK_ALWAYS_EAGER
    for connection in Connection.objects.all():
        runs = list(
            SyncRun.objects.filter(source_name=connection.name, kind=connection.vendor).order_by(
                "-requested_at"
            )[:RECENT_RUNS]
        )
        current = next((r for r in runs if r.status == SyncRun.Status.RUNNING), None)
        last_success = (
            SyncRun.objects.filter(
                source_name=connection.name,
                kind=connection.vendor,
                status__in=(SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL),
            )
            .order_by("-finished_at")
            .first()
        )
        started = (runs[0].started_at or runs[0].requested_at) if runs else None
        views.append(
            ConnectionView(
                connection=connection,
                credentials=secrets.describe(secrets.decrypt(connection.credentials)),
                current=_run_view(current) if current else None,
                last_success=last_success,
                next_run=(
                    next_run_at(connection, started) if connection.enabled and scheduled else None
                ),
                recent=[_run_view(run) for run in runs],
                scheduled=scheduled,
            )
        )
    return views
