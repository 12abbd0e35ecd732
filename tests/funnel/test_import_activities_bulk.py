"""Large activities files take ActivityBulkLoad (lookups read once): same results as the
batch-by-batch path, including links, unlinked counts, re-import and changed rows."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest

from funnel.csv_import import importer
from funnel.csv_import.importer import import_csv_files
from funnel.models import Activity

PERSONS = (
    "external_id,email,created_at\n"
    "P1,taro@example.jp,2026-05-01T10:00:00+09:00\n"
    "P2,Hanako@Example.jp,2026-05-02T10:00:00+09:00\n"
)
ACTIVITIES = (
    "external_id,person_external_id,person_email,type,occurred_at,detail\n"
    "A1,P1,,web_visit,2026-05-03T10:00:00+09:00,/pricing\n"
    "A2,,HANAKO@example.jp,download,2026-05-04T10:00:00+09:00,whitepaper\n"
    "A3,P9,,email_open,2026-05-05T10:00:00+09:00,newsletter\n"
    "A4,,,web_visit,2026-05-06T10:00:00+09:00,/\n"
)


def _run(tmp_path: Path, activities: str) -> dict[str, int]:
    (tmp_path / "persons.csv").write_text(PERSONS)
    (tmp_path / "activities.csv").write_text(activities)
    report = import_csv_files("ma", [tmp_path])
    return next(f for f in report.files if f.kind == "activities").result.as_dict()


@pytest.fixture(params=["bulk", "batches"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(importer, "BULK_ROWS", 0 if request.param == "bulk" else 10**9)
    return str(request.param)


@pytest.mark.django_db
def test_it_links_and_counts_the_same_on_both_paths(tmp_path: Path, path_kind: str) -> None:
    counts = _run(tmp_path, ACTIVITIES)
    assert counts["created"] == 4 and counts["unlinked"] == 1  # A3 names P9, who is unknown
    linked = dict(Activity.objects.values_list("external_id", "person__email_normalized"))
    assert linked == {
        "A1": "taro@example.jp",
        "A2": "hanako@example.jp",
        "A3": None,
        "A4": None,
    }


@pytest.mark.django_db
def test_it_changes_nothing_on_a_second_import(tmp_path: Path, path_kind: str) -> None:
    _run(tmp_path, ACTIVITIES)
    counts = _run(tmp_path, ACTIVITIES)
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 0, 4)
    assert Activity.objects.count() == 4


@pytest.mark.django_db
def test_it_updates_a_changed_row(tmp_path: Path, path_kind: str) -> None:
    _run(tmp_path, ACTIVITIES)
    counts = _run(tmp_path, ACTIVITIES.replace("/pricing", "/pricing/enterprise"))
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 3)
    assert Activity.objects.get(external_id="A1").detail == "/pricing/enterprise"


@pytest.mark.django_db
def test_it_merges_and_links_persons_the_same_on_both_paths(tmp_path: Path, path_kind: str) -> None:
    from django.core.management import call_command

    from funnel.models import Opportunity, Person

    sfa = tmp_path / "sfa"
    sfa.mkdir()
    (sfa / "opportunities.csv").write_text(
        "external_id,person_external_id,amount,created_at,status\n"
        "O1,L1,1000000,2026-05-10T10:00:00+09:00,open\n"
    )
    call_command("import_csv", str(sfa), source="sfa", stdout=StringIO())
    (sfa / "persons.csv").write_text(
        "external_id,email,created_at\n"
        "L1, TARO@example.jp ,2026-05-03T10:00:00+09:00\n"
        "L2,taro@EXAMPLE.jp,2026-05-04T10:00:00+09:00\n"
    )
    call_command("import_csv", str(sfa / "persons.csv"), source="sfa", stdout=StringIO())
    _run(tmp_path, ACTIVITIES)  # the MA persons: taro merges with the SFA person
    taro = Person.objects.get(email_normalized="taro@example.jp")
    assert Person.objects.count() == 2  # taro (L1, L2, P1) and hanako
    assert taro.source_records.count() == 3
    assert Opportunity.objects.get(external_id="O1").person_id == taro.pk
    assert taro.opportunity_at is not None
