"""CSV files uploaded on the upload page: kept, previewed with the importer's dry run,
imported as a sync run once confirmed (the same importer and rules as `import_csv`).

Uploaded files are stored under settings.UPLOAD_DIR in a directory named by a random
token, each under its own name made safe (the importer reads the kind from the name, and
its errors name the file as the user knows it). Uploads never confirmed are purged after
UPLOAD_KEEP_HOURS.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from funnel.csv_import.importer import import_csv_files
from integrations.models import CsvUpload, SyncRun
from integrations.services import queue_csv_import

# How the importer words a problem: "file, row N, column C: message" (column optional),
# or "file: message" for the file as a whole.
_ROW_PROBLEM = re.compile(r"^(?P<file>.+?), row (?P<row>\d+)(?:, column (?P<column>[^:]+))?: ")
_FILE_PROBLEM = re.compile(r"^(?P<file>[^:]+?\.csv): ", re.IGNORECASE)


class UploadNotReady(ValueError):
    """The upload cannot be imported yet (its check has not finished, or failed)."""


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str
    message: str


def upload_root() -> Path:
    return Path(settings.UPLOAD_DIR)


def safe_name(name: str) -> str:
    """The file's own name, made safe for the file system (no directories, no oddities)."""
    cleaned = get_valid_filename(Path(name).name) if Path(name).name else ""
    return cleaned or "upload.csv"


def save_upload(
    user: Any, source_name: str, file_kind: str, files: Sequence[UploadedFile]
) -> CsvUpload:
    """Store the files and queue their check, a dry run (nothing is written to the funnel)."""
    from integrations.tasks import preview_upload_task

    token = secrets.token_urlsafe(24)
    directory = upload_root() / token
    directory.mkdir(parents=True)
    names = []
    try:
        for uploaded in files:
            name = safe_name(uploaded.name or "")
            with (directory / name).open("wb") as stored:
                for chunk in uploaded.chunks():
                    stored.write(chunk)
            names.append(name)
        upload = CsvUpload.objects.create(
            token=token,
            source_name=source_name,
            file_kind=file_kind,
            names=names,
            directory=str(directory),
            uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    transaction.on_commit(lambda: preview_upload_task.delay(upload.pk))
    return upload


def check_upload(upload_id: int) -> CsvUpload:
    """The dry run of an upload's files, kept on it; a check that cannot run says why."""
    upload = CsvUpload.objects.get(pk=upload_id)
    if upload.check_status != CsvUpload.Check.PENDING:
        return upload
    paths = [Path(upload.directory) / name for name in upload.names]
    try:
        missing = [path.name for path in paths if not path.exists()]
        if missing:
            raise FileNotFoundError(f"{', '.join(missing)}: the uploaded file is gone")
        report = import_csv_files(
            upload.source_name, paths, kind=upload.file_kind or None, dry_run=True
        )
    except Exception as exc:
        upload.check_status, upload.check_error = CsvUpload.Check.FAILED, str(exc)[:2000]
    else:
        upload.check_status = CsvUpload.Check.DONE
        upload.preview = [_shown(f.as_dict(with_problems=True)) for f in report.files]
    upload.save(update_fields=["check_status", "check_error", "preview"])
    return upload


def _shown(file_report: dict[str, Any]) -> dict[str, Any]:
    """A file report as pages show it: the file's name, not where it is stored."""
    return {**file_report, "file": Path(str(file_report.get("file", ""))).name}


def confirm_upload(upload_id: int) -> SyncRun:
    """Queue the import as a sync run, once: a second confirmation gets the same run."""
    with transaction.atomic():
        upload = CsvUpload.objects.select_for_update().get(pk=upload_id)
        if upload.run is not None:
            return upload.run
        if upload.check_status != CsvUpload.Check.DONE:
            raise UploadNotReady("the files are not checked yet")
        paths = [Path(upload.directory) / name for name in upload.names]
        upload.run = queue_csv_import(upload.source_name, paths, upload.file_kind)
        upload.save(update_fields=["run"])
        return upload.run


def may_confirm(upload: CsvUpload, user: Any, is_admin: bool) -> bool:
    return is_admin or (upload.uploaded_by_id is not None and upload.uploaded_by_id == user.pk)


def purge_stale_uploads(now: dt.datetime | None = None) -> int:
    """Delete the files of uploads never confirmed within UPLOAD_KEEP_HOURS, and of
    confirmed ones whose run finished that long ago; returns how many uploads went."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.UPLOAD_KEEP_HOURS)
    stale = CsvUpload.objects.filter(created_at__lt=cutoff).exclude(
        run__status__in=(SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
    )
    purged = 0
    for upload in stale:
        shutil.rmtree(upload.directory, ignore_errors=True)
        upload.delete()
        purged += 1
    return purged


def problems(file_reports: Iterable[dict[str, Any]]) -> Iterator[Problem]:
    """Every error of these file reports with its file, row and column: as the importer
    recorded them apart, or (runs recorded before it did) read back from its wording."""
    for report in file_reports:
        name = Path(str(report.get("file", ""))).name
        recorded = report.get("problems")
        if isinstance(recorded, list):
            for item in recorded:
                row = item.get("row")
                yield Problem(
                    file=Path(str(item.get("file") or name)).name,
                    row=row if isinstance(row, int) else None,
                    column=str(item.get("column") or ""),
                    message=str(item.get("message") or ""),
                )
            continue
        for error in report.get("errors", []):
            yield _read_back(name, str(error))


def _read_back(name: str, text: str) -> Problem:
    if match := _ROW_PROBLEM.match(text):
        return Problem(
            file=Path(match["file"]).name,
            row=int(match["row"]),
            column=match["column"] or "",
            message=text[match.end() :],
        )
    if match := _FILE_PROBLEM.match(text):
        return Problem(Path(match["file"]).name, None, "", text[match.end() :])
    return Problem(name, None, "", text)


def run_file_reports(run: SyncRun) -> list[dict[str, Any]]:
    """A CSV run's per-file reports, each naming its file as the user named it."""
    report = run.report if isinstance(run.report, list) else []
    return [_shown(f) for f in report if isinstance(f, dict)]
