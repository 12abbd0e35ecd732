"""Rows in the usual shape, straight to the COPY row of a staged load.

A staged row normally goes fields → `Row` → record (formats.py) → `stage_row` (staging.py):
at millions of rows those objects, and writing each datetime back as text, were most of an
import's Python time. Nearly every row of a real export is in the usual shape (text within
its limit, `2026-05-10T09:30:00Z` or `…+09:00` timestamps, whole-number scores), and for
such a row the COPY row is built from the fields directly: timestamps travel as the file
wrote them (PostgreSQL reads the same instant), scores as their digits.

The rules stay in formats.py: a quick builder only recognises rows the full path accepts
as they are, and gives None for anything else (a missing value, another timestamp shape, a
text over its limit, an unknown type...), which then takes the full path with its
messages. tests/funnel/test_quick_rows.py holds each builder to the full path's row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from funnel.csv_import.formats import ACTIVITY_TYPES, TEXT_LIMITS
from funnel.ingest.bulk import csv_text, needs_no_quoting
from funnel.ingest.persons import disqualify_reason_code
from funnel.values import all_canonical_timestamps, is_canonical_timestamp

QuickRow = Callable[[list[str], int], tuple[Any, ...] | None]
# A batch's rows (lists of the header's width), their row numbers and the external ids the
# file had before them: the batch's COPY text and its external ids, or None when any row is
# not quick or repeats an external id (the caller then takes its rows one by one).
QuickBatch = Callable[[list[list[str]], list[int], dict[Any, int]], tuple[str, list[str]] | None]


def _positions(header: Sequence[str], columns: Sequence[str]) -> list[int]:
    """Where each column is in a row; a column the file lacks points past its end, at the
    empty field `fields + [""]` adds (Row.text reads a missing column as empty)."""
    return [header.index(c) if c in header else len(header) for c in columns]


# The columns a quick builder reads, in the order it unpacks their positions.
_PERSON_COLUMNS = (
    "external_id", "email", "name", "company", "created_at", "mql_at", "sql_at",
    "disqualified_at", "disqualify_reason", "lead_score", "industry", "company_size", "owner",
    "channel", "campaign",
)  # fmt: skip
_ACTIVITY_COLUMNS = (
    "external_id", "type", "occurred_at", "person_external_id", "person_email", "detail",
)  # fmt: skip
_ACTIVITY_LIMITS = (
    TEXT_LIMITS["external_id"],
    TEXT_LIMITS["person_external_id"],
    TEXT_LIMITS["person_email"],
    frozenset(ACTIVITY_TYPES),
)


def quick_person(header: Sequence[str]) -> QuickRow:
    """StagedPersons.stage_row of formats._person's record (staging.PERSON_STAGE_COLUMNS)."""
    (ext, email, name, company, created, mql, sql, disqualified, reason, score, industry, size,
     owner, channel, campaign) = _positions(header, _PERSON_COLUMNS)  # fmt: skip
    limits = TEXT_LIMITS
    ext_limit, email_limit, name_limit = limits["external_id"], limits["email"], limits["name"]
    company_limit, reason_limit = limits["company"], limits["disqualify_reason"]
    industry_limit, size_limit, owner_limit = (
        limits[c] for c in ("industry", "company_size", "owner")
    )
    channel_limit, campaign_limit = limits["channel"], limits["campaign"]

    def build(fields: list[str], seq: int) -> tuple[Any, ...] | None:
        f = [*fields, ""]
        external_id, address = f[ext].strip(), f[email].strip()
        person_name, company_name = f[name], f[company]
        created_at, mql_at, sql_at = f[created].strip(), f[mql].strip(), f[sql].strip()
        disqualified_at, reason_text = f[disqualified].strip(), f[reason].strip()
        lead_score = f[score].strip()
        industry_name, size_band, owner_name = (
            f[industry].strip(),
            f[size].strip(),
            f[owner].strip(),
        )
        channel_key, campaign_key = f[channel].strip(), f[campaign].strip()
        if (
            not external_id
            or len(external_id) > ext_limit
            or len(address) > email_limit
            or len(person_name) > name_limit
            or len(company_name) > company_limit
            or len(reason_text) > reason_limit
            or len(industry_name) > industry_limit
            or len(size_band) > size_limit
            or len(owner_name) > owner_limit
            or len(channel_key) > channel_limit
            or len(campaign_key) > campaign_limit
            or not is_canonical_timestamp(created_at)
            or (mql_at and not is_canonical_timestamp(mql_at))
            or (sql_at and not is_canonical_timestamp(sql_at))
            or (disqualified_at and not is_canonical_timestamp(disqualified_at))
            or (lead_score and not (len(lead_score) <= 9 and lead_score.isascii()
                                    and lead_score.isdigit()))
        ):  # fmt: skip
            return None
        return (
            seq,
            external_id,
            address,
            address.lower(),
            person_name,
            company_name,
            created_at,
            mql_at or None,
            sql_at or None,
            disqualified_at or None,
            disqualify_reason_code(reason_text),
            reason_text,
            lead_score or None,
            industry_name,
            size_band,
            owner_name,
            channel_key,
            campaign_key,
        )

    return build


