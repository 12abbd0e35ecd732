"""The CSV upload form: files, the source they land under, and optionally their kind."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from funnel.csv_import.formats import KINDS
from funnel.ingest.lookups import ReservedSource, check_source_name
from funnel.models import Source
from integrations.uploads import safe_name

SOURCE_MAX_LENGTH = Source._meta.get_field("name").max_length or 100
SNIFF_BYTES = 8192


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,text/csv"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple) and data:
            return [single(item, initial) for item in data]
        if isinstance(data, list | tuple):
            data = None  # none chosen: "This field is required."
        return [single(data, initial)]


class UploadForm(forms.Form):
    csv_files = MultipleFileField(label=gettext_lazy("CSV files"))
    source = forms.CharField(
        label=gettext_lazy("Source"),
        max_length=SOURCE_MAX_LENGTH,
        help_text=gettext_lazy(
            "The system the records come from (e.g. hubspot, salesforce): records of one "
            "source are matched by their ids."
        ),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of every file"),
        required=False,
        choices=[("", gettext_lazy("From each file's name (persons.csv, …)"))]
        + [(kind, kind) for kind in KINDS],
    )

    def clean_source(self) -> str:
        source = str(self.cleaned_data["source"]).strip()
        try:
            check_source_name(source)
        except ReservedSource as exc:
            raise forms.ValidationError(str(exc)) from None
        if "\x00" in source:
            raise forms.ValidationError(_("The source name holds a character that is not allowed."))
        return source

    def clean_csv_files(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["csv_files"]
        if len(files) > settings.CSV_UPLOAD_MAX_FILES:
            raise forms.ValidationError(
                _("At most %(count)d files at once.") % {"count": settings.CSV_UPLOAD_MAX_FILES}
            )
        names: set[str] = set()
        for uploaded in files:
            name = safe_name(uploaded.name or "")
            if not name.lower().endswith(".csv"):
                raise forms.ValidationError(
                    _("%(name)s: only .csv files can be imported.") % {"name": name}
                )
            if name in names:
                raise forms.ValidationError(
                    _("%(name)s: two files have this name.") % {"name": name}
                )
            names.add(name)
            if uploaded.size and uploaded.size > settings.CSV_UPLOAD_MAX_BYTES:
                raise forms.ValidationError(
                    _("%(name)s: %(size)s MB; at most %(limit)s MB per file.")
                    % {
                        "name": name,
                        "size": f"{uploaded.size / 1048576:,.1f}",
                        "limit": f"{settings.CSV_UPLOAD_MAX_BYTES / 1048576:,.0f}",
                    }
                )
            head = uploaded.read(SNIFF_BYTES)
            uploaded.seek(0)
            if not head.strip():
                raise forms.ValidationError(_("%(name)s: the file is empty.") % {"name": name})
            if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise forms.ValidationError(
                    _("%(name)s: this is not a CSV text file.") % {"name": name}
                )
        return files
