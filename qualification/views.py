"""The agreement page: marketing and sales managers read what a draft changes and approve
or reject it (POST, CSRF); everybody sees the versions in effect and their history."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import AGREEMENT_ROLES, DASHBOARD_ROLES, role_required
from qualification import services
from qualification.models import CriteriaVersion
from qualification.selectors import agreement_page


@require_GET
@role_required(DASHBOARD_ROLES)
def agreement(request: HttpRequest) -> HttpResponse:
    return render(
        request, "qualification/agreement.html", agreement_page(request.user, timezone.now())
    )


@require_POST
@role_required(AGREEMENT_ROLES)
def decide(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(CriteriaVersion, pk=version_id)
    comment = request.POST.get("comment", "")[:2000]
    try:
        if request.POST.get("decision") == "approve":
            services.approve(version, request.user, comment)
        elif request.POST.get("decision") == "reject":
            services.reject(version, request.user, comment)
        else:
            raise services.AgreementRefused(_("approve or reject"))
    except services.AgreementRefused as exc:
        messages.error(request, _("Not recorded: %(why)s.") % {"why": exc})
    else:
        if version.status == CriteriaVersion.Status.IN_EFFECT:
            messages.success(
                request, _("Both teams agreed: %(name)s is in effect.") % {"name": version.name}
            )
        else:
            messages.success(
                request, _("Your decision on %(name)s is recorded.") % {"name": version.name}
            )
    return redirect("qualification:agreement")
