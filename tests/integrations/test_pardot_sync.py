"""An Account Engagement (Pardot) v5 sync end to end (integrations/pardot/, the `sync`
command) against the contract server of tests/contract_servers/pardot.py: the KPIs equal
those of importing the same facts as canonical CSV, also when Account Engagement throttles,
fails, cuts answers short, expires access and page tokens and ends token sequences early;
a second sync changes nothing; a prospect put in the recycle bin leaves with its
activities; a visit linked to a prospect later comes in; stages map by position; a used-up
daily allocation stops a run and the next one resumes."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funnel.models import Activity, Person, SourcePerson
from integrations.connections import add_connection
from integrations.models import Connection, SyncCursor, SyncRun
from integrations.pardot import client as pardot_client
from tests.contract_servers.pardot import Fault, PardotContractServer
from tests.integrations.canonical import (
    ACTIVITY_HEADER,
    COST_HEADER,
    PERSON_HEADER,
    as_csv,
    kpis,
    sync,
    table,
)

pytestmark = pytest.mark.django_db(transaction=True)

BU = "0Uv5j000000CaXXCAZ"
U1 = 100
C_SPRING, C_EXPO, C_NURTURE, C_TIE, C_BINNED = 200, 201, 202, 203, 204
P1, P2, P3, P4, P5, P6, P_GONE = 300, 301, 302, 303, 304, 305, 306
A_ANON = 411
LATER = "2030-06-01T00:00:00+09:00"
STAGE = {"visitor": 10, "prospect": 11, "mql": 12, "sql": 13, "won": 14}

PERSONS = {
    P1: f"{P1},taro@example.jp,山田 太郎,サンプル,2026-04-02T10:00:00+09:00,paid_search,"
    "春のウェビナー,2026-04-05T09:00:00+09:00,2026-04-08T09:00:00+09:00,,,40,製造,50-299,"
    "佐藤 花子",
    P2: f"{P2},jane@example.com,Doe Jane,Acme,2026-04-03T10:00:00+09:00,webinar,春のウェビナー,"
    "2026-04-06T09:00:00+09:00,,,,10,IT,300+,",
    P3: f"{P3},ken@example.jp,鈴木 健,,2026-04-20T10:00:00+09:00,webinar,春のウェビナー,,"
    "2026-04-25T09:00:00+09:00,,,,,,佐藤 花子",
    P4: f"{P4},yuki@example.jp,高橋 由紀,,2026-04-21T10:00:00+09:00,seminar,Tie,,,,,,,,",
    P5: f"{P5},ryo@example.jp,田中 亮,,2026-04-22T10:00:00+09:00,partner,Tie,,,,,,,,",
    P6: f"{P6},Taro@Example.jp,山田 太郎,,2026-04-23T10:00:00+09:00,,,,,,,,,,",  # same email
}
ACTIVITIES = {
    401: f"401,{P1},taro@example.jp,web_visit,2026-04-02T10:05:00+09:00,Visit: https://example.jp/",
    402: f"402,{P1},taro@example.jp,page_view,2026-04-02T10:06:00+09:00,View: LP spring",
    403: f"403,{P1},taro@example.jp,form_submit,2026-04-02T10:07:00+09:00,Success: Contact",
    404: f"404,{P2},jane@example.com,email_open,2026-04-04T10:00:00+09:00,Open: April news",
    405: f"405,{P2},jane@example.com,download,2026-04-04T10:01:00+09:00,Click: paper.pdf",
    406: f"406,{P2},jane@example.com,email_click,2026-04-04T10:02:00+09:00,"
    "Click: https://example.jp/lp",
    408: f"408,{P3},ken@example.jp,webinar,2026-04-21T14:00:00+09:00,"
    "Attended Webinar: 春のウェビナー",
    409: f"409,{P3},ken@example.jp,event,2026-05-15T11:00:00+09:00,Event Checked In: 展示会2026",
}
COSTS = {
    C_SPRING: "2026-04,webinar,春のウェビナー,300000",  # created 2026-03-31T20:00Z: April in Tokyo
    C_EXPO: "2026-05,exhibition,展示会2026,500000",  # by the connection's campaign_channel
    C_TIE: "2026-04,partner,Tie,1000",  # partner and seminar once each: alphabetical
}


def _seed(pd: PardotContractServer) -> None:
    pd.seed_lifecycle_stages(at="2026-01-01T00:00:00+09:00")
    pd.put("users", U1, at="2026-01-01T00:00:00+09:00", firstName="花子", lastName="佐藤",
           email="hanako@corp.example.jp")  # fmt: skip
    pd.put("campaigns", C_SPRING, name="春のウェビナー", cost=300000,
           createdAt="2026-03-31T20:00:00Z")  # fmt: skip
    pd.put("campaigns", C_EXPO, name="展示会2026", cost=500000, createdAt="2026-05-10T00:00:00Z")
    pd.put("campaigns", C_NURTURE, name="ナーチャリング", cost=0, createdAt="2026-04-01T00:00:00Z")
    pd.put("campaigns", C_TIE, name="Tie", cost=1000.0, createdAt="2026-04-15T00:00:00Z")
    pd.put("campaigns", C_BINNED, name="Old", cost=9999, createdAt="2026-04-15T00:00:00Z")
    pd.delete("campaigns", C_BINNED)

    def prospect(id: int, created: str, **fields: Any) -> None:
        pd.put("prospects", id, createdAt=created, at=created, **fields)

    prospect(P1, "2026-04-02T10:00:00+09:00", email="taro@example.jp", firstName="太郎",
             lastName="山田", company="サンプル", source="Google Ads", campaignId=C_SPRING,
             score=40, industry="製造", employees="120", assignedToId=U1,
             salesforceLeadId="00Q000000000001AAA")  # fmt: skip
    prospect(P2, "2026-04-03T10:00:00+09:00", email="jane@example.com", firstName="Jane",
             lastName="Doe", company="Acme", source="Webinar", campaignId=C_SPRING, score=10,
             industry="IT", employees="5,000")  # fmt: skip
    prospect(P3, "2026-04-20T10:00:00+09:00", email="ken@example.jp", firstName="健",
             lastName="鈴木", source="Webinar", campaignId=C_SPRING, employees="many",
             assignedToId=U1)  # fmt: skip
    prospect(P4, "2026-04-21T10:00:00+09:00", email="yuki@example.jp", firstName="由紀",
             lastName="高橋", source="Seminar", campaignId=C_TIE)  # fmt: skip
    prospect(P5, "2026-04-22T10:00:00+09:00", email="ryo@example.jp", firstName="亮",
             lastName="田中", source="Partner", campaignId=C_TIE)  # fmt: skip
    prospect(P6, "2026-04-23T10:00:00+09:00", email="Taro@Example.jp", firstName="太郎",
             lastName="山田")  # fmt: skip
    prospect(P_GONE, "2026-04-24T10:00:00+09:00", email="gone@example.jp", lastName="Gone",
             source="Webinar", campaignId=C_SPRING)  # fmt: skip
    pd.delete("prospects", P_GONE)

    def history(prospect: int, stage: str, at: str) -> None:
        pd.put("lifecycle-histories", prospectId=prospect, nextStageId=STAGE[stage], createdAt=at)

    history(P1, "prospect", "2026-04-02T10:00:00+09:00")
    history(P1, "mql", "2026-04-05T09:00:00+09:00")
    history(P1, "sql", "2026-04-08T09:00:00+09:00")
    history(P1, "mql", "2026-04-20T09:00:00+09:00")  # a re-entry: the first date stays
    history(P2, "mql", "2026-04-06T09:00:00+09:00")
    history(P3, "sql", "2026-04-25T09:00:00+09:00")  # straight to SQL: no MQL invented
    history(P_GONE, "mql", "2026-04-25T09:00:00+09:00")

    def activity(id: int, prospect: int | None, type: int, at: str, details: str,
                 **fields: Any) -> None:  # fmt: skip
        pd.put("visitor-activities", id, at=at, createdAt=at, prospectId=prospect, type=type,
               details=details, **fields)  # fmt: skip

    activity(401, P1, 20, "2026-04-02T10:05:00+09:00", "https://example.jp/")
    activity(402, P1, 2, "2026-04-02T10:06:00+09:00", "LP spring", landingPageId=1)
    activity(403, P1, 4, "2026-04-02T10:07:00+09:00", "Contact", formId=1)
    activity(404, P2, 11, "2026-04-04T10:00:00+09:00", "April news", emailId=9)
    activity(405, P2, 1, "2026-04-04T10:01:00+09:00", "paper.pdf", fileId=5)
    activity(406, P2, 1, "2026-04-04T10:02:00+09:00", "https://example.jp/lp", emailId=9)
    activity(407, P3, 1, "2026-04-21T13:00:00+09:00", "https://x.example", customRedirectId=3)
    activity(408, P3, 24, "2026-04-21T14:00:00+09:00", "春のウェビナー")
    activity(409, P3, 29, "2026-05-15T11:00:00+09:00", "展示会2026")
    activity(410, P1, 6, "2026-04-02T09:00:00+09:00", "April news", emailId=9)  # a send
    activity(A_ANON, None, 20, "2026-04-01T09:00:00+09:00", "https://example.jp/pricing")
    activity(412, P_GONE, 20, "2026-04-24T10:05:00+09:00", "https://example.jp/")


@pytest.fixture
def pd() -> Iterator[PardotContractServer]:
    with PardotContractServer() as server:
        _seed(server)
        yield server


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of two records: page tokens, and the faults that need one, come into play."""
    monkeypatch.setattr(pardot_client, "PAGE", 2)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The (path, parameters) of every API call the connector makes."""
    made: list[tuple[str, dict[str, Any]]] = []
    original = pardot_client.PardotClient._get

    def spy(self: pardot_client.PardotClient, path: str, params: Any) -> Any:
        made.append((path, dict(params)))
        return original(self, path, params)

    monkeypatch.setattr(pardot_client.PardotClient, "_get", spy)
    return made


def _connect(
    pd: PardotContractServer, name: str = "pd", business_unit_id: str = BU, **credentials: str
) -> Connection:
    given = {
        "client_id": "pd-client",
        "client_secret": "pd-secret",
        "refresh_token": "pd-refresh",
        **credentials,
    }
    connection = add_connection(
        name,
        "pardot",
        given,
        base_url=pd.base_url,
        login_url=pd.base_url,
        business_unit_id=business_unit_id,
    )
    connection.options = {"campaign_channel": {"展示会2026": "exhibition"}}
    connection.save()
    return connection


def _expected(
    tmp_path: Path,
    persons: dict[int, str] = PERSONS,
    activities: dict[int, str] = ACTIVITIES,
    costs: dict[int, str] = COSTS,
) -> dict[str, Any]:
    return as_csv(
        tmp_path,
        "pd",
        persons=table(PERSON_HEADER, list(persons.values())),
        activities=table(ACTIVITY_HEADER, list(activities.values())),
        costs=table(COST_HEADER, list(costs.values())),
    )


def _no_changes(summary: dict[str, Any]) -> None:
    assert summary["status"] == "succeeded", summary
    for counts in summary["objects"].values():
        assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0), summary


def test_a_sync_gives_the_kpis_of_the_same_facts_as_csv(
    pd: PardotContractServer, tmp_path: Path, small_pages: None
) -> None:
    pd.faults = [
        Fault(r"/lifecycle-stages", "502"),
        Fault(r"/users", "not-json"),
        Fault(r"/campaigns", "184", skip=1),  # every access token expires
        Fault(r"/prospects", "66"),
        Fault(r"/prospects", "210", skip=1),  # a page token expired: the query starts again
        Fault(r"/lifecycle-histories", "cut", skip=2),
        Fault(r"/visitor-activities", "183", skip=3),
        Fault(r"/visitor-activities", "211", skip=1),
    ]
    _connect(pd)
    summary = sync("pd")
    assert summary["status"] == "succeeded", summary
    assert all(fault.times == 0 for fault in pd.faults)  # every fault was met, and overcome
    assert summary["requests"] == len(pd.requests)
    objects = summary["objects"]
    assert (objects["persons"]["created"], objects["persons"]["rejected"]) == (6, 0)
    assert objects["activities"]["created"] == 8
    assert objects["costs"]["created"] == 3
    assert SyncRun.objects.get(kind="pardot").status == SyncRun.Status.SUCCEEDED
    assert set(SourcePerson.objects.values_list("external_id", flat=True)) == {
        str(p) for p in PERSONS
    }  # the two prospects sharing an email stay two records
    assert Person.objects.filter(email_normalized="taro@example.jp").count() == 1
    synced = kpis()
    assert synced == _expected(tmp_path)


def test_a_second_sync_changes_nothing_and_costs_a_few_requests(
    pd: PardotContractServer, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    _connect(pd)
    first = sync("pd")
    assert first["status"] == "succeeded", first
    full = {
        path: params for path, params in calls if "orderBy" in params and params["orderBy"] == "id"
    }
    assert full["/prospects"]["deleted"] == full["/campaigns"]["deleted"] == "all"
    assert "deleted" not in full["/visitor-activities"]
    assert all(params["limit"] == 1000 and params["fields"] for params in full.values())
    before, calls[:] = len(pd.requests), []
    again = sync("pd")
    _no_changes(again)
    # stages, five objects from their cursors, two recycle bins; one page each
    assert again["requests"] == len(pd.requests) - before <= 9
    made = {path: params for path, params in calls}
    for path in ("/prospects", "/campaigns", "/visitor-activities", "/users"):
        if path in ("/prospects", "/campaigns"):
            assert (
                path,
                {"deleted": "true", "orderBy": "id", "fields": "id", "limit": 1000},
            ) in calls
        incremental = next(
            p for q, p in calls if q == path and "orderBy" in p and p["orderBy"] != "id"
        )
        assert incremental["orderBy"] == "updatedAt,id"
        assert "+09:00" in incremental["updatedAtAfterOrEqualTo"]
    histories = made["/lifecycle-histories"]
    assert histories["orderBy"] == "createdAt,id" and "createdAtAfterOrEqualTo" in histories
    pd.put("lifecycle-stages", STAGE["mql"], name="MQL (renamed)")  # positions stay
    _no_changes(sync("pd"))


def test_a_binned_prospect_leaves_with_its_activities(
    pd: PardotContractServer, tmp_path: Path
) -> None:
    _connect(pd)
    sync("pd")
    pd.delete("prospects", P2)  # updatedAt does not move: only the recycle bin tells
    summary = sync("pd")
    assert summary["objects"]["persons"]["deleted"] == 1
    assert summary["objects"]["activities"]["deleted"] == 3
    assert not Activity.objects.filter(person_external_id=str(P2)).exists()
    persons = {k: v for k, v in PERSONS.items() if k != P2}
    activities = {k: v for k, v in ACTIVITIES.items() if k not in (404, 405, 406)}
    # 春のウェビナー's prospects are now paid_search and webinar once each: alphabetical.
    costs = {**COSTS, C_SPRING: "2026-04,paid_search,春のウェビナー,300000"}
    _no_changes(sync("pd", "--full"))
    assert kpis() == _expected(tmp_path, persons, activities, costs)


def test_a_restored_prospect_comes_back_with_its_dates_and_activities(
    pd: PardotContractServer,
) -> None:
    _connect(pd)
    sync("pd")
    pd.delete("prospects", P2)
    sync("pd")
    pd.undelete("prospects", P2)
    summary = sync("pd")
    assert summary["objects"]["persons"]["created"] == 1
    assert summary["objects"]["activities"]["created"] == 3
    jane = Person.objects.get(email_normalized="jane@example.com")
    assert jane.mql_at is not None and jane.mql_at.isoformat().startswith("2026-04-06")


def test_changes_and_a_visit_linked_later_come_in_incrementally(
    pd: PardotContractServer, tmp_path: Path
) -> None:
    _connect(pd)
    sync("pd")
    pd.link_visitor(A_ANON, P4, at=LATER)  # createdAt stays: when the visit happened
    pd.put("prospects", P4, at=LATER, email="yuki@corp.example.jp")  # activities follow
    pd.put("users", U1, at=LATER, firstName="花")  # the owner's name follows
    pd.put("campaigns", C_TIE, at=LATER, cost=1500)
    pd.put("lifecycle-histories", prospectId=P4, nextStageId=STAGE["mql"],
           createdAt="2026-04-28T09:00:00+09:00")  # fmt: skip
    summary = sync("pd")
    assert summary["status"] == "succeeded", summary
    assert summary["objects"]["activities"]["created"] == 1
    persons = {
        **{k: v.replace("佐藤 花子", "佐藤 花") for k, v in PERSONS.items()},
        P4: PERSONS[P4]
        .replace("yuki@example.jp", "yuki@corp.example.jp")
        .replace("Tie,,", "Tie,2026-04-28T09:00:00+09:00,"),
    }
    activities = {
        **ACTIVITIES,
        A_ANON: f"{A_ANON},{P4},yuki@corp.example.jp,web_visit,2026-04-01T09:00:00+09:00,"
        "Visit: https://example.jp/pricing",
    }
    costs = {**COSTS, C_TIE: "2026-04,partner,Tie,1500"}
    assert kpis() == _expected(tmp_path, persons, activities, costs)


def test_stages_map_by_position_not_by_name(pd: PardotContractServer, tmp_path: Path) -> None:
    pd.put("lifecycle-stages", STAGE["mql"], name="Sales Qualified Lead")
    pd.put("lifecycle-stages", STAGE["sql"], name="Marketing Qualified Lead")
    _connect(pd)
    assert sync("pd")["status"] == "succeeded"
    assert kpis() == _expected(tmp_path)


def test_token_sequences_cut_at_the_cap_go_on_after_the_last_record(
    tmp_path: Path, small_pages: None, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    with PardotContractServer(sequence_cap=3) as pd:
        _seed(pd)
        _connect(pd)
        first = sync("pd")
        assert first["objects"]["persons"]["created"] == 6, first
        assert first["objects"]["activities"]["created"] == 8, first
        # Six prospects changed in one second: the incremental read goes on by id within it.
        for number, key in enumerate(PERSONS):
            pd.put("prospects", key, at=LATER, score=number)
        calls[:] = []
        summary = sync("pd")
        assert summary["objects"]["persons"]["updated"] == 6, summary
        ties = [p for path, p in calls if path == "/prospects" and "updatedAtBeforeOrEqualTo" in p]
        assert ties and all(p["orderBy"] == "id" and "idGreaterThan" in p for p in ties)
        assert all(set(p) == {"nextPageToken"} for _path, p in calls if "nextPageToken" in p)
        persons = {
            key: ",".join([*row.split(",")[:11], str(number), *row.split(",")[12:]])
            for number, (key, row) in enumerate(PERSONS.items())
        }
        assert kpis() == _expected(tmp_path, persons)


def test_a_used_up_daily_allocation_stops_the_run_and_the_next_resumes(
    pd: PardotContractServer, tmp_path: Path
) -> None:
    pd.faults = [Fault(r"/visitor-activities", "122")]
    _connect(pd)
    with pytest.raises(CommandError, match="daily API allocation"):
        sync("pd")
    run = SyncRun.objects.get(kind="pardot")
    assert run.status == SyncRun.Status.FAILED
    assert "122" in run.error and "Daily API rate limit met" in run.error
    assert SyncCursor.objects.exclude(value="").filter(object="prospects").exists()
    summary = sync("pd")
    assert summary["status"] == "succeeded", summary
    assert kpis() == _expected(tmp_path)


def test_a_campaign_without_a_channel_is_rejected_naming_it(pd: PardotContractServer) -> None:
    pd.put("campaigns", 205, name="Orphan", cost=2000, createdAt="2026-04-15T00:00:00Z")
    _connect(pd)
    summary = sync("pd")
    assert summary["objects"]["costs"]["rejected"] == 1
    assert summary["objects"]["costs"]["created"] == 3
    run = SyncRun.objects.get(kind="pardot")
    assert run.status == SyncRun.Status.PARTIAL
    assert "campaign 205 (Orphan), channel" in run.error


def test_a_wrong_business_unit_fails_with_the_vendors_message(
    pd: PardotContractServer,
) -> None:
    _connect(pd, business_unit_id="0Uv5j000000CaYYCAZ")
    with pytest.raises(CommandError, match="201 Business Unit specified"):
        sync("pd")
    with pytest.raises(CommandError, match="201 Business Unit specified"):
        call_command("connections", "test", "pd", stdout=StringIO())


def test_a_revoked_refresh_token_fails_without_showing_secrets(
    pd: PardotContractServer,
) -> None:
    _connect(pd)
    pd.revoke()
    with pytest.raises(CommandError, match="authentication failed") as failure:
        sync("pd")
    run = SyncRun.objects.get(kind="pardot")
    assert run.status == SyncRun.Status.FAILED and "invalid_grant" in run.error
    for secret in ("pd-refresh", "pd-secret", "00D5j000000PdAb"):
        assert secret not in str(failure.value) and secret not in run.error


def test_connections_test_makes_one_authenticated_call(pd: PardotContractServer) -> None:
    _connect(pd)
    out = StringIO()
    call_command("connections", "test", "pd", stdout=out)
    assert out.getvalue().strip() == "ok: Account Engagement business unit, 5 lifecycle stages"
    assert [path for _m, path, _s, _c in pd.requests] == [
        "/services/oauth2/token",
        "/api/v5/objects/lifecycle-stages",
    ]
