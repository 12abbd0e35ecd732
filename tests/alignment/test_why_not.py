"""Why MQLs did not convert (alignment/nonconversion.py): every member of the MQL cohort in
exactly one column, the totals equal to the engine's cohort, in-progress members never
dropped, the persons CSV the same columns; roles and bad parameters."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alignment.nonconversion import non_conversion
from funnel.metrics.snapshot import kpi_snapshot
from funnel.periods import parse_period
from tests.funnel.factories import jst

pytestmark = pytest.mark.django_db
RoleUser = Callable[[str], User]


@pytest.fixture
def example(example_dir: Path) -> None:
    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())


@pytest.mark.parametrize("dimension", ["channel", "campaign", "industry", "company_size", "owner"])
def test_every_member_is_in_one_column_and_the_totals_are_the_engines(
    example: None, dimension: str
) -> None:
    period, as_of = parse_period("FY2026Q1"), jst(2026, 9, 1)
    found = non_conversion(period, as_of, dimension)
    cohort = kpi_snapshot(period, as_of)["cohorts"]["opportunity_rate"]
    assert (found.total.size, found.total.converted) == (cohort["size"], cohort["converted"])
    for group in [*found.groups, found.total]:
        assert group.size == group.converted + group.at_mql + group.at_sql + group.dropped_total
    assert found.total.dropped_total > 0 and found.total.at_mql + found.total.at_sql > 0


def test_the_page_and_the_persons_csv_agree(
    example: None, client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("marketing"))
    query = {"period": "FY2026Q1", "by": "channel"}
    page = client.get("/alignment/why-not/", query, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    response = client.get("/alignment/why-not/persons.csv", query)
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text)))
    found = non_conversion(parse_period("FY2026Q1"), timezone.now(), "channel")
    outcomes = [row["outcome"] for row in rows]
    assert len(rows) == found.total.size
    assert outcomes.count("converted") == found.total.converted
    assert outcomes.count("dropped") == found.total.dropped_total
    assert outcomes.count("at_sql") == found.total.at_sql
    html = page.content.decode()
    total = re.search(r'data-key="total"><th>Total</th><td class="num">(?:<a [^>]+>)?(\d+)<', html)
    assert total is not None and int(total[1]) == found.total.size
    bad = client.get("/alignment/why-not/", {"by": "shoe_size"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and "by: one of channel" in bad.content.decode()
    client.force_login(role_user("executive"))
    assert client.get("/alignment/why-not/", query).status_code == 200
    assert client.get("/alignment/why-not/persons.csv", query).status_code == 403


def test_every_count_of_the_table_lists_its_persons(
    client: Client, role_user: Any, example_dir: Path
) -> None:
    """Each number of the why-not table opens the persons it counts, as many as it says."""
    import re

    for name in ("ma", "sfa"):
        call_command("import_csv", str(example_dir / "data" / name), source=name, stdout=StringIO())
    client.force_login(role_user("marketing"))
    for by in ("channel", "industry"):
        page = client.get("/alignment/why-not/", {"period": "FY2026Q1", "by": by}).content.decode()
        links = re.findall(r'<a href="(/alignment/why-not/persons/\?[^"]+)">(\d+)</a>', page)
        assert len(links) > 10
        for url, number in links:
            listed = client.get(url.replace("&amp;", "&"))
            assert listed.status_code == 200, url
            count = re.search(r'data-count="(\d+)"', listed.content.decode())
            assert count is not None and count[1] == number, url
    csv = client.get(
        "/alignment/why-not/persons/",
        {"period": "FY2026Q1", "by": "channel", "outcome": "dropped", "format": "csv"},
    )
    assert csv.status_code == 200
    rows = b"".join(csv.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert all(line.split(",")[6] == "dropped" for line in rows[1:])
    assert client.get("/alignment/why-not/persons/", {"outcome": "lost"}).status_code == 400
