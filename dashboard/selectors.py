"""What the pages read besides the KPI snapshot: the values the filter forms offer, and
whether there is any data at all. Presenters take these as plain data and run no query."""

from __future__ import annotations

import re
from dataclasses import dataclass

from funnel.metrics.filters import SEGMENT_FIELDS
from funnel.metrics.kept import kept
from funnel.models import Channel, Opportunity, Person

_LEADING_NUMBER = re.compile(r"^\D*(\d+)")


def _natural(value: str) -> tuple[int, str]:
    """Size bands in their order (1-49, 50-299, 300+), other text alphabetically."""
    match = _LEADING_NUMBER.match(value)
    return (int(match[1]) if match else 1 << 30, value)


@dataclass(frozen=True)
class FilterChoices:
    """Channels (key -> display name) and the segment values present in the data."""

    channels: dict[str, str]
    industries: list[str]
    company_sizes: list[str]
    owners: list[str]


def channel_names() -> dict[str, str]:
    return {key: name or key for key, name in Channel.objects.values_list("key", "name")}


@kept
def filter_choices() -> FilterChoices:
    persons = Person.objects.order_by()

    def distinct(field: str) -> list[str]:
        assert field in SEGMENT_FIELDS, field
        values = persons.exclude(**{field: ""}).values_list(field, flat=True).distinct()
        return sorted(values, key=_natural)

    return FilterChoices(
        channels=channel_names(),
        industries=distinct("industry"),
        company_sizes=distinct("company_size"),
        owners=distinct("owner"),
    )


def has_data() -> bool:
    return Person.objects.exists() or Opportunity.objects.exists()
