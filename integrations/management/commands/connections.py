"""python manage.py connections add|list|remove|rotate-keys (docs/connectors.md section 1).

Secrets may be given as `env:VAR` (read from the environment when used); they are stored
encrypted and never printed: `list` says which are set.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations import secrets
from integrations.connections import (
    SECRET_NAMES,
    ConnectionProblem,
    add_connection,
    remove_connection,
    rotate_keys,
)
from integrations.models import Connection, Vendor
from integrations.sync import test_connection
from integrations.transport import SyncError


class Command(BaseCommand):
    help = "Manage the connections to MA and SFA systems (HubSpot, Salesforce, Marketo, ...)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add a connection")
        add.add_argument("name", help="the source its records land under (import_csv --source)")
        add.add_argument("--vendor", required=True, choices=Vendor.values)
        add.add_argument("--base-url", default="")
        add.add_argument("--login-url", default="")
        add.add_argument("--business-unit-id", default="")
        add.add_argument("--every", type=int, default=60, help="minutes between syncs")
        for name in SECRET_NAMES:
            add.add_argument(f"--{name.replace('_', '-')}", default="", help="or env:VAR")
        actions.add_parser("list", help="list the connections (secrets masked)")
        test = actions.add_parser("test", help="one cheap authenticated call")
        test.add_argument("name")
        remove = actions.add_parser("remove", help="remove a connection; its records stay")
        remove.add_argument("name")
        actions.add_parser(
            "rotate-keys", help="re-encrypt every connection with the first secret key"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except (ConnectionProblem, secrets.SecretsUnavailable) as exc:
            raise CommandError(str(exc)) from None

    def _add(self, options: dict[str, Any]) -> None:
        connection = add_connection(
            options["name"],
            options["vendor"],
            {name: options[name] for name in SECRET_NAMES},
            base_url=options["base_url"],
            login_url=options["login_url"],
            business_unit_id=options["business_unit_id"],
            sync_every_minutes=options["every"],
        )
        self.stdout.write(f"added {connection.name} ({connection.vendor})")

    def _list(self, options: dict[str, Any]) -> None:
        for connection in Connection.objects.all():
            stored = secrets.describe(secrets.decrypt(connection.credentials))
            state = "enabled" if connection.enabled else "disabled"
            url = connection.base_url or connection.login_url
            self.stdout.write(
                f"{connection.name}\t{connection.vendor}\t{url}\t{state}, every "
                f"{connection.sync_every_minutes} min\t{stored}"
            )

    def _test(self, options: dict[str, Any]) -> None:
        connection = Connection.objects.filter(name=options["name"]).first()
        if connection is None:
            raise CommandError(f"no connection named '{options['name']}'")
        try:
            self.stdout.write(test_connection(connection))
        except SyncError as exc:
            raise CommandError(str(exc)) from None

    def _remove(self, options: dict[str, Any]) -> None:
        remove_connection(options["name"])
        self.stdout.write(f"removed {options['name']} (its synced records stay)")

    def _rotate_keys(self, options: dict[str, Any]) -> None:
        self.stdout.write(f"re-encrypted {rotate_keys()} connection(s) with the first key")
