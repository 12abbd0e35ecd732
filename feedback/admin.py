"""Rejection reasons in admin (ops admins): the list sales choose from, beside the spec's."""

from __future__ import annotations

from django.contrib import admin

from feedback.models import RejectionReason


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "label_en", "counts_as", "active", "order")
    list_editable = ("active", "order")
    list_filter = ("counts_as", "active")
