"""The MQL inbox (sales; ops admins look): the MQLs waiting for follow-up, oldest deadline
first, accepted or rejected with a reason, one or many at once (POST, CSRF)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.access import (
    DASHBOARD_ROLES,
    FEEDBACK_ROLES,
    INBOX_ROLES,
    RECORD_ROLES,
    has_role,
    role_required,
)
from dashboard.selectors import campaign_names, channel_names
from feedback.selectors import (
    FeedbackRow,
    decisions_behind,
    feedback_summary,
    reason_choices,
    waiting_mqls,
    with_deadlines,
)
from feedback.services import FeedbackRefused
from feedback.services import decide as decide_service
from funnel.metrics.formatting import Kind, format_figure
from funnel.models import Channel
from funnel.periods import PeriodError, current_quarter, parse_period

PER_PAGE = 50


@require_GET
@role_required(INBOX_ROLES)
def inbox(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    channel = request.GET.get("channel", "")
    if "\x00" in channel or len(channel) > 100:
        channel = ""
    paginator = Paginator(waiting_mqls(now, channel), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": with_deadlines(list(page.object_list), now),
        "total": paginator.count,
        "channels": Channel.objects.order_by("key"),
        "channel": channel,
        "reasons": reason_choices(),
        "may_decide": has_role(request.user, FEEDBACK_ROLES),
    }
    return render(request, "feedback/inbox.html", context)


@require_POST
@role_required(FEEDBACK_ROLES)
def decide(request: HttpRequest) -> HttpResponse:
    try:
        ids = [int(value) for value in request.POST.getlist("person")]
    except ValueError:
        ids = []
    decision = request.POST.get("decision", "")
    try:
        count = decide_service(
            ids,
            request.user,
            decision,
            reason=request.POST.get("reason", ""),
            comment=request.POST.get("comment", "")[:2000],
        )
    except FeedbackRefused as exc:
        messages.error(request, _("Nothing was recorded: %(why)s.") % {"why": exc})
    else:
        if decision == "accept":
            text = ngettext("%(count)d MQL accepted.", "%(count)d MQLs accepted.", count)
        else:
            text = ngettext("%(count)d MQL rejected.", "%(count)d MQLs rejected.", count)
        messages.success(request, text % {"count": count})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("feedback:inbox")


@require_GET
@role_required(DASHBOARD_ROLES)
def summary(request: HttpRequest) -> HttpResponse:
    """What sales said of marketing's MQLs in a period: by channel, campaign and month."""
    now = timezone.now()
    name = request.GET.get("period", "")
    try:
        period = parse_period(name) if name else current_quarter(now)
    except PeriodError as exc:
        return render(
            request, "feedback/summary.html", {"error": str(exc), "period_name": name}, status=400
        )
    result = feedback_summary(period, now)
    reasons = list(result.labels.items())

    may_drill = has_role(request.user, RECORD_ROLES)

    def link(by: str, key: str, column: str, count: int) -> dict[str, object]:
        """A number, with the list of the decisions it counts (for roles that see persons)."""
        query = urlencode({"period": period.name, "by": by, "key": key, "column": column})
        url = f"{reverse('feedback:decisions')}?{query}" if may_drill and count else ""
        return {"count": count, "url": url}

    def rows(
        found: list[FeedbackRow], by: str, names: dict[str, str] | None = None
    ) -> list[dict[str, object]]:
        return [
            {
                "key": row.key,
                "label": (names or {}).get(row.key, row.key),
                "decided": link(by, row.key, "decided", row.decided),
                "accepted": link(by, row.key, "accepted", row.accepted),
                "rejected": link(by, row.key, "rejected", row.rejected),
                "rate": format_figure(row.acceptance_rate, Kind.RATE),
                "reasons": [
                    link(by, row.key, value, row.reasons.get(value, 0)) for value, _label in reasons
                ],
            }
            for row in found
        ]

    context = {
        "period": period,
        "period_name": period.name,
        "summary": result,
        "reasons": reasons,
        "channels": rows(result.by_channel, "channel", channel_names()),
        "campaigns": rows(result.by_campaign[:20], "campaign", campaign_names()),
        "months": rows(result.by_month, "month"),
        "may_open_inbox": has_role(request.user, INBOX_ROLES),
    }
    return render(request, "feedback/summary.html", context)


@require_GET
@role_required(RECORD_ROLES)
def decisions(request: HttpRequest) -> HttpResponse:
    """The decisions behind one number of the summary (a table, a row, a column): each
    with its MQL, who decided, when and why."""
    now = timezone.now()
    name = request.GET.get("period", "")
    by, key = request.GET.get("by", ""), request.GET.get("key", "")
    column = request.GET.get("column", "decided")
    try:
        period = parse_period(name) if name else current_quarter(now)
        found = decisions_behind(period, now, by, key, column)
    except (PeriodError, ValueError) as exc:
        return render(request, "feedback/decisions.html", {"error": str(exc)}, status=400)
    labels = dict(reason_choices())
    context = {
        "period": period,
        "by": by,
        "key": key,
        "column": column,
        "column_label": labels.get(column, "")
        or {"decided": _("Decided"), "accepted": _("Accepted"), "rejected": _("Rejected")}.get(
            column, column
        ),
        "rows": found,
        "summary_query": urlencode({"period": period.name}),
    }
    return render(request, "feedback/decisions.html", context)
