"""python manage.py sync NAME [--full] [--format json] (docs/connectors.md section 1): one
sync in the foreground, the code the scheduled task runs. Exit 0 on success, else 1 with a
one-line reason; with --format json the last line of stdout is the run's summary."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.models import Connection
from integrations.secrets import SecretsUnavailable
from integrations.sync import run_sync
from integrations.transport import SyncError


class Command(BaseCommand):
    help = "Sync one connection now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--full", action="store_true", help="ignore cursors; read all")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = Connection.objects.filter(name=options["name"]).first()
        if connection is None:
            raise CommandError(f"no connection named '{options['name']}'")
        try:
            run, summary = run_sync(connection, full=options["full"])
        except (SyncError, SecretsUnavailable) as exc:
            raise CommandError(str(exc)) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            for kind, counts in summary["objects"].items():
                self.stdout.write(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            self.stdout.write(f"{summary['requests']} requests, {summary['seconds']} s")
        if summary["status"] != "succeeded":
            raise CommandError(run.error.splitlines()[0] if run.error else "the sync failed")
