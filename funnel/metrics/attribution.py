"""Won amount attributed to channels by four models (the alignment issue: first touch, last
touch, U-shaped, W-shaped), over the touches of each won deal's primary person.

A **touch** is one of the person's source records that carries a channel (an MA lead from
a webinar, an SFA lead from a partner, ...), at the record's creation time; only touches at
or before the opportunity's creation count (all of them when none is that early: a record
synced later than the deal was made). Positions:

- first touch: the earliest touch of all (the person's first-touch channel of spec
  section 2, so this model gives the channel table's won amount);
- lead creation: the touch created at the person's `lead_at` (usually the first touch);
- opportunity creation (last touch): the latest touch at or before the deal's creation.

Models (shares of the deal's amount): **first touch** 100% to the first touch; **last
touch** 100% to the opportunity-creation touch; **U-shaped** 40% first, 40% last, 20% spread
evenly over the touches between them; **W-shaped** 30% first, 30% lead creation, 30%
opportunity creation, 10% spread evenly over the other touches. Positions that fall on one
touch add up there; a share with no touch to spread over goes to the positioned touches in
equal parts. A deal whose person has no touch (or has no person) goes 100% to the deal's own
channel (`unknown` without one). Shares are exact fractions; each deal's yen are rounded
by the largest remainder, so a deal's parts add up to its amount to the yen.

The deals are those of `won_deals` in the window (closed won in the period, by as_of).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from funnel.ingest.batches import chunks
from funnel.metrics.counts import opportunity_count_filters
from funnel.metrics.filters import UNKNOWN, KpiFilters, opportunity_channel_key
from funnel.metrics.kept import kept
from funnel.metrics.window import Window, opportunity_rows
from funnel.models import SourcePerson

MODELS = ("first_touch", "last_touch", "u_shaped", "w_shaped")


@dataclass(frozen=True)
class Touch:
    at: Any  # datetime
    channel: str


def shares(model: str, touches: Sequence[Touch], lead_at: Any) -> dict[int, Fraction]:
    """Each touch's share (by index in `touches`, oldest first) under `model`."""
    if not touches:
        return {}
    first, last = 0, len(touches) - 1
    lead = next((i for i, t in enumerate(touches) if t.at == lead_at), first)
    if model == "first_touch":
        return {first: Fraction(1)}
    if model == "last_touch":
        return {last: Fraction(1)}
    if model == "u_shaped":
        return _positioned({first: Fraction(2, 5), last: Fraction(2, 5)}, Fraction(1, 5), touches)
    if model == "w_shaped":
        fixed: dict[int, Fraction] = defaultdict(Fraction)
        for index in (first, lead, last):
            fixed[index] += Fraction(3, 10)
        return _positioned(dict(fixed), Fraction(1, 10), touches)
    raise ValueError(f"model: one of {', '.join(MODELS)}")


def _positioned(
    fixed: dict[int, Fraction], spread: Fraction, touches: Sequence[Touch]
) -> dict[int, Fraction]:
    """`fixed` shares plus `spread` evenly over the other touches (or over the positioned
    touches when there is no other one)."""
    result = dict(fixed)
    if len(touches) == 1:
        return {0: Fraction(1)}
    others = [i for i in range(len(touches)) if i not in fixed]
    targets = others or sorted(fixed)
    for index in targets:
        result[index] = result.get(index, Fraction(0)) + spread / len(targets)
    return result


def split_yen(amount: Decimal, parts: dict[str, Fraction]) -> dict[str, int]:
    """`amount` (whole yen) split by `parts` (summing to 1), rounded by the largest
    remainder so the parts add up to the amount exactly."""
    total = int(amount)
    exact = {key: Fraction(total) * share for key, share in parts.items()}
    floors = {key: math.floor(value) for key, value in exact.items()}
    left = total - sum(floors.values())
    by_remainder = sorted(exact, key=lambda k: (-(exact[k] - floors[k]), k))
    for key in by_remainder[:left]:
        floors[key] += 1
    return floors


@kept
def attributed_won_amount(window: Window, filters: KpiFilters) -> dict[str, dict[str, int]]:
    """{model: {channel key: yen}} over the window's won deals."""
    won = (
        opportunity_rows(window, filters)
        .filter(opportunity_count_filters(window)["won_deals"])
        .annotate(channel_key=opportunity_channel_key())
        .values_list("pk", "person_id", "person__lead_at", "created_at", "amount", "channel_key")
    )
    deals = list(won)
    touches = _touches(pid for _, pid, *_rest in deals if pid is not None)
    result: dict[str, dict[str, int]] = {model: defaultdict(int) for model in MODELS}
    for _pk, person_id, lead_at, created_at, amount, own_channel in deals:
        every = touches.get(person_id, [])
        before = [t for t in every if t.at <= created_at] or every
        for model in MODELS:
            considered = every if model == "first_touch" else before
            parts: dict[str, Fraction] = defaultdict(Fraction)
            for index, share in shares(model, considered, lead_at).items():
                parts[considered[index].channel] += share
            if not parts:
                parts[own_channel or UNKNOWN] = Fraction(1)
            for channel, yen in split_yen(amount or Decimal(0), parts).items():
                result[model][channel] += yen
    return {model: dict(by_channel) for model, by_channel in result.items()}


def _touches(person_ids: Iterable[int]) -> dict[int, list[Touch]]:
    found: dict[int, list[Touch]] = defaultdict(list)
    for chunk in chunks(sorted(set(person_ids)), 5000):
        for person_id, at, channel in (
            SourcePerson.objects.filter(person_id__in=chunk, channel__isnull=False)
            .order_by("person_id", "created_at", "source__name", "external_id")
            .values_list("person_id", "created_at", "channel__key")
        ):
            found[person_id].append(Touch(at, channel))
    return found
