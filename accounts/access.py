"""Who may see what: the roles of the product and one check used by every page and endpoint.

| area                                   | marketing | sales | executive | ops_admin |
|----------------------------------------|-----------|-------|-----------|-----------|
| shared dashboard, KPI API, reports     | yes       | yes   | yes       | yes       |
| record pages (persons, opportunities)  | yes       | yes   | -         | yes       |
| connections page (sync runs)           | view      | view  | -         | yes       |
| Django admin (connections, criteria,   | -         | -     | -         | yes       |
| targets, overrides)                    |           |       |           |           |

A superuser passes every check. A logged-in user without a role sees nothing but a page
saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.roles import EXECUTIVE, MARKETING, OPS_ADMIN, SALES

EVERY_ROLE = frozenset({MARKETING, SALES, EXECUTIVE, OPS_ADMIN})
DASHBOARD_ROLES = EVERY_ROLE
REPORT_ROLES = EVERY_ROLE
RECORD_ROLES = frozenset({MARKETING, SALES, OPS_ADMIN})
CONNECTION_ROLES = frozenset({MARKETING, SALES, OPS_ADMIN})  # see the sync page
ADMIN_ROLES = frozenset({OPS_ADMIN})  # and run syncs from it
UPLOAD_ROLES = frozenset({MARKETING, OPS_ADMIN})  # the CSV upload page
INBOX_ROLES = frozenset({SALES, OPS_ADMIN})  # see the MQL inbox
FEEDBACK_ROLES = frozenset({SALES})  # and accept or reject MQLs from it
AGREEMENT_ROLES = frozenset({MARKETING, SALES})  # approve or reject criteria drafts
REVIEW_ROLES = frozenset({MARKETING, SALES, OPS_ADMIN})  # record a KPI definitions review

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def roles_of(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_kpi_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) & EVERY_ROLE
        user._kpi_roles = cached
    return cached


def has_role(user: Any, roles: Iterable[str]) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser or roles_of(user) & frozenset(roles))


def role_required(roles: Iterable[str]) -> Callable[[View], View]:
    """Login first (redirect), then the role (403)."""
    allowed = frozenset(roles)

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(request.user, allowed):
                raise PermissionDenied("Your account has no role that may open this page.")
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class HasRole(BasePermission):
    """DRF: authenticated and in one of `roles` (set on the view as `allowed_roles`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return has_role(request.user, getattr(view, "allowed_roles", EVERY_ROLE))
