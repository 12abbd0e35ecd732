"""Criteria versions in admin (ops admins): drafts are written and corrected here; the
decisions are the teams' (the `criteria` command, the agreement page), shown read-only. A
version decided on is never edited."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from funnel.choices import ActivityType
from qualification import services
from qualification.criteria import (
    MAX_DAYS,
    MAX_NAME,
    SCORE_FIELD,
    Criteria,
    CriteriaProblem,
    ScoreCondition,
    TextCondition,
    parse_criteria,
)
from qualification.models import CriteriaDecision, CriteriaStage, CriteriaVersion

EXAMPLE = (
    '{"stage": "mql", "name": "MQL 2026-10", "groups": [{"all": [\n'
    '  {"field": "lead_score", "op": "gte", "value": 60},\n'
    '  {"activity": ["download"], "at_least": 2, "within_days": 14}]}]}'
)


CONDITION_ROWS = 10
GROUPS = 5
KINDS = [
    ("", "—"),
    ("attribute", _("attribute is (not) one of")),
    ("score", _("lead score at least")),
    ("behaviour", _("activities in the last N days")),
]
FIELD_LABELS = {
    "industry": _("industry"),
    "company_size": _("company size"),
    "channel": _("first-touch channel (key)"),
    "campaign": _("campaign (key)"),
    "owner": _("owner"),
    "email_domain": _("email domain"),
}


class CriteriaForm(forms.ModelForm):
    """The criteria as rows a non-programmer fills in: each row one condition of a group
    (a person qualifies when every row of one group holds); or the JSON of kpi-spec 2b
    pasted whole (the exchange format), which then wins."""

    criteria_stage = forms.ChoiceField(
        label=_("stage"), choices=CriteriaStage.choices, required=False
    )
    criteria_name = forms.CharField(label=_("name"), max_length=MAX_NAME, required=False)
    text = forms.CharField(
        label=_("or paste the criteria as JSON"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90, "spellcheck": "false"}),
        help_text=_(
            "Optional: the exchange format of `criteria export`. When given, it replaces "
            "the stage, name and conditions rows. Example: %(example)s"
        )
        % {"example": EXAMPLE},
    )

    class Meta:
        model = CriteriaVersion
        fields = ["reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for row in range(CONDITION_ROWS):
            self.fields.update(_row_fields(row))
        if self.instance.pk:
            self._fill(parse_criteria(self.instance.definition))

    def _fill(self, criteria: Criteria) -> None:
        self.fields["criteria_stage"].initial = criteria.stage
        self.fields["criteria_name"].initial = criteria.name
        rows = [
            (number, condition)
            for number, group in enumerate(criteria.groups, start=1)
            for condition in group.conditions
        ]
        for row, (number, condition) in enumerate(rows[:CONDITION_ROWS]):
            initial = {"group": number, **_row_initial(condition)}
            for key, value in initial.items():
                self.fields[f"c{row}_{key}"].initial = value

    def condition_rows(self) -> list[list[Any]]:
        """The rows' bound fields in the order _row_fields made them, for the template."""
        return [
            [self[name] for name in self.fields if name.startswith(f"c{row}_")]
            for row in range(CONDITION_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = (cleaned.get("text") or "").strip()
        try:
            if text:
                cleaned["criteria"] = parse_criteria(json.loads(text))
                return cleaned
        except json.JSONDecodeError as exc:
            self.add_error(
                "text",
                _("Not valid JSON (line %(line)s, column %(column)s): %(message)s")
                % {"line": exc.lineno, "column": exc.colno, "message": exc.msg},
            )
            return cleaned
        except CriteriaProblem as exc:
            self.add_error("text", str(exc))
            return cleaned
        groups: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for row in range(CONDITION_ROWS):
            condition = self._condition(row, cleaned)
            if condition is not None:
                groups.setdefault(cleaned.get(f"c{row}_group") or 1, []).append((row, condition))
        ordered = [groups[number] for number in sorted(groups)]
        data = {
            "stage": cleaned.get("criteria_stage"),
            "name": cleaned.get("criteria_name") or "",
            "groups": [{"all": [c for _, c in rows]} for rows in ordered],
        }
        if not ordered:
            self.add_error(None, _("Add at least one condition (a row with a kind)."))
            return cleaned
        try:
            cleaned["criteria"] = parse_criteria(data)
        except CriteriaProblem as exc:
            self.add_error(None, _row_message(str(exc), ordered))
        return cleaned

    def _condition(self, row: int, cleaned: dict[str, Any]) -> dict[str, Any] | None:
        """The row as the JSON of 2b (parse_criteria checks it), or None for an empty row."""
        kind = cleaned.get(f"c{row}_kind")
        if kind == "attribute":
            values = [
                v.strip()
                for v in re.split(r"[,、\n]", cleaned.get(f"c{row}_values") or "")
                if v.strip()
            ]
            return {
                "field": cleaned.get(f"c{row}_field"),
                "op": cleaned.get(f"c{row}_op") or "in",
                "value": values,
            }
        if kind == "score":
            return {"field": SCORE_FIELD, "op": "gte", "value": cleaned.get(f"c{row}_score")}
        if kind == "behaviour":
            condition: dict[str, Any] = {
                "activity": list(cleaned.get(f"c{row}_types") or []),
                "at_least": cleaned.get(f"c{row}_at_least"),
                "within_days": cleaned.get(f"c{row}_days"),
            }
            if contains := (cleaned.get(f"c{row}_contains") or "").strip():
                condition["detail_contains"] = contains
            return condition
        return None


def _row_fields(row: int) -> dict[str, forms.Field]:
    small = {"style": "width:4em"}
    return {
        f"c{row}_group": forms.IntegerField(
            label=_("group"), required=False, min_value=1, max_value=GROUPS, initial=1,
            widget=forms.NumberInput(attrs=small),
        ),
        f"c{row}_kind": forms.ChoiceField(label=_("kind"), choices=KINDS, required=False),
        f"c{row}_field": forms.ChoiceField(
            label=_("attribute"), required=False, choices=[("", "—"), *FIELD_LABELS.items()]
        ),
        f"c{row}_op": forms.ChoiceField(
            label=_("is"), required=False,
            choices=[("in", _("one of")), ("not_in", _("not one of"))],
        ),
        f"c{row}_values": forms.CharField(
            label=_("values (comma separated)"), required=False, max_length=2000
        ),
        f"c{row}_score": forms.IntegerField(
            label=_("score"), required=False, widget=forms.NumberInput(attrs=small)
        ),
        f"c{row}_types": forms.MultipleChoiceField(
            label=_("activity types"), required=False, choices=ActivityType.choices,
            widget=forms.CheckboxSelectMultiple,
        ),
        f"c{row}_at_least": forms.IntegerField(
            label=_("at least"), required=False, min_value=1,
            widget=forms.NumberInput(attrs=small),
        ),
        f"c{row}_days": forms.IntegerField(
            label=_("in the last N days"), required=False, min_value=1, max_value=MAX_DAYS,
            widget=forms.NumberInput(attrs=small),
        ),
        f"c{row}_contains": forms.CharField(
            label=_("detail contains"), required=False, max_length=500
        ),
    }  # fmt: skip


def _row_initial(condition: Any) -> dict[str, Any]:
    if isinstance(condition, ScoreCondition):
        return {"kind": "score", "score": condition.minimum}
    if isinstance(condition, TextCondition):
        return {
            "kind": "attribute",
            "field": condition.field,
            "op": condition.op,
            "values": ", ".join(condition.values),
        }
    return {
        "kind": "behaviour",
        "types": list(condition.types),
        "at_least": condition.at_least,
        "days": condition.within_days,
        "contains": condition.detail_contains,
    }


def _row_message(problem: str, groups: list[list[tuple[int, dict[str, Any]]]]) -> str:
    """parse_criteria's place (groups[g].all[c]...) as the row the ops admin filled in."""
    found = re.match(r"groups\[(\d+)\]\.all\[(\d+)\]\.?(.*)", problem)
    if not found:
        return problem
    group, index, rest = int(found[1]), int(found[2]), found[3]
    row = groups[group][index][0] + 1
    return str(_("Row %(row)s: %(problem)s") % {"row": row, "problem": rest})


class DecisionInline(admin.TabularInline):
    model = CriteriaDecision
    extra = 0
    can_delete = False
    fields = ("user", "role", "decision", "comment", "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


DRAFT_READONLY = ("status", "effective_at", "proposed_by", "proposed_at")


@admin.register(CriteriaVersion)
class CriteriaVersionAdmin(admin.ModelAdmin):
    form = CriteriaForm
    list_display = ("pk", "stage", "name", "status", "effective_at", "proposed_by", "proposed_at")
    list_filter = ("stage", "status")
    readonly_fields = ("stage", "name", "status", "effective_at", "proposed_by", "proposed_at")
    inlines = [DecisionInline]

    change_form_template = "admin/qualification/criteriaversion/change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _decided(obj):
            return (*self.readonly_fields, "reason", "definition")
        return DRAFT_READONLY

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _decided(obj):
            return (*self.readonly_fields, "reason", "definition")
        return ("criteria_stage", "criteria_name", "reason", *DRAFT_READONLY, "text")

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
        criteria = form.cleaned_data["criteria"]
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