def quick_activity(header: Sequence[str]) -> QuickRow:
    """StagedActivities.stage_row of formats._activity's record (ACTIVITY_STAGE_COLUMNS)."""
    ext, kind, occurred, person_ref, person_email, detail = _positions(header, _ACTIVITY_COLUMNS)
    ext_limit, ref_limit, email_limit, types = _ACTIVITY_LIMITS

    def build(fields: list[str], seq: int) -> tuple[Any, ...] | None:
        f = [*fields, ""]
        external_id, activity_type = f[ext].strip(), f[kind].strip()
        moment, reference = f[occurred].strip(), f[person_ref].strip()
        address = f[person_email].strip()
        if (
            not external_id
            or len(external_id) > ext_limit
            or activity_type not in types
            or not moment
            or not is_canonical_timestamp(moment)
            or len(reference) > ref_limit
            or len(address) > email_limit
        ):
            return None
        return (seq, external_id, reference, address.lower(), activity_type, moment, f[detail])

    return build


QUICK_ROWS: dict[str, Callable[[Sequence[str]], QuickRow]] = {
    "persons": quick_person,
    "activities": quick_activity,
}


# The quick builders above, a column at a time: the same checks and the same COPY text for a
# batch whose rows are all quick, with the per-value work done by C loops (map over a column,
# one match over a column's timestamps) instead of Python code a row; a row of the persons'
# file took 6 µs of checks and 1.5 µs of joining.


class _Columns:
    """The columns of a batch of rows; a column the file lacks is empty (as Row.text reads
    it)."""

    def __init__(self, rows: list[list[str]], width: int) -> None:
        self.columns = list(zip(*rows, strict=True))
        self.empty = ("",) * len(rows)
        self.width = width

    def raw(self, position: int) -> Sequence[str]:
        return self.columns[position] if position < self.width else self.empty

    def stripped(self, position: int) -> list[str]:
        return list(map(str.strip, self.raw(position)))

    def new_ids(self, position: int, limit: int, seen: dict[Any, int]) -> list[str] | None:
        """The external ids (stripped) when every one is given, within `limit`, and none
        comes twice or was in the file before (`seen`)."""
        ids = self.stripped(position)
        if (
            all(ids)
            and _within(ids, limit)
            and len(set(ids)) == len(ids)
            and seen.keys().isdisjoint(ids)
        ):
            return ids
        return None


def _within(values: Sequence[str], limit: int) -> bool:
    return not values or max(map(len, values)) <= limit


def _optional_timestamps(values: Sequence[str]) -> bool:
    return all_canonical_timestamps(list(filter(None, values)))


def _text(columns: Sequence[Sequence[str]]) -> str:
    """csv_text of the rows these columns make (an empty value and None read the same)."""
    text = "\r\n".join(map(",".join, zip(*columns, strict=True)))
    if needs_no_quoting(text, len(columns[0]), len(columns)):
        return text + "\r\n"
    return csv_text(list(zip(*columns, strict=True)))  # some value needs quoting


def _seqs(numbers: list[int]) -> list[str]:
    return [str(number - 2) for number in numbers]


