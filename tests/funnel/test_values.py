"""funnel/values.py: every rule of kpi-spec section 6, "Values, precisely" (never guess)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnel import values
from funnel.values import (
    BadValue,
    parse_decimal,
    parse_int,
    parse_money,
    parse_month_or_day,
    parse_timestamp,
)

JST = ZoneInfo("Asia/Tokyo")
UTC = dt.UTC


def test_it_reads_z_as_utc() -> None:
    parsed = parse_timestamp("2026-05-10T00:30:00Z")
    assert parsed == dt.datetime(2026, 5, 10, 0, 30, tzinfo=UTC)
    assert parsed.utcoffset() == dt.timedelta(0)


def test_it_reads_an_explicit_offset() -> None:
    parsed = parse_timestamp("2026-05-10T09:30:00+09:00")
    assert parsed == dt.datetime(2026, 5, 10, 0, 30, tzinfo=UTC)
    assert parsed.utcoffset() == dt.timedelta(hours=9)


def test_it_reads_a_negative_offset() -> None:
    assert parse_timestamp("2026-05-09T19:30:00-05:00") == dt.datetime(
        2026, 5, 10, 0, 30, tzinfo=UTC
    )


def test_it_reads_a_timestamp_without_zone_as_company_time() -> None:
    parsed = parse_timestamp("2026-05-10T09:30:00")
    assert parsed.tzinfo is not None
    assert parsed == dt.datetime(2026, 5, 10, 9, 30, tzinfo=JST)
    assert parsed == dt.datetime(2026, 5, 10, 0, 30, tzinfo=UTC)


def test_it_reads_a_space_instead_of_t_without_zone_as_company_time() -> None:
    assert parse_timestamp("2026-05-10 09:30:00") == dt.datetime(2026, 5, 10, 9, 30, tzinfo=JST)


def test_it_reads_fractional_seconds() -> None:
    parsed = parse_timestamp("2026-05-10T09:30:00.123456+09:00")
    assert parsed == dt.datetime(2026, 5, 10, 0, 30, 0, 123456, tzinfo=UTC)
    assert parse_timestamp("2026-05-10T00:30:00.5Z").microsecond == 500000


def test_it_reads_a_date_alone_as_midnight_company_time() -> None:
    parsed = parse_timestamp("2026-05-10")
    assert parsed == dt.datetime(2026, 5, 10, 0, 0, tzinfo=JST)
    assert parsed == dt.datetime(2026, 5, 9, 15, 0, tzinfo=UTC)


def test_it_keeps_jst_midnight_on_the_right_side_of_a_quarter_boundary() -> None:
    last_second = parse_timestamp("2026-06-30T23:59:59+09:00")
    first_moment = parse_timestamp("2026-06-30T15:00:00Z")
    assert last_second < first_moment
    assert first_moment == dt.datetime(2026, 7, 1, 0, 0, tzinfo=JST)


def test_it_accepts_an_offset_just_under_24_hours() -> None:
    parsed = parse_timestamp("2026-05-10T23:59:00+23:59")
    assert parsed == dt.datetime(2026, 5, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-05-10T23:59:00+16:00", "2026-05-10T23:59:00-23:59"])
def test_an_offset_the_database_cannot_take_is_kept_as_its_utc_instant(text: str) -> None:
    # PostgreSQL refuses offsets beyond ±15:59: kept with its offset, the import crashed in
    # COPY. The spec accepts offsets under 24 h, so the instant is kept, in UTC.
    parsed = parse_timestamp(text)
    assert parsed == dt.datetime.fromisoformat(text)
    assert parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("text", ["2026-05-10T23:59:00+24:00", "2026-05-10T23:59:00+09:60"])
def test_an_offset_of_24_hours_or_more_is_a_bad_value(text: str) -> None:
    with pytest.raises(BadValue, match="out of range"):
        parse_timestamp(text)


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+09:00", "0001-01-01"]
)
def test_a_moment_outside_the_calendar_in_utc_is_a_bad_value(text: str) -> None:
    # Stored, it could not be read back into Python (year 0 or 10000 once in UTC).
    with pytest.raises(BadValue, match="outside the calendar"):
        parse_timestamp(text)


@pytest.mark.parametrize(
    "text",
    [
        "04/05/2026",
        "2026/05/10",
        "10.05.2026",
        "45123",
        "45123.5",
        "2026-02-30",
        "2026-02-30T10:00:00",
        "2026-13-01",
        "2026-05-10T25:00:00",
        "2026-05-10T09:30:00+24:00",
        "2026-05-10T09:30:00+25:00",
        "2026-05-10T09:30:00-24:00",
        "2026-05-10T09:30:00+09:60",
        "yesterday",
        "n/a",
        "TBD",
        "2026年5月10日",
        "May 10, 2026",
    ],
)
def test_it_rejects_a_bad_timestamp(text: str) -> None:
    with pytest.raises(BadValue) as raised:
        parse_timestamp(text)
    assert text in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200000", Decimal("1200000")),
        ("1,200,000", Decimal("1200000")),
        ("¥1,200,000", Decimal("1200000")),
        ("￥1,200,000", Decimal("1200000")),
        ("1,200,000円", Decimal("1200000")),
        ("￥1200000円", Decimal("1200000")),
        ("0", Decimal("0")),
        ("1234.5", Decimal("1234.5")),
        (" 500 ", Decimal("500")),
    ],
)
def test_it_reads_money(text: str, expected: Decimal) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "-1",
        "-1,200,000",
        "¥-500",
        "30M",
        "n/a",
        "1,20,0",
        "1,2000",
        "12,00",
        "1.200.000",
        "$1200",
        "1200 USD",
        "1e6",
        "",
        "¥",
        "円",
    ],
)
def test_it_rejects_bad_money(text: str) -> None:
    with pytest.raises(BadValue):
        parse_money(text)


def test_it_names_the_value_in_a_money_error() -> None:
    with pytest.raises(BadValue) as raised:
        parse_money("30M")
    assert "30M" in str(raised.value)


def test_it_reads_plain_decimals_and_rejects_the_rest() -> None:
    assert parse_decimal("120") == Decimal("120")
    assert parse_decimal("0.25") == Decimal("0.25")
    for text in ("-1", "1,200", "abc", "25%"):
        with pytest.raises(BadValue):
            parse_decimal(text)


def test_it_reads_whole_numbers_only() -> None:
    assert parse_int("82") == 82
    for text in ("82.5", "high", "8 2"):
        with pytest.raises(BadValue):
            parse_int(text)


def test_it_dates_a_month_on_its_first_day() -> None:
    assert parse_month_or_day("2026-05") == dt.date(2026, 5, 1)
    assert parse_month_or_day("2026-05-10") == dt.date(2026, 5, 10)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-02-30", "05/2026", "May 2026", ""])
def test_it_rejects_a_month_or_day_that_does_not_exist(text: str) -> None:
    with pytest.raises(BadValue):
        parse_month_or_day(text)


TIMESTAMPS = [
    "2026-05-10T09:30:00Z",
    "2026-05-10T09:30:00+09:00",
    "2026-05-10T09:30:00-03:30",
    "2026-05-10T09:30:00+23:59",
    "2026-05-10T09:30:00+24:00",
    "2026-05-10T09:30:00+09:60",
    "2026-05-10T24:00:00Z",
    "2026-05-10T09:30:60Z",
    "2026-02-30T09:30:00Z",
    "2026-13-10T09:30:00Z",
    "2026-05-10 09:30:00+09:00",
    "2026-05-10T09:30:00+0900",
    "2026-05-10T09:30:00z",
    "２０２６-05-10T09:30:00Z",
    "2026-05-10T09:30:00+09:0a",
]


def _outcome(text: str) -> object:
    try:
        value = parse_timestamp(text)
    except BadValue as exc:
        return str(exc)
    return (value, value.utcoffset())


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_the_fast_path_for_export_timestamps_changes_no_outcome(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = _outcome(text)
    monkeypatch.setattr(values, "canonical_timestamp", lambda value: None)
    assert fast == _outcome(text)


@given(
    moment=st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2090, 1, 1)),
    offset=st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
def test_canonical_timestamps_keep_their_instant_and_offset(
    moment: dt.datetime, offset: int
) -> None:
    zone = dt.timezone(dt.timedelta(minutes=offset))
    aware = moment.replace(microsecond=0, tzinfo=zone)
    for text in (aware.isoformat(), aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")):
        parsed = parse_timestamp(text)
        assert parsed == aware
        assert values.canonical_timestamp(text) in (None, parsed)  # None beyond ±15:59


# Strings near the canonical shape: every digit position may hold any digit, and the zone
# any offset or a few wrong shapes.
_NEAR_CANONICAL = st.builds(
    lambda year, month, day, hour, minute, second, zone, sep: (
        f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{zone}"
    ),
    st.sampled_from([0, 1, 2, 1999, 2024, 2026, 2100, 9998, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.one_of(
        st.sampled_from(["Z", "z", "", "+09", "+0900", " Z"]),
        st.builds(
            lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
            st.sampled_from("+-"),
            st.integers(0, 30),
            st.integers(0, 61),
        ),
    ),
    st.sampled_from(["T", " ", "t"]),
)


def _taken_as_is(text: str) -> bool:
    """An oracle written apart from the product: the usual shape with whatever digits (an
    offset's minutes under 60), away from years 0000, 0001 and 9999, that Python reads as
    a datetime with an offset PostgreSQL stores as it is (under 16 h)."""
    shape = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:[0-5]\d)"
    if not re.fullmatch(shape, text, re.ASCII) or text[:4] in ("0000", "0001", "9999"):
        return False
    try:
        offset = dt.datetime.fromisoformat(text).utcoffset()
    except ValueError:
        return False
    return offset is not None and abs(offset) < dt.timedelta(hours=16)


@given(_NEAR_CANONICAL)
def test_the_quick_check_agrees_with_the_canonical_parser(text: str) -> None:
    assert values.is_canonical_timestamp(text) == _taken_as_is(text)


@given(st.lists(st.one_of(_NEAR_CANONICAL, st.sampled_from(TIMESTAMPS)), max_size=6))
def test_a_column_is_canonical_when_each_of_its_values_is(texts: list[str]) -> None:
    assert values.all_canonical_timestamps(texts) == all(map(values.is_canonical_timestamp, texts))


def test_a_value_holding_a_line_end_is_not_two_canonical_ones() -> None:
    two = "2026-05-10T09:30:00Z\n2026-05-10T09:30:00Z"
    assert not values.all_canonical_timestamps([two])
    assert not values.all_canonical_timestamps(["2026-05-10T09:30:00Z", two])
    assert values.all_canonical_timestamps(["2026-05-10T09:30:00Z"] * 2)


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_the_quick_check_agrees_on_every_listed_timestamp(text: str) -> None:
    assert values.is_canonical_timestamp(text) == _taken_as_is(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-10T09:30:00+15:59",
        "2026-05-10T09:30:00-15:59",
        "2026-05-10T09:30:00+16:00",
        "2026-05-10T09:30:00-16:00",
        "2026-05-10T09:30:00+23:59",
        "2026-05-10T09:30:00+24:00",
        "2026-05-10T23:59:59Z",
        "2026-05-10T24:00:00Z",
        "2026-05-10T09:60:00Z",
        "2026-05-10T09:30:60Z",
        "2024-02-29T09:30:00Z",
        "2026-02-29T09:30:00Z",
        "2026-04-31T09:30:00Z",
        "2026-00-10T09:30:00Z",
        "0001-01-01T09:30:00Z",
        "9999-12-31T09:30:00Z",
    ],
)
def test_the_quick_check_agrees_at_every_edge(text: str) -> None:
    assert values.is_canonical_timestamp(text) == _taken_as_is(text)
