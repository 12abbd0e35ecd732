"""Filters that narrow the period KPIs (kpi-spec sections 3 and 5b): origin, channel,
campaign and person attributes. One definition serves persons, opportunities, activities
and costs, so every page and the API narrow the numbers the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from django.db.models import BigIntegerField, Case, CharField, F, OuterRef, Q, Subquery, When
from django.db.models.expressions import Expression

from funnel.choices import Origin
from funnel.models import Person

UNKNOWN = "unknown"
SEGMENT_FIELDS = ("industry", "company_size", "owner")


def opportunity_channel(attribute: str = "key") -> Expression:
    """An opportunity's channel (its `key`, `name` or `id`): its person's first touch; with
    no person, its own field.

    The person's channel is looked up per opportunity: a join lets PostgreSQL hash the
    whole person table to find the few thousand persons of a period's opportunities.
    """
    person_channel = Person.objects.filter(pk=OuterRef("person_id"))
    return Case(
        When(
            person__isnull=False,
            then=Subquery(person_channel.values(f"channel__{attribute}")[:1]),
        ),
        default=F(f"channel__{attribute}"),
        output_field=BigIntegerField() if attribute == "id" else CharField(),
    )


def opportunity_channel_key() -> Expression:
    return opportunity_channel("key")


@dataclass(frozen=True)
class KpiFilters:
    origin: str | None = None
    channel: str | None = None
    campaign: str | None = None
    industry: str | None = None
    company_size: str | None = None
    owner: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}

    @property
    def narrows_persons_only(self) -> bool:
        """Segment filters have no meaning for costs, which belong to channels."""
        return any(getattr(self, f) for f in (*SEGMENT_FIELDS, "campaign"))

    def persons(self, prefix: str = "") -> Q:
        q = Q()
        if self.origin == Origin.MARKETING:
            q &= Q(**{f"{prefix}channel__is_marketing": True})
        elif self.origin == Origin.SALES:
            q &= Q(**{f"{prefix}channel__isnull": True}) | Q(
                **{f"{prefix}channel__is_marketing": False}
            )
        if self.channel == UNKNOWN:
            q &= Q(**{f"{prefix}channel__isnull": True})
        elif self.channel:
            q &= Q(**{f"{prefix}channel__key": self.channel})
        if self.campaign:
            q &= Q(**{f"{prefix}campaign__key": self.campaign})
        for field in SEGMENT_FIELDS:
            if value := getattr(self, field):
                q &= Q(**{f"{prefix}{field}": value})
        return q

    def opportunities(self) -> Q:
        if not self.as_dict():
            return Q()
        with_person = Q(person__isnull=False) & self.persons("person__")
        if self.narrows_persons_only:
            return with_person
        own = KpiFilters(origin=self.origin, channel=self.channel).persons()
        return with_person | (Q(person__isnull=True) & own)

    def activities(self) -> Q:
        if not self.as_dict():
            return Q()
        return Q(person__isnull=False) & self.persons("person__")

    def costs(self) -> Q:
        q = KpiFilters(origin=self.origin, channel=self.channel).persons()
        return q if self.channel != UNKNOWN else Q(pk__in=[])


FILTER_PARAMS = ("origin", "channel", "campaign", *SEGMENT_FIELDS)


def filters_from_params(params: Mapping[str, str]) -> KpiFilters:
    """KpiFilters from URL query parameters (the same names everywhere: page, API, report)."""
    values = {name: (params.get(name) or "").strip() or None for name in FILTER_PARAMS}
    origin = values["origin"]
    if origin and origin not in Origin.values:
        raise ValueError(f"origin must be one of {', '.join(Origin.values)}, not '{origin}'")
    return KpiFilters(**values)
