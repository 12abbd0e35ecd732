from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from integrations.models import SECRET_NAMES, Connection, SyncRun, Vendor

# Secrets and the ingest path are imported where used: Django loads every admin module at
# start-up, and commands such as `kpis` should not pay for cryptography and the ingest.


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "source_name", "kind", "status", "requested_at", "finished_at")
    list_filter = ("status", "kind", "source_name")
    readonly_fields = ("report", "error", "started_at", "finished_at")


class ConnectionForm(forms.ModelForm):
    """Secrets are write-only: typed in, stored encrypted, never rendered back (an empty
    field keeps what is stored)."""

    base_url = forms.URLField(label=_("base URL"), required=False, assume_scheme="https")
    login_url = forms.URLField(label=_("login URL"), required=False, assume_scheme="https")
    token = forms.CharField(
        label=_("private app token"), required=False, widget=forms.PasswordInput
    )
    client_id = forms.CharField(label=_("client id"), required=False, widget=forms.PasswordInput)
    client_secret = forms.CharField(
        label=_("client secret"), required=False, widget=forms.PasswordInput
    )
    refresh_token = forms.CharField(
        label=_("refresh token"), required=False, widget=forms.PasswordInput
    )

    class Meta:
        model = Connection
        fields = (
            "name",
            "vendor",
            "base_url",
            "login_url",
            "business_unit_id",
            "sync_every_minutes",
            "enabled",
        )

    def changed_secrets(self) -> dict[str, str]:  # the secret fields typed in
        return {name: self.cleaned_data.get(name) or "" for name in SECRET_NAMES}

    def clean(self) -> dict[str, Any]:
        from integrations import secrets
        from integrations.connections import ConnectionProblem, check_credentials

        cleaned = super().clean() or {}
        stored = secrets.decrypt(self.instance.credentials) if self.instance.pk else {}
        merged = {**stored, **{k: v for k, v in self.changed_secrets().items() if v}}
        try:
            check_credentials(cleaned.get("vendor") or self.instance.vendor, merged)
        except ConnectionProblem as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = ("name", "vendor", "enabled", "sync_every_minutes", "updated_at")
    list_filter = ("vendor", "enabled")
    readonly_fields = ("credentials_set",)

    @admin.display(description=_("credentials set"))
    def credentials_set(self, connection: Connection) -> str:
        from integrations import secrets

        return secrets.describe(secrets.decrypt(connection.credentials)) or "-"

    def save_model(self, request: HttpRequest, obj: Connection, form: Any, change: bool) -> None:
        from funnel import ingest
        from integrations import secrets
        from integrations.connections import NEEDS

        values = secrets.decrypt(obj.credentials) if change else {}
        values.update({k: v for k, v in form.changed_secrets().items() if v})
        obj.credentials = secrets.encrypt(values)
        super().save_model(request, obj, form, change)
        if not change:
            ingest.get_or_create_source(obj.name, NEEDS[Vendor(obj.vendor)].source_kind)