@functools.lru_cache(maxsize=1024)
def _reason_code(text: str) -> str:
    return disqualify_reason_code(text)


# A kind's columns after seq and external_id, for a batch whose ids are new: None when a
# row is not quick.
_BatchColumns = Callable[[_Columns], tuple[Sequence[str], ...] | None]


def _batch_builder(header: Sequence[str], rest: _BatchColumns) -> QuickBatch:
    """A QuickBatch whose COPY rows are seq, external_id (given, within its limit, new to
    the file) and the `rest` of the kind's columns."""
    (ext,) = _positions(header, ("external_id",))
    ext_limit, width = TEXT_LIMITS["external_id"], len(header)

    def build(
        rows: list[list[str]], numbers: list[int], seen: dict[Any, int]
    ) -> tuple[str, list[str]] | None:
        columns = _Columns(rows, width)
        ids = columns.new_ids(ext, ext_limit, seen)
        others = rest(columns) if ids is not None else None
        if ids is None or others is None:
            return None
        return _text((_seqs(numbers), ids, *others)), ids

    return build


def quick_person_batch(header: Sequence[str]) -> QuickBatch:
    """quick_person for a batch (the columns of staging.PERSON_STAGE_COLUMNS)."""
    (_, email, name, company, created, mql, sql, disqualified, reason, score, industry, size,
     owner, channel, campaign) = _positions(header, _PERSON_COLUMNS)  # fmt: skip
    limited = [
        (position, TEXT_LIMITS[column])
        for position, column in (
            (email, "email"),
            (reason, "disqualify_reason"),
            (industry, "industry"),
            (size, "company_size"),
            (owner, "owner"),
            (channel, "channel"),
            (campaign, "campaign"),
        )
    ]
    name_limit, company_limit = TEXT_LIMITS["name"], TEXT_LIMITS["company"]

    def rest(columns: _Columns) -> tuple[Sequence[str], ...] | None:
        texts = {position: columns.stripped(position) for position, _ in limited}
        if not all(_within(texts[position], limit) for position, limit in limited):
            return None
        names, companies = columns.raw(name), columns.raw(company)
        if not (_within(names, name_limit) and _within(companies, company_limit)):
            return None
        moments = [columns.stripped(p) for p in (created, mql, sql, disqualified)]
        if not (
            all(moments[0])
            and all_canonical_timestamps(moments[0])
            and all(_optional_timestamps(m) for m in moments[1:])
        ):
            return None
        scores = columns.stripped(score)
        digits = "".join(scores)
        if digits and not (_within(scores, 9) and digits.isascii() and digits.isdigit()):
            return None
        addresses, reasons = texts[email], texts[reason]
        return (
            addresses,
            list(map(str.lower, addresses)),
            names,
            companies,
            *moments,
            list(map(_reason_code, reasons)),
            reasons,
            scores,
            texts[industry],
            texts[size],
            texts[owner],
            texts[channel],
            texts[campaign],
        )

    return _batch_builder(header, rest)


def quick_activity_batch(header: Sequence[str]) -> QuickBatch:
    """quick_activity for a batch (staging.ACTIVITY_STAGE_COLUMNS)."""
    _, kind, occurred, person_ref, person_email, detail = _positions(header, _ACTIVITY_COLUMNS)
    _, ref_limit, email_limit, types = _ACTIVITY_LIMITS

    def rest(columns: _Columns) -> tuple[Sequence[str], ...] | None:
        kinds = columns.stripped(kind)
        moments = columns.stripped(occurred)
        references, addresses = columns.stripped(person_ref), columns.stripped(person_email)
        if not (
            types.issuperset(kinds)
            and all(moments)
            and all_canonical_timestamps(moments)
            and _within(references, ref_limit)
            and _within(addresses, email_limit)
        ):
            return None
        return (
            references,
            list(map(str.lower, addresses)),
            kinds,
            moments,
            columns.raw(detail),
        )

    return _batch_builder(header, rest)


QUICK_BATCHES: dict[str, Callable[[Sequence[str]], QuickBatch]] = {
    "persons": quick_person_batch,
    "activities": quick_activity_batch,
}
