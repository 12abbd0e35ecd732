"""The connections page: every connection's sync state for marketing, sales and ops; ops
admins start a sync or a full resync from it (POST, CSRF). The CSV upload page: files
previewed with the importer's dry run, imported as a sync run once confirmed; the run page
follows it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import ADMIN_ROLES, CONNECTION_ROLES, UPLOAD_ROLES, has_role, role_required
from funnel.models import Source
from integrations import uploads
from integrations.forms import UploadForm
from integrations.models import Connection, CsvUpload, SyncRun
from integrations.selectors import connection_views
from integrations.sync import queue_sync
from records.csv_export import csv_response

PROBLEMS_SHOWN = 500
PROBLEM_HEADER = ("file", "row", "column", "message")


@require_GET
@role_required(CONNECTION_ROLES)
def connections(request: HttpRequest) -> HttpResponse:
    views = connection_views()
    context = {
        "connections": views,
        "may_sync": has_role(request.user, ADMIN_ROLES),
        "may_upload": has_role(request.user, UPLOAD_ROLES),
        "running": any(view.current for view in views),
    }
    return render(request, "integrations/connections.html", context)


@require_POST
@role_required(ADMIN_ROLES)
def sync_now(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=connection_id)
    full = request.POST.get("full") == "1"
    queue_sync(connection, full=full)
    if full:
        messages.success(
            request, _("A full resync of %(name)s was started.") % {"name": connection.name}
        )
    else:
        messages.success(request, _("A sync of %(name)s was started.") % {"name": connection.name})
    return redirect("integrations:connections")


@require_http_methods(["GET", "POST"])
@role_required(UPLOAD_ROLES)
def upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        saved = uploads.save_upload(
            request.user,
            form.cleaned_data["source"],
            form.cleaned_data["kind"],
            form.cleaned_data["csv_files"],
        )
        return redirect("integrations:upload_preview", token=saved.token)
    sources = Source.objects.order_by("name").values_list("name", flat=True)
    context = {
        "form": form,
        "sources": sources,
        "max_files": settings.CSV_UPLOAD_MAX_FILES,
        "max_mb": settings.CSV_UPLOAD_MAX_BYTES // 1048576,
    }
    return render(request, "integrations/upload.html", context)


def _upload_of(request: HttpRequest, token: str) -> CsvUpload:
    found = get_object_or_404(CsvUpload, token=token)
    if not uploads.may_confirm(found, request.user, has_role(request.user, ADMIN_ROLES)):
        raise PermissionDenied("This upload is another user's.")
    return found


@require_GET
@role_required(UPLOAD_ROLES)
def upload_preview(request: HttpRequest, token: str) -> HttpResponse:
    found = _upload_of(request, token)
    problems = list(uploads.problems(found.preview))
    context = {
        "upload": found,
        "checking": found.check_status == CsvUpload.Check.PENDING,
        "files": found.preview,
        "problems": problems[:PROBLEMS_SHOWN],
        "more_problems": max(len(problems) - PROBLEMS_SHOWN, 0),
        "importable": found.check_status == CsvUpload.Check.DONE
        and any(not f.get("failed") for f in found.preview),
    }
    return render(request, "integrations/upload_preview.html", context)


@require_POST
@role_required(UPLOAD_ROLES)
def upload_confirm(request: HttpRequest, token: str) -> HttpResponse:
    found = _upload_of(request, token)
    try:
        run = uploads.confirm_upload(found.pk)
    except uploads.UploadNotReady:
        messages.error(request, _("These files cannot be imported before their check ends."))
        return redirect("integrations:upload_preview", token=found.token)
    return redirect("integrations:run", run_id=run.pk)


@require_GET
@role_required(UPLOAD_ROLES)
def upload_problems(request: HttpRequest, token: str) -> StreamingHttpResponse:
    found = _upload_of(request, token)
    return _problems_csv(f"preview-{found.pk}-problems.csv", found.preview)


@require_GET
@role_required(CONNECTION_ROLES)
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=run_id)
    files = uploads.run_file_reports(run) if run.kind == "csv" else []
    problems = list(uploads.problems(files))
    context = {
        "run": run,
        "files": files,
        "objects": (run.report or {}).get("objects", {}) if isinstance(run.report, dict) else {},
        "problems": problems[:PROBLEMS_SHOWN],
        "more_problems": max(len(problems) - PROBLEMS_SHOWN, 0),
        "live": run.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING),
    }
    return render(request, "integrations/run.html", context)


@require_GET
@role_required(CONNECTION_ROLES)
def run_problems(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    run = get_object_or_404(SyncRun, pk=run_id)
    return _problems_csv(f"run-{run.pk}-problems.csv", uploads.run_file_reports(run))


def _problems_csv(filename: str, file_reports: list[dict[str, object]]) -> StreamingHttpResponse:
    rows = (
        (p.file, "" if p.row is None else p.row, p.column, p.message)
        for p in uploads.problems(file_reports)
    )
    return csv_response(filename, PROBLEM_HEADER, rows)
