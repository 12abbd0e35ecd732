"""Criteria versions in admin (ops admins): drafts are written and corrected here; the
decisions are the teams' (the `criteria` command, the agreement page), shown read-only. A
version decided on is never edited."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from qualification import services
from qualification.criteria import CriteriaProblem, parse_criteria
from qualification.models import CriteriaDecision, CriteriaVersion

EXAMPLE = (
    '{"stage": "mql", "name": "MQL 2026-10", "groups": [{"all": [\n'
    '  {"field": "lead_score", "op": "gte", "value": 60},\n'
    '  {"activity": ["download"], "at_least": 2, "within_days": 14}]}]}'
)


class CriteriaForm(forms.ModelForm):
    text = forms.CharField(
        label=_("criteria (JSON)"),
        widget=forms.Textarea(attrs={"rows": 16, "cols": 90, "spellcheck": "false"}),
        help_text=_(
            "Groups of conditions; a person qualifies when every condition of one group "
            "holds. Attributes: industry, company_size, channel, campaign, owner, "
            "email_domain (in / not_in a list), lead_score (gte a number). Behaviour: "
            "activity types, at_least, within_days, detail_contains. Example: %(example)s"
        )
        % {"example": EXAMPLE},
    )

    class Meta:
        model = CriteriaVersion
        fields = ["reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["text"].initial = json.dumps(
                self.instance.definition, ensure_ascii=False, indent=2
            )

    def clean_text(self) -> Any:
        try:
            return parse_criteria(json.loads(self.cleaned_data["text"]))
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not valid JSON (line %(line)s, column %(column)s): %(message)s")
                % {"line": exc.lineno, "column": exc.colno, "message": exc.msg}
            ) from None
        except CriteriaProblem as exc:
            raise forms.ValidationError(str(exc)) from None


class DecisionInline(admin.TabularInline):
    model = CriteriaDecision
    extra = 0
    can_delete = False
    fields = ("user", "role", "decision", "comment", "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CriteriaVersion)
class CriteriaVersionAdmin(admin.ModelAdmin):
    form = CriteriaForm
    list_display = ("pk", "stage", "name", "status", "effective_at", "proposed_by", "proposed_at")
    list_filter = ("stage", "status")
    readonly_fields = ("stage", "name", "status", "effective_at", "proposed_by", "proposed_at")
    inlines = [DecisionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _decided(obj):
            return (*self.readonly_fields, "reason", "definition")
        return self.readonly_fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _decided(obj):
            return (*self.readonly_fields, "reason", "definition")
        return ("text", "reason", *self.readonly_fields)

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        if _decided(obj):  # shown, not edited: no criteria text to check
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A decided version opens in view mode: nothing in it can be changed."""
        return super().has_change_permission(request, obj) and not _decided(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only a draft nobody decided on may go; the rest is history."""
        allowed = super().has_delete_permission(request, obj)
        return allowed and not _decided(obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if _decided(obj):
            return
        criteria = form.cleaned_data["text"]
        if change:
            services.revise(obj, criteria, form.cleaned_data.get("reason", ""))
            return
        created = services.propose(criteria, request.user, form.cleaned_data.get("reason", ""))
        obj.pk = created.pk
        obj.refresh_from_db()


def _decided(version: CriteriaVersion | None) -> bool:
    """In effect, rejected, or approved by one team: never edited again."""
    if version is None or version.pk is None:
        return False
    return version.status != CriteriaVersion.Status.DRAFT or version.decisions.exists()
