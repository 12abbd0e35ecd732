"""python manage.py load_demo [--persons N] [--seed S] [--today YYYY-MM-DD]"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from funnel.demo import DEFAULT_PERSONS, DEFAULT_SEED, MIN_PERSONS, RECORD_KINDS, load_demo
from funnel.periods import local_midnight


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--today: '{text}' is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Load the demo company (a Japanese B2B SaaS firm: HubSpot + Salesforce, ~18 months "
        "up to today) and the demo logins. Deterministic and idempotent: the same options "
        "again change nothing. For demos and development only: the passwords are public."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=DEFAULT_PERSONS, help="leads/contacts")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--sandbox-url",
            default="http://127.0.0.1:8765",
            help="the local HubSpot sandbox of the demo connections (bin/demo starts it; "
            "Salesforce, Marketo and Account Engagement listen on the three ports after it)",
        )
        parser.add_argument(
            "--today", type=_date, help="last day of the history + 1 (default: today, local)"
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="load even though DEBUG is off on a configured database (public passwords!)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or settings.EMBEDDED or options["allow_production"]):
            raise CommandError(
                "refusing to load the demo (its passwords are public) on a configured "
                "database with DEBUG off; set DEBUG=1 or pass --allow-production"
            )
        if options["persons"] < MIN_PERSONS:
            raise CommandError(f"--persons must be at least {MIN_PERSONS}")
        today = options["today"] or timezone.localdate()
        started = time.monotonic()
        report = load_demo(today, options["persons"], options["seed"])
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Demo company as of {today.isoformat()} 00:00: {options['persons']:,} persons, "
            f"seed {options['seed']} ({elapsed:.1f} s)"
        )
        for name, source in report["sources"].items():
            self.stdout.write(f"{name} ({source['kind']})")
            for kind in RECORD_KINDS:
                if kind in source:
                    counts = source[kind]
                    details = ", ".join(
                        f"{key} {value:,}" for key, value in counts.items() if key != "records"
                    )
                    self.stdout.write(f"  {kind:<14} {counts['records']:>8,} records: {details}")
        self.stdout.write("Demo logins (username / password / role):")
        for user in report["users"]:
            note = ", staff: Django admin" if user["is_staff"] else ""
            state = "created" if user["created"] else "updated" if user["updated"] else "unchanged"
            self.stdout.write(
                f"  {user['username']:<10} {user['password']:<22} {user['role']} ({state}{note})"
            )
        from qualification.demo import ensure_demo_draft

        draft, proposed = ensure_demo_draft()
        self.stdout.write(
            f"Criteria: {draft.name} ({draft.get_status_display()}, "
            f"{'proposed' if proposed else 'kept'}): see /agreement/"
        )
        from feedback.demo import ensure_demo_feedback

        decided, made = ensure_demo_feedback(options["seed"], local_midnight(today))
        self.stdout.write(
            f"Sales feedback: {decided} decisions on recent MQLs "
            f"({'made' if made else 'kept'}): see /feedback/"
        )
        from integrations.demo import ensure_demo_connections

        for connection, created in ensure_demo_connections(options["sandbox_url"]):
            self.stdout.write(
                f"Demo connection: {connection.name} ({connection.get_vendor_display()} "
                f"sandbox at {connection.base_url or connection.login_url}; "
                f"{'created' if created else 'kept'}): an ops admin syncs it on /connections/"
            )
