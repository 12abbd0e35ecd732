"""The CSV upload page (integrations/uploads.py, views.py): files previewed with the
importer's dry run (the same counts and problems as `import_csv --dry-run`, nothing
written), imported as a sync run once confirmed (what `import_csv` would import, once),
every problem downloadable as CSV; roles, CSRF, ownership and bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from funnel.csv_import.importer import import_csv_files
from funnel.models import Opportunity, Person, SourcePerson
from integrations.models import CsvUpload, SyncRun
from integrations.uploads import purge_stale_uploads
from kpi_dashboard.celery import app

pytestmark = pytest.mark.django_db(transaction=True)
RoleUser = Callable[[str], User]

PERSONS = (
    "external_id,email,name,created_at,channel,mql_at\r\n"
    "P1,a@example.jp,青木,2026-04-02T10:00:00+09:00,webinar,2026-04-05T10:00:00+09:00\r\n"
    'P2,b@example.jp,=HYPERLINK("x"),2026-04-03T10:00:00+09:00,seminar,\r\n'
    "P3,c@example.jp,佐藤,not-a-date,webinar,\r\n"
    "P4,d@example.jp,田中,2026-04-04T10:00:00+09:00,webinar,2026-04-01T10:00:00+09:00\r\n"
)
OPPORTUNITIES = (
    "external_id,person_external_id,amount,created_at,status,closed_at\r\n"
    "O1,P1,1000000,2026-04-10T10:00:00+09:00,won,2026-05-01T10:00:00+09:00\r\n"
    "O2,P2,-5,2026-04-11T10:00:00+09:00,open,\r\n"
)


@pytest.fixture(autouse=True)
def eager_uploads(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.UPLOAD_DIR = tmp_path / "uploads"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _files(**contents: str) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(name, text.encode(), content_type="text/csv")
        for name, text in contents.items()
    ]


def _upload(client: Client, source: str = "sfa", **contents: str) -> Any:
    files = _files(**contents) or _files(**{"persons.csv": PERSONS})
    return client.post(
        "/connections/upload/",
        {"source": source, "kind": "", "csv_files": files},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _counts() -> tuple[int, int, int]:
    return Person.objects.count(), SourcePerson.objects.count(), Opportunity.objects.count()


def _csv_rows(response: Any) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_preview_counts_and_names_every_problem_as_import_csv_dry_run_does(
    client: Client, role_user: RoleUser, tmp_path: Path
) -> None:
    client.force_login(role_user("marketing"))
    response = _upload(client, **{"persons.csv": PERSONS, "opportunities.csv": OPPORTUNITIES})
    assert response.status_code == 302
    upload = CsvUpload.objects.get()
    assert response["Location"] == f"/connections/upload/{upload.token}/"
    assert _counts() == (0, 0, 0)  # a preview writes nothing
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()

    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "persons.csv").write_text(PERSONS)
    (tmp_path / "cli" / "opportunities.csv").write_text(OPPORTUNITIES)
    expected = import_csv_files("sfa", [tmp_path / "cli"], dry_run=True)
    assert _counts() == (0, 0, 0)
    for shown, cli in zip(upload.preview, expected.files, strict=True):
        assert shown["file"] == cli.path.name
        assert {k: shown[k] for k in ("created", "updated", "rejected", "rows")} == {
            k: cli.as_dict()[k] for k in ("created", "updated", "rejected", "rows")
        }
        assert shown["errors"] == cli.errors
    assert upload.preview[0]["created"] == 3 and upload.preview[0]["rejected"] == 1
    assert "persons.csv" in page and "created_at" in page and "not-a-date" in page
    assert 'data-action="import"' in page

    problems = _csv_rows(client.get(f"/connections/upload/{upload.token}/problems.csv"))
    assert problems[0] == ["file", "row", "column", "message"]
    by_place = {(row[0], row[1], row[2]) for row in problems[1:]}
    assert ("persons.csv", "4", "created_at") in by_place
    assert ("opportunities.csv", "3", "amount") in by_place
    assert len(problems) - 1 == sum(len(f.errors) for f in expected.files)


def test_confirming_imports_once_what_import_csv_imports(
    client: Client, role_user: RoleUser, tmp_path: Path
) -> None:
    client.force_login(role_user("ops_admin"))
    _upload(client, **{"persons.csv": PERSONS, "opportunities.csv": OPPORTUNITIES})
    upload = CsvUpload.objects.get()
    response = client.post(f"/connections/upload/{upload.token}/import/")
    run = SyncRun.objects.get(kind="csv")
    assert response.status_code == 302 and response["Location"] == f"/connections/runs/{run.pk}/"
    assert run.status == SyncRun.Status.PARTIAL  # rows with problems were left out
    uploaded = _counts()
    assert uploaded == (3, 3, 1)
    again = client.post(f"/connections/upload/{upload.token}/import/")
    assert again["Location"] == f"/connections/runs/{run.pk}/"
    assert SyncRun.objects.filter(kind="csv").count() == 1 and _counts() == uploaded

    page = client.get(f"/connections/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-status="partial"' in page and "persons.csv" in page and "not-a-date" in page
    rows = _csv_rows(client.get(f"/connections/runs/{run.pk}/problems.csv"))
    assert ("persons.csv", "4", "created_at") in {(r[0], r[1], r[2]) for r in rows[1:]}

    # The same files by the command, under another source: the same rows.
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "persons.csv").write_text(PERSONS)
    (tmp_path / "cli" / "opportunities.csv").write_text(OPPORTUNITIES)
    import_csv_files("cli", [tmp_path / "cli"])
    ours = set(SourcePerson.objects.filter(source__name="sfa").values_list("external_id"))
    theirs = set(SourcePerson.objects.filter(source__name="cli").values_list("external_id"))
    assert ours == theirs == {("P1",), ("P2",), ("P4",)}


def test_the_problems_download_neutralises_formulas(client: Client, role_user: RoleUser) -> None:
    client.force_login(role_user("marketing"))
    bad = "external_id,email,created_at\r\n=cmd|' /C calc'!A0,x@example.jp,nope\r\n"
    _upload(client, **{"persons.csv": bad})
    upload = CsvUpload.objects.get()
    rows = _csv_rows(client.get(f"/connections/upload/{upload.token}/problems.csv"))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    ("role", "status"), [("marketing", 200), ("ops_admin", 200), ("sales", 403), ("executive", 403)]
)
def test_the_upload_page_is_for_marketing_and_ops_admins(
    client: Client, role_user: RoleUser, role: str, status: int
) -> None:
    client.force_login(role_user(role))
    assert client.get("/connections/upload/").status_code == status
    response = _upload(client)
    assert response.status_code == (302 if status == 200 else 403)
    assert CsvUpload.objects.count() == (1 if status == 200 else 0)


def test_anonymous_users_go_to_the_login(client: Client) -> None:
    response = client.get("/connections/upload/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_another_marketing_user_cannot_see_or_import_someone_elses_upload(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("marketing"))
    _upload(client)
    upload = CsvUpload.objects.get()
    other = User.objects.create_user("other-marketer")
    other.groups.add(*User.objects.get(username="marketing-user").groups.all())
    client.force_login(other)
    assert client.get(f"/connections/upload/{upload.token}/").status_code == 403
    assert client.post(f"/connections/upload/{upload.token}/import/").status_code == 403
    assert client.get("/connections/upload/not-a-token/").status_code == 404
    assert _counts() == (0, 0, 0)


def test_csrf_is_required(role_user: RoleUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_user("ops_admin"))
    assert _upload(client).status_code == 403
    assert CsvUpload.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": "sfa"}, "This field is required."),
        ({"source": "  ", "files": {"persons.csv": PERSONS}}, "This field is required."),
        ({"source": "x" * 101, "files": {"persons.csv": PERSONS}}, "at most 100 characters"),
        ({"source": "sfa", "files": {"persons.xlsx": PERSONS}}, "persons.xlsx: only .csv files"),
        ({"source": "sfa", "files": {"persons.csv": ""}}, "The submitted file is empty."),
        (
            {"source": "sfa", "files": {"persons.csv": "\r\n \r\n"}},
            "persons.csv: the file is empty",
        ),
        (
            {"source": "sfa", "files": {"persons.csv": "id\x00\x01\x02binary"}},
            "persons.csv: this is not a CSV text file",
        ),
    ],
)
def test_bad_input_is_named_and_stores_nothing(
    client: Client, role_user: RoleUser, data: dict[str, Any], message: str, settings: Any
) -> None:
    client.force_login(role_user("ops_admin"))
    files = _files(**data.get("files", {}))
    response = client.post(
        "/connections/upload/",
        {"source": data["source"], "kind": "", "csv_files": files},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert CsvUpload.objects.count() == 0 and _counts() == (0, 0, 0)
    assert (
        not any(Path(settings.UPLOAD_DIR).glob("*/*"))
        if Path(settings.UPLOAD_DIR).exists()
        else True
    )


def test_too_many_or_too_big_files_are_refused(
    client: Client, role_user: RoleUser, settings: Any
) -> None:
    client.force_login(role_user("ops_admin"))
    settings.CSV_UPLOAD_MAX_FILES = 2
    files = _files(**{f"persons-{n}.csv": PERSONS for n in range(3)})
    response = client.post(
        "/connections/upload/", {"source": "s", "csv_files": files}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "At most 2 files at once." in response.content.decode()
    settings.CSV_UPLOAD_MAX_BYTES = 100
    response = client.post(
        "/connections/upload/",
        {"source": "s", "csv_files": _files(**{"persons.csv": PERSONS})},
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert "persons.csv: 0.0 MB です。1ファイル0 MBまでです。" in response.content.decode()
    response = client.post(
        "/connections/upload/",
        {"source": "s", "csv_files": _files(**{"persons.csv": PERSONS})},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "persons.csv: 0.0 MB; at most 0 MB per file." in response.content.decode()
    assert CsvUpload.objects.count() == 0


def test_a_file_name_cannot_leave_its_upload_directory(
    client: Client, role_user: RoleUser, settings: Any
) -> None:
    client.force_login(role_user("ops_admin"))
    files = [SimpleUploadedFile("../../persons.csv", PERSONS.encode(), "text/csv")]
    client.post("/connections/upload/", {"source": "s", "csv_files": files})
    upload = CsvUpload.objects.get()
    assert upload.names == ["persons.csv"]
    assert Path(upload.directory).parent == Path(settings.UPLOAD_DIR)
    assert (Path(upload.directory) / "persons.csv").exists()


def test_stale_uploads_are_purged_and_fresh_or_running_ones_kept(
    client: Client, role_user: RoleUser
) -> None:
    client.force_login(role_user("ops_admin"))
    _upload(client)
    _upload(client)
    old, fresh = CsvUpload.objects.order_by("pk")
    CsvUpload.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert purge_stale_uploads() == 1
    assert not Path(old.directory).exists() and Path(fresh.directory).exists()
    assert list(CsvUpload.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_runs_recorded_before_problems_were_kept_apart_are_read_back() -> None:
    from integrations.uploads import Problem, problems

    old_run = [
        {
            "file": "/srv/var/uploads/x/persons.csv",
            "errors": [
                "persons.csv, row 4, column created_at: 'x' is not an ISO 8601 timestamp",
                "persons.csv, row 5: 2 fields where the header has 6",
                "persons.csv: the required column 'created_at' is missing",
            ],
        }
    ]
    assert list(problems(old_run)) == [
        Problem("persons.csv", 4, "created_at", "'x' is not an ISO 8601 timestamp"),
        Problem("persons.csv", 5, "", "2 fields where the header has 6"),
        Problem("persons.csv", None, "", "the required column 'created_at' is missing"),
    ]


def test_an_upload_is_imported_only_once_its_check_has_ended(
    client: Client, role_user: RoleUser, settings: Any
) -> None:
    from integrations.uploads import check_upload

    client.force_login(role_user("ops_admin"))
    app.conf.task_always_eager = False  # the check waits for a worker
    try:
        with patch("integrations.tasks.preview_upload_task.delay") as queued:
            _upload(client)
        upload = CsvUpload.objects.get()
        queued.assert_called_once_with(upload.pk)
    finally:
        app.conf.task_always_eager = True
    assert upload.check_status == "pending"
    page = client.get(f"/connections/upload/{upload.token}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'data-field="checking"' in html and 'http-equiv="refresh"' in html
    assert 'data-action="import"' not in html
    refused = client.post(f"/connections/upload/{upload.token}/import/")
    assert refused["Location"] == f"/connections/upload/{upload.token}/"
    assert not SyncRun.objects.exists()
    assert check_upload(upload.pk).check_status == "done"
    assert client.post(f"/connections/upload/{upload.token}/import/").status_code == 302
    assert SyncRun.objects.count() == 1


def test_a_check_that_cannot_run_says_why(client: Client, role_user: RoleUser) -> None:
    import shutil

    from integrations.uploads import check_upload

    client.force_login(role_user("ops_admin"))
    app.conf.task_always_eager = False
    try:
        with patch("integrations.tasks.preview_upload_task.delay"):
            _upload(client)
    finally:
        app.conf.task_always_eager = True
    upload = CsvUpload.objects.get()
    shutil.rmtree(upload.directory)
    assert check_upload(upload.pk).check_status == "failed"
    page = client.get(f"/connections/upload/{upload.token}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "persons.csv: the uploaded file is gone" in page.content.decode()
    assert 'data-action="import"' not in page.content.decode()
