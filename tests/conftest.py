"""Shared fixtures. The suite runs twice in CI: on the embedded SQLite database and on
PostgreSQL with Redis and a real Celery worker (tests marked `postgres` / `celery`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection

from funnel import ingest
from funnel.models import Source

# The spec's worked example, kept in the repository beside the spec (docs/kpi-spec.md), so
# a clone on its own runs every test.
EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "docs" / "examples" / "fy2026q1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = "postgres" in os.environ.get("DATABASE_URL", "")
    with_worker = bool(os.environ.get("REDIS_URL"))
    pdf_missing = _pdf_missing() if any("pdf" in item.keywords for item in items) else None
    for item in items:
        if "pdf" in item.keywords and pdf_missing:
            item.add_marker(pytest.mark.skip(reason=pdf_missing))
        if "poppler" in item.keywords and shutil.which("pdftotext") is None:
            item.add_marker(pytest.mark.skip(reason="needs poppler-utils (pdftotext)"))
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL=postgres://..."))
        if "celery" in item.keywords and not (with_worker and on_postgres):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL, REDIS_URL and a worker"))


def _pdf_missing() -> str | None:
    """What the PDF lacks on this machine (Pango, a Japanese font), or None."""
    import django

    django.setup()
    from reports.pdf import pdf_missing

    return pdf_missing()


# A Fernet key for the tests only: a server with a database (not the embedded mode) needs
# CONNECTION_SECRET_KEYS to store connection credentials.
TEST_CONNECTION_KEY = "J1mE0SxXNQvYzvUo2x9i2c1bTgxH8nQ6pA3WvG5kR7E="


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The production hasher is slow on purpose (about a second a password on the CI
    machine); the tests create and log in users by the hundred and test no hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def connection_secret_key(settings: Any) -> None:
    if not settings.CONNECTION_SECRET_KEYS:
        settings.CONNECTION_SECRET_KEYS = [TEST_CONNECTION_KEY]


@pytest.fixture
def source(db: None) -> Callable[..., Source]:
    """`source("ma")` -> a Source of that name (kind csv unless told)."""

    def make(name: str = "test", kind: str = "csv") -> Source:
        return ingest.get_or_create_source(name, kind)

    return make


@pytest.fixture
def example_dir() -> Path:
    return EXAMPLE_DIR


@pytest.fixture
def role_user(db: None) -> Callable[[str], User]:
    def make(role: str) -> User:
        user = User.objects.create_user(username=f"{role}-user", password="a-long-test-password")
        user.groups.add(Group.objects.get_or_create(name=role)[0])  # flushed by some tests
        if role == "ops_admin":
            user.is_staff = True
            user.save()
        return user

    return make


def vendor() -> str:
    return connection.vendor
