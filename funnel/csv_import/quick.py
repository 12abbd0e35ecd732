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

from collections.abc import Callable, Sequence
from typing import Any

from funnel.csv_import.formats import ACTIVITY_TYPES, TEXT_LIMITS
from funnel.ingest.persons import disqualify_reason_code
from funnel.values import is_canonical_timestamp

QuickRow = Callable[[list[str], int], tuple[Any, ...] | None]


def _positions(header: Sequence[str], columns: Sequence[str]) -> list[int]:
    """Where each column is in a row; a column the file lacks points past its end, at the
    empty field `fields + [""]` adds (Row.text reads a missing column as empty)."""
    return [header.index(c) if c in header else len(header) for c in columns]


def quick_person(header: Sequence[str]) -> QuickRow:
    """StagedPersons.stage_row of formats._person's record (staging.PERSON_STAGE_COLUMNS)."""
    (ext, email, name, company, created, mql, sql, disqualified, reason, score, industry, size,
     owner, channel, campaign) = _positions(header, (
        "external_id", "email", "name", "company", "created_at", "mql_at", "sql_at",
        "disqualified_at", "disqualify_reason", "lead_score", "industry", "company_size",
        "owner", "channel", "campaign",
    ))  # fmt: skip
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
    ext, kind, occurred, person_ref, person_email, detail = _positions(
        header,
        ("external_id", "type", "occurred_at", "person_external_id", "person_email", "detail"),
    )
    ext_limit = TEXT_LIMITS["external_id"]
    ref_limit, email_limit = TEXT_LIMITS["person_external_id"], TEXT_LIMITS["person_email"]
    types = frozenset(ACTIVITY_TYPES)

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
