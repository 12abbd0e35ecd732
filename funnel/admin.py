"""Django admin for every funnel model: where ops admins set channels, targets, overrides,
holidays and qualification modes, and inspect what the sources sent."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from funnel import models
from funnel.periods import PeriodError, parse_period


class ReadOnlyHistory(admin.ModelAdmin):
    """History rows are written by ingest only."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(models.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "created_at")
    list_filter = ("kind",)


@admin.register(models.Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "is_marketing")
    list_editable = ("name", "is_marketing")
    search_fields = ("key", "name")


@admin.register(models.Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "channel")
    list_filter = ("channel",)
    search_fields = ("key", "name")


@admin.register(models.Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "industry", "company_size")
    search_fields = ("name",)


class SourcePersonInline(admin.TabularInline):
    model = models.SourcePerson
    extra = 0
    fields = ("source", "external_id", "email", "created_at", "channel", "mql_at", "sql_at")
    readonly_fields = fields
    can_delete = False


class StageEntryInline(admin.TabularInline):
    model = models.StageEntry
    extra = 0
    fields = ("stage", "basis", "entered_at", "source_record", "recorded_at")
    readonly_fields = fields
    can_delete = False


@admin.register(models.Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "email_normalized",
        "company",
        "channel",
        "lead_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "won_at",
    )
    list_filter = ("channel", "industry", "company_size")
    search_fields = ("email_normalized", "name", "company")
    date_hierarchy = "lead_at"
    readonly_fields = (
        "lead_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "won_at",
        "disqualified_at",
        "disqualify_reason",
    )
    raw_id_fields = ("account", "campaign")
    inlines = (SourcePersonInline, StageEntryInline)


@admin.register(models.SourcePerson)
class SourcePersonAdmin(admin.ModelAdmin):
    list_display = ("external_id", "source", "email", "created_at", "channel", "mql_at", "sql_at")
    list_filter = ("source",)
    search_fields = ("external_id", "email_normalized", "name")
    raw_id_fields = ("person", "campaign")


@admin.register(models.StageEntry)
class StageEntryAdmin(ReadOnlyHistory):
    list_display = ("person", "stage", "basis", "entered_at", "recorded_at")
    list_filter = ("stage", "basis")
    raw_id_fields = ("person", "source_record")


class OpportunityChangeInline(admin.TabularInline):
    model = models.OpportunityChange
    extra = 0
    fields = ("recorded_at", "stage", "status", "amount", "closed_at")
    readonly_fields = fields
    can_delete = False


@admin.register(models.Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("__str__", "source", "status", "amount", "created_at", "closed_at", "person")
    list_filter = ("status", "source")
    search_fields = ("external_id", "name", "person_email_normalized")
    date_hierarchy = "created_at"
    raw_id_fields = ("person", "account")
    inlines = (OpportunityChangeInline,)


@admin.register(models.OpportunityChange)
class OpportunityChangeAdmin(ReadOnlyHistory):
    list_display = ("opportunity", "status", "stage", "amount", "closed_at", "recorded_at")
    raw_id_fields = ("opportunity",)


@admin.register(models.Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("external_id", "source", "type", "occurred_at", "person")
    list_filter = ("type", "source")
    search_fields = ("external_id", "person_email_normalized", "detail")
    date_hierarchy = "occurred_at"
    raw_id_fields = ("person",)


@admin.register(models.CostEntry)
class CostEntryAdmin(admin.ModelAdmin):
    list_display = ("date", "channel", "campaign", "amount", "source")
    list_filter = ("channel", "source")
    date_hierarchy = "date"


class TargetForm(forms.ModelForm):
    class Meta:
        model = models.Target
        fields = ("period", "kpi", "value")

    def clean_period(self) -> str:
        try:
            period = parse_period(self.cleaned_data["period"])
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from None
        self.instance.start, self.instance.end = period.start, period.end
        return period.name


@admin.register(models.Target)
class TargetAdmin(admin.ModelAdmin):
    form = TargetForm
    list_display = ("period", "kpi", "value", "start", "end", "source", "updated_at")
    list_filter = ("kpi",)
    search_fields = ("period",)


class TreeOverrideForm(forms.ModelForm):
    class Meta:
        model = models.TreeOverride
        fields = ("period", "input", "value", "note")

    def clean_period(self) -> str:
        try:
            return parse_period(self.cleaned_data["period"]).name
        except PeriodError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(models.TreeOverride)
class TreeOverrideAdmin(admin.ModelAdmin):
    form = TreeOverrideForm
    list_display = ("period", "input", "value", "note")
    list_filter = ("input",)


@admin.register(models.CompanyHoliday)
class CompanyHolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "name")


@admin.register(models.QualificationSetting)
class QualificationSettingAdmin(admin.ModelAdmin):
    list_display = ("stage", "mode")
