"""Vendor values -> canonical values, the same for every connector (docs/connectors.md
section 2, "Values" and "Channels", and the lookup tables of section 7). Each vendor's
mapping reads its own field names and hands the raw text here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from funnel.periods import company_tz

_EPOCH_MS = re.compile(r"^\d{10,14}$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_CJK_START = 0x2E80  # a name with a character from here on reads family name first


class RejectedRecord(ValueError):
    """One vendor record that cannot become a canonical one: the message names the object,
    its id and the field. The record is counted `rejected`; the rest of the page goes on."""


def instant(raw: str) -> dt.datetime:
    """A vendor's date or time: ISO 8601 with `Z`, `+0000` or `+09:00` and optional
    milliseconds, epoch milliseconds, or a date alone (00:00 company time)."""
    raw = raw.strip()
    if _EPOCH_MS.match(raw):
        return dt.datetime.fromtimestamp(int(raw) / 1000, tz=dt.UTC)
    if len(raw) == 10:
        day = dt.date.fromisoformat(raw)
        return dt.datetime.combine(day, dt.time(), tzinfo=company_tz())
    moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=company_tz())
    return moment


def moment(raw: str, what: str) -> dt.datetime | None:
    """A date or time of a vendor record (`instant`); empty is None; anything else rejects
    the record, `what` naming object, id and field."""
    raw = str(raw).strip()
    if not raw:
        return None
    try:
        return instant(raw)
    except ValueError:
        raise RejectedRecord(f"{what}: '{raw[:40]}' is not a date or time") from None


def display_name(first: str, last: str) -> str:
    """`first last`; `last first` when either has a character >= U+2E80 (Japanese)."""
    first, last = first.strip(), last.strip()
    japanese = any(ord(ch) >= _CJK_START for ch in first + last)
    parts = (last, first) if japanese else (first, last)
    return " ".join(part for part in parts if part)


def family_first(first: str, last: str) -> str:
    """`last first` (Marketo's and Account Engagement's name column)."""
    return " ".join(part for part in (last.strip(), first.strip()) if part)


def size_band(employees: str) -> str:
    """Under 50: 1-49; under 300: 50-299; else 300+; no number, no band (section 2)."""
    try:
        count = int(Decimal(str(employees).replace(",", "").strip()))
    except (InvalidOperation, ValueError):
        return ""
    if count < 1:
        return ""
    return "1-49" if count < 50 else "50-299" if count < 300 else "300+"


def slug(value: str) -> str:
    """Lower case, runs of non-alphanumerics as `_` (a value missing from a lookup table)."""
    return _NOT_ALNUM.sub("_", value.strip().lower()).strip("_")


def looked_up(value: str, table: Mapping[str, str]) -> str:
    """The table's entry for `value`; else its slug; empty gives empty."""
    value = value.strip()
    if not value:
        return ""
    return table.get(value) or slug(value)


def whole_number(raw: str, what: str) -> int | None:
    """A score or count sent as text or number; empty is None."""
    raw = str(raw).strip()
    if not raw:
        return None
    try:
        return int(Decimal(raw))
    except InvalidOperation:
        raise RejectedRecord(f"{what}: '{raw[:40]}' is not a number") from None


def yen(raw: str, what: str) -> Decimal:
    """An amount; empty is 0; a negative or non-number amount rejects the record."""
    raw = str(raw).strip()
    try:
        amount = Decimal(raw) if raw else Decimal(0)
    except InvalidOperation:
        raise RejectedRecord(f"{what}: '{raw[:40]}' is not a number") from None
    if amount < 0:
        raise RejectedRecord(f"{what}: {raw} is negative")
    return amount
