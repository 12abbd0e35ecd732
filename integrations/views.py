"""The connections page: every connection's sync state for marketing, sales and ops; ops
admins start a sync or a full resync from it (POST, CSRF)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import ADMIN_ROLES, CONNECTION_ROLES, has_role, role_required
from integrations.models import Connection
from integrations.selectors import connection_views
from integrations.sync import queue_sync


@require_GET
@role_required(CONNECTION_ROLES)
def connections(request: HttpRequest) -> HttpResponse:
    views = connection_views()
    context = {
        "connections": views,
        "may_sync": has_role(request.user, ADMIN_ROLES),
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
