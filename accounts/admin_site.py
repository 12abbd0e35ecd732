"""Django admin is the ops admins' room: staff alone is not enough, the role is needed."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest

from accounts.access import ADMIN_ROLES, has_role


class OpsAdminSite(admin.AdminSite):
    site_header = "KPI Bridge"
    site_title = "KPI Bridge"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and has_role(
            request.user, ADMIN_ROLES
        )


class OpsAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.OpsAdminSite"
