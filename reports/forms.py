"""Forms of the kpi_dashboard pages (validation only; writes go through services.py)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from reports.services import COMMENTARY_MAX_LENGTH


class CommentaryForm(forms.Form):
    text = forms.CharField(
        label=_("Commentary"),
        required=False,
        max_length=COMMENTARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
