"""HubSpot objects -> canonical records (integrations/hubspot/mapping.py), by the default
mapping of docs/connectors.md section 3, on objects shaped as HubSpot's CRM v3 reference
shows them (developers.hubspot.com: CRM objects v3 "List" and "Search" responses; Pipelines
"deal stages" with metadata isClosed/probability as strings)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations.hubspot.mapping import (
    HubSpotObject,
    RejectedRecord,
    display_name,
    instant,
    opportunity_from_deal,
    person_from_contact,
    size_band,
    stages_of,
)

JST = ZoneInfo("Asia/Tokyo")


def _stage(stage_id: str, label: str, closed: str, probability: str) -> dict[str, object]:
    return {
        "id": stage_id,
        "label": label,
        "metadata": {"isClosed": closed, "probability": probability},
    }


PIPELINES = {
    "results": [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "stages": [
                {
                    "id": "appointmentscheduled",
                    "label": "初回商談",
                    "metadata": {"isClosed": "false", "probability": "0.2"},
                },
                {
                    "id": "closedwon",
                    "label": "受注",
                    "metadata": {"isClosed": "true", "probability": "1.0"},
                },
                {
                    "id": "closedlost",
                    "label": "失注",
                    "metadata": {"isClosed": "true", "probability": "0.0"},
                },
            ],
        }
    ]
}
COMPANY = HubSpotObject.parse(
    "company",
    {
        "id": "77",
        "properties": {"name": "株式会社サンプル", "industry": "製造", "numberofemployees": "120"},
    },
)


def _contact(**properties: str) -> HubSpotObject:
    base = {"createdate": "2026-04-03T01:02:03.456Z", "email": "Taro@Example.jp"}
    return HubSpotObject.parse("contact", {"id": "501", "properties": {**base, **properties}})


def _deal(**properties: str) -> HubSpotObject:
    base = {"createdate": "2026-04-10T00:00:00Z", "amount": "1200000", "dealname": "導入"}
    return HubSpotObject.parse("deal", {"id": "9001", "properties": {**base, **properties}})


def test_a_contact_maps_by_the_default_table() -> None:
    record = person_from_contact(
        _contact(
            firstname="太郎",
            lastname="山田",
            company="サンプル",
            hs_analytics_source="PAID_SEARCH",
            hs_analytics_source_data_1="spring-campaign",
            hs_lifecyclestage_marketingqualifiedlead_date="2026-04-05T00:00:00Z",
            hs_v2_date_entered_salesqualifiedlead="1775779200000",
            hubspotscore="42",
            associatedcompanyid="77",
            hubspot_owner_id="123",
        ),
        {"77": COMPANY},
        {"123": "佐藤 花子"},
    )
    assert record.external_id == "501"
    assert record.email == "Taro@Example.jp"  # stored as sent; matching normalises it
    assert record.name == "山田 太郎"  # family name first for Japanese names
    assert record.created_at == dt.datetime(2026, 4, 3, 1, 2, 3, 456000, tzinfo=dt.UTC)
    assert (record.channel, record.campaign) == ("paid_search", "spring-campaign")
    assert record.mql_at == dt.datetime(2026, 4, 5, tzinfo=dt.UTC)
    assert record.sql_at == dt.datetime(2026, 4, 10, tzinfo=dt.UTC)  # epoch milliseconds
    assert (record.industry, record.company_size) == ("製造", "50-299")
    assert (record.lead_score, record.owner) == (42, "佐藤 花子")


def test_the_campaign_is_kept_only_for_campaign_sources() -> None:
    record = person_from_contact(
        _contact(hs_analytics_source="ORGANIC_SEARCH", hs_analytics_source_data_1="google"), {}, {}
    )
    assert (record.channel, record.campaign) == ("organic_search", "")


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [("Taro", "Yamada", "Taro Yamada"), ("太郎", "Yamada", "Yamada 太郎"), ("", "山田", "山田")],
)
def test_names_read_as_people_write_them(first: str, last: str, name: str) -> None:
    assert display_name(first, last) == name


@pytest.mark.parametrize(
    ("employees", "band"),
    [("49", "1-49"), ("50", "50-299"), ("299", "50-299"), ("300", "300+"), ("", ""), ("n/a", "")],
)
def test_company_sizes_are_banded(employees: str, band: str) -> None:
    assert size_band(employees) == band


def test_moments_come_in_every_form_hubspot_sends() -> None:
    assert instant("2026-04-03T01:02:03Z") == dt.datetime(2026, 4, 3, 1, 2, 3, tzinfo=dt.UTC)
    assert instant("2026-04-03T10:02:03+09:00") == dt.datetime(2026, 4, 3, 1, 2, 3, tzinfo=dt.UTC)
    assert instant("2026-04-03") == dt.datetime(2026, 4, 3, tzinfo=JST)  # a date: 00:00 JST


def test_a_won_deal_has_its_close_date_stage_label_and_lowest_contact() -> None:
    record = opportunity_from_deal(
        _deal(
            dealstage="closedwon", closedate="2026-05-01T03:00:00Z", hs_analytics_source="REFERRALS"
        ),
        stages_of(PIPELINES),
        ["1200", "503", "99999"],
        COMPANY,
    )
    assert (record.status, record.stage) == ("won", "受注")
    assert record.closed_at == dt.datetime(2026, 5, 1, 3, tzinfo=dt.UTC)
    assert record.person_external_id == "503"  # the lowest id, as numbers
    assert (record.account, record.amount, record.channel) == (
        "株式会社サンプル",
        Decimal(1200000),
        "referrals",
    )


def test_an_open_deal_has_no_close_date_and_a_lost_one_its_reason() -> None:
    stages = stages_of(PIPELINES)
    still_open = opportunity_from_deal(
        _deal(dealstage="appointmentscheduled", closedate="2026-09-30T00:00:00Z"), stages, [], None
    )
    assert (still_open.status, still_open.closed_at) == ("open", None)  # an expected date
    lost = opportunity_from_deal(
        _deal(dealstage="closedlost", closedate="2026-05-02T00:00:00Z", closed_lost_reason="価格"),
        stages,
        [],
        None,
    )
    assert (lost.status, lost.loss_reason) == ("lost", "価格")


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"deal_currency_code": "USD"}, "deal 9001, deal_currency_code: 'USD'"),
        ({"amount": "30M"}, "deal 9001, amount: '30M' is not a number"),
        ({"createdate": "yesterday"}, "deal 9001, createdate: 'yesterday' is not a date"),
        ({"dealstage": "closedwon", "closedate": ""}, "deal 9001, closedate: empty on a won deal"),
    ],
)
def test_a_deal_that_cannot_be_mapped_is_rejected_naming_object_id_and_field(
    properties: dict[str, str], message: str
) -> None:
    with pytest.raises(RejectedRecord, match=message):
        opportunity_from_deal(_deal(**properties), stages_of(PIPELINES), [], None)


def test_an_answer_without_an_id_is_refused_where_it_arrives() -> None:
    with pytest.raises(RejectedRecord, match="contact: an answer without an id"):
        HubSpotObject.parse("contact", {"properties": {}})
