from django.contrib import admin

from integrations.models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "source_name", "kind", "status", "requested_at", "finished_at")
    list_filter = ("status", "kind", "source_name")
    readonly_fields = ("report", "error", "started_at", "finished_at")
