"""How a figure reads on screen (kpi-spec section 3): money `¥1,234,567`, rates `25.0%`,
days `12.5`, counts `1,200`, null as "-", never as 0; and how a change against a previous
value reads. The one formatter of the dashboard, the quarterly report (HTML, PDF, Excel),
the record pages and the `kpis` table; what a KPI *is* comes from the catalogue."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from funnel.metrics.catalogue import CATALOGUE, Unit, kpi, ordered

CURRENCY_SYMBOLS = {"JPY": "¥", "USD": "$", "EUR": "€"}
NULL = "-"
Number = int | float | Decimal | Fraction


class Kind(enum.StrEnum):
    """How a Figure reads: a KPI unit, or one of the derived readings."""

    COUNT = "count"
    MONEY = "money"
    RATE = "rate"
    DAYS = "days"
    EXPECTED = "expected"  # a count times an elapsed share: fractional, one decimal
    CHANGE = "change"  # a relative change, signed percent
    POINTS = "points"  # a change of a rate in percentage points (the value is in points)


def currency_symbol() -> str:
    return CURRENCY_SYMBOLS.get(settings.COMPANY_CURRENCY, settings.COMPANY_CURRENCY + " ")


def currency_places() -> int:
    return 0 if settings.COMPANY_CURRENCY == "JPY" else 2


def format_money(value: Any) -> str:
    if value is None:
        return NULL
    places = Decimal(1).scaleb(-currency_places())
    amount = Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)
    return f"{currency_symbol()}{amount:,}"


def _points(value: float) -> str:
    return gettext("%(points)s pt") % {"points": f"{value:+.1f}".replace("-", "−")}


def format_figure(value: Any, kind: Kind | Unit | str) -> str:
    """`value` read as `kind`; None is "-"."""
    if value is None:
        return NULL
    kind = Kind(kind)
    if kind is Kind.MONEY:
        return format_money(value)
    if kind is Kind.RATE:
        return f"{float(value) * 100:.1f}%"
    if kind in (Kind.DAYS, Kind.EXPECTED):
        return f"{float(value):,.1f}"
    if kind is Kind.CHANGE:
        return f"{float(value) * 100:+.1f}%".replace("-", "−")
    if kind is Kind.POINTS:
        return _points(float(value))
    return f"{int(value):,}"


def format_kpi(key: str, value: Any) -> str:
    return format_figure(value, kpi(key).unit)


def expected_kind(key: str) -> Kind:
    """Expected values (target x elapsed share) of additive counts are fractional; money
    keeps its format; a ratio's expected value is its target, read like the KPI."""
    entry = kpi(key)
    return Kind.EXPECTED if entry.additive and entry.unit is Unit.COUNT else Kind(entry.unit)


@dataclass(frozen=True)
class Figure:
    """A number with how it reads: pages show `text`, the workbook writes `value` with the
    number format of `kind`, so every page and export agrees."""

    value: Number | None
    kind: Kind

    @property
    def text(self) -> str:
        return format_figure(self.value, self.kind)

    def __str__(self) -> str:
        return self.text


def kpi_figure(key: str, value: Any) -> Figure:
    return Figure(value, Kind(kpi(key).unit))


@dataclass(frozen=True)
class Change:
    """A KPI against its previous value. Rates change in percentage points; counts, money
    and days by an amount and a relative change (null when the base is 0, like every ratio
    of the spec). `tone` says whether the move is good news, by the KPI's direction."""

    key: str
    delta: float
    relative: float | None

    @property
    def direction(self) -> str:
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "flat"

    @property
    def tone(self) -> str:
        if self.direction == "flat":
            return "flat"
        return "good" if (self.delta > 0) != kpi(self.key).lower_is_better else "bad"

    @property
    def sign(self) -> str:
        return "+" if self.delta > 0 else "−" if self.delta < 0 else "±"

    @property
    def figure(self) -> Figure:
        """The change as one figure: points for a rate, else the relative change."""
        if kpi(self.key).is_rate:
            return Figure(self.delta * 100, Kind.POINTS)
        return Figure(self.relative, Kind.CHANGE)

    @property
    def text(self) -> str:
        """Points for a rate; else the amount with the relative change: `+¥1,000 (+5.0%)`."""
        if kpi(self.key).is_rate:
            return self.figure.text
        text = self.sign + format_kpi(self.key, abs(self.delta))
        if self.relative is not None:
            text += f" ({self.sign}{abs(self.relative) * 100:.1f}%)"
        return text


def change(key: str, current: Any, previous: Any) -> Change | None:
    """None when either value is undefined."""
    if current is None or previous is None:
        return None
    delta = float(current) - float(previous)
    relative = delta / float(previous) if float(previous) else None
    return Change(key, delta, relative)


def change_figure(key: str, current: Any, previous: Any) -> Figure:
    """The change as a figure ("-" when undefined): the report's QoQ and YoY columns."""
    moved = change(key, current, previous)
    if moved is None:
        return Figure(None, Kind.POINTS if kpi(key).is_rate else Kind.CHANGE)
    return moved.figure


STATUS_LABELS: dict[str, Promise] = {"on_track": _("On track"), "behind": _("Behind")}


def status_label(status: str | None) -> str:
    """A tree node's or a target's status (spec section 5) in words; "" for none."""
    return str(STATUS_LABELS.get(status or "", ""))


def kpi_table_rows(snapshot: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) for every KPI of a JSON-ready snapshot, shared KPIs first."""
    kpis = snapshot["kpis"]
    return [
        (f"{CATALOGUE[key].label} ({key})", format_kpi(key, kpis.get(key)))
        for key in ordered(CATALOGUE)
    ]
