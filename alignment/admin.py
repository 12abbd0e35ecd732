"""Alert settings (thresholds and recipients) for ops admins; the alerts raised, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from alignment.models import Alert, AlertSettings


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("pk", "enabled", "sla_threshold")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """One row: the settings."""
        return super().has_add_permission(request) and not AlertSettings.objects.exists()


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("day", "key", "sent_to")
    list_filter = ("key",)
    readonly_fields = ("key", "day", "value", "message", "sent_to", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
