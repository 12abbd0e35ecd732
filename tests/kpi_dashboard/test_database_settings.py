"""Settings that every database connection gets."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.postgres
def test_postgresql_connections_run_without_jit(db: None) -> None:
    """JIT compilation costs the KPI passes more than it saves (bench/README.md)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
