"""What the connector benchmarks share (bench/sync_*.py): a throwaway PostgreSQL database,
Django set up on it, and a contract server in a process of its own (as a vendor is: the
sync's threads do not share an interpreter lock with it) driven over a pipe."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/kpi_bench_sync"
TARGET_SHARE = 0.80
BENCH_SECRET_KEY = "kpi-bridge-bench-only-not-a-secret"  # noqa: S105 - a throwaway database


def _admin(database_url: str) -> Any:
    parts = urlsplit(database_url)
    admin = psycopg2.connect(database_url.replace(parts.path, "/postgres"))
    admin.autocommit = True
    return admin


def recreate(database_url: str) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    if name in ("postgres", "template0", "template1", ""):
        raise SystemExit(f"refusing to drop the database {name!r}")
    admin = _admin(database_url)
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def drop(database_url: str) -> None:
    from django.db import connections

    connections.close_all()
    admin = _admin(database_url)
    with admin.cursor() as cursor:
        name = urlsplit(database_url).path.lstrip("/")
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    admin.close()


def setup_django(database_url: str) -> None:
    """A fresh, migrated bench database; Django set up on it."""
    recreate(database_url)
    os.environ.update(
        DATABASE_URL=database_url,
        DEBUG="0",
        CELERY_TASK_ALWAYS_EAGER="1",
        DJANGO_SETTINGS_MODULE="kpi_dashboard.settings",
    )
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    from cryptography.fernet import Fernet

    os.environ.setdefault("CONNECTION_SECRET_KEYS", Fernet.generate_key().decode())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


Server = Callable[[Connection, Any], None]


def start_server(serve: Server, args: Any) -> tuple[Connection, Any]:
    """`serve(pipe, args)` in a spawned process; returns our end of the pipe and the
    process. The server sends its first message (base URL, ...) when seeded."""
    pipe, child_end = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve, args=(child_end, args))
    process.start()
    return pipe, process


def in_server_process() -> None:
    """Imports of the project work in the spawned server process."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpi_dashboard.settings")


def verdict(share: float) -> str:
    return f"{share:.0%} of the ceiling (target >= {TARGET_SHARE:.0%}): " + (
        "PASS" if share >= TARGET_SHARE else "FAIL"
    )
