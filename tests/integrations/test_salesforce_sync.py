"""A Salesforce sync end to end (integrations/salesforce/, the `sync` command) against the
contract server of tests/contract_servers/salesforce.py: the KPIs equal those of importing
the same facts as canonical CSV, also when Salesforce throttles, fails, cuts answers short,
expires sessions and query locators; a second sync changes nothing; records deleted,
merged or purged leave; a run stops within its share of the day's API calls and the next
one resumes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funnel.models import CostEntry, Person, SourcePerson
from integrations.connections import add_connection
from integrations.models import Connection, SyncCursor, SyncRun
from tests.contract_servers.salesforce import Fault, SalesforceContractServer
from tests.integrations.canonical import (
    COST_HEADER,
    OPPORTUNITY_HEADER,
    PERSON_HEADER,
    as_csv,
    kpis,
    sync,
    table,
)

pytestmark = pytest.mark.django_db(transaction=True)


def sid(prefix: str, number: int) -> str:
    """An 18-character Salesforce id with the object's key prefix."""
    return f"{prefix}{number:012d}AAA"


U1, U_SYNC = sid("005", 1), sid("005", 2)
A1, A2 = sid("001", 1), sid("001", 2)
C1, C2, C3 = sid("701", 1), sid("701", 2), sid("701", 3)
L1, L2, L3, L4 = (sid("00Q", n) for n in (1, 2, 3, 4))
CT1, CT2 = sid("003", 1), sid("003", 2)
O1, O2, O3, O4 = (sid("006", n) for n in (1, 2, 3, 4))

PERSONS = {
    L1: f"{L1},taro@example.jp,山田 太郎,サンプル,2026-04-02T01:00:00Z,paid_search,春のウェビナー,"
    "2026-04-05T00:00:00Z,2026-04-08T00:00:00Z,,,40,製造,50-299,佐藤 花子",
    L2: f"{L2},jane@example.com,Jane Doe,Acme,2026-04-03T01:00:00Z,organic_search,,"
    "2026-04-06T00:00:00Z,,2026-04-10T00:00:00Z,no_budget,10,IT,300+,",
    L3: f"{L3},ken@example.jp,鈴木 健,,2026-04-20T01:00:00Z,seminar,,,2026-04-25T00:00:00Z,,,,,,"
    "佐藤 花子",
    CT2: f"{CT2},hanako@example.jp,伊藤 花子,Acme Inc,2026-04-15T00:00:00Z,partner,展示会2026,,,,"
    ",,IT,300+,佐藤 花子",
}
OPPORTUNITIES = {
    O1: f"{O1},{L1},株式会社サンプル,導入,1200000,2026-04-10T00:00:00Z,2026-04-30T15:00:00Z,won,"
    "Closed Won,,paid_search",
    O2: f"{O2},{CT2},Acme Inc,拡張,300000,2026-04-12T00:00:00Z,2026-05-01T15:00:00Z,lost,"
    "Closed Lost,price,",
    O3: f"{O3},,株式会社サンプル,追加,0,2026-05-01T00:00:00Z,,open,Prospecting,,outbound",
    O4: f"{O4},{L1},株式会社サンプル,保守,500000,2026-05-10T00:00:00Z,2026-05-31T15:00:00Z,won,"
    "Closed Won,,",
}
COSTS = [
    "2026-04-01,webinar,春のウェビナー,300000",
    "2026-05-15,exhibition,展示会2026,500000",
]


def _seed(sf: SalesforceContractServer) -> None:
    sf.put("User", U1, Name="佐藤 花子", Username="hanako@corp.example.jp")
    sf.put("User", U_SYNC, Name="Marketo Sync", Username="mkto-sync@corp.example.jp")
    sf.put("Account", A1, Name="株式会社サンプル", Industry="製造", NumberOfEmployees=120)
    sf.put("Account", A2, Name="Acme Inc", Industry="IT", NumberOfEmployees=5000)
    sf.put(
        "Campaign", C1, Name="春のウェビナー", Type="Webinar", ActualCost=300000.0,
        StartDate="2026-04-01",
    )  # fmt: skip
    sf.put(
        "Campaign", C2, Name="展示会2026", Type="Trade Show", ActualCost=500000,
        StartDate="2026-05-15",
    )  # fmt: skip
    sf.put("Campaign", C3, Name="ナーチャリング", Type="Email", StartDate="2026-04-01")
    sf.put(
        "Lead", L1, FirstName="太郎", LastName="山田", Name="山田 太郎", Email="taro@example.jp",
        Company="サンプル", CreatedDate="2026-04-02T01:00:00Z", LeadSource="Paid Search",
        Industry="製造", NumberOfEmployees=120, OwnerId=U1, mkto71_Lead_Score__c=40.0,
        Status="SQL",
    )  # fmt: skip
    sf.history(L1, "MQL", "2026-04-05T00:00:00Z", old="Open")
    sf.history(L1, "SQL", "2026-04-08T00:00:00Z", old="MQL")
    sf.put(
        "Lead", L2, FirstName="Jane", LastName="Doe", Name="Jane Doe", Email="jane@example.com",
        Company="Acme", CreatedDate="2026-04-03T01:00:00Z", LeadSource="Organic Search",
        Industry="IT", NumberOfEmployees=5000, OwnerId=U_SYNC, mkto71_Lead_Score__c=10,
        DisqualifyReason__c="予算なし", Status="MQL",
    )  # fmt: skip
    sf.history(L2, "MQL", "2026-04-06T00:00:00Z", old="Open")
    sf.history(L2, "Disqualified", "2026-04-10T00:00:00Z", old="MQL")
    sf.history(L2, "Open", "2026-04-15T00:00:00Z", old="Disqualified")
    sf.history(L2, "MQL", "2026-04-20T00:00:00Z", old="Open")  # the first MQL date stays
    sf.put(
        "Lead", L3, FirstName="健", LastName="鈴木", Name="鈴木 健", Email="ken@example.jp",
        CreatedDate="2026-04-20T01:00:00Z", LeadSource="Seminar", OwnerId=U1, Status="SQL",
    )  # fmt: skip
    sf.history(L3, "SQL", "2026-04-25T00:00:00Z", old="Open")  # sales-sourced: no MQL
    sf.put(
        "Lead", L4, LastName="Gone", Email="gone@example.jp", CreatedDate="2026-04-04T00:00:00Z",
    )  # fmt: skip
    sf.delete("Lead", L4)
    sf.put(
        "Contact", CT1, FirstName="太郎", LastName="山田", Name="山田 太郎",
        Email="taro@example.jp", AccountId=A1, CreatedDate="2026-04-09T00:00:00Z",
        LeadSource="Paid Search", OwnerId=U1,
    )  # fmt: skip
    sf.put(
        "Contact", CT2, FirstName="花子", LastName="伊藤", Name="伊藤 花子",
        Email="hanako@example.jp", AccountId=A2, CreatedDate="2026-04-15T00:00:00Z",
        LeadSource="Partner", OwnerId=U1,
    )  # fmt: skip
    sf.put(
        "Opportunity", O1, Name="導入", AccountId=A1, Amount=1200000.0, StageName="Closed Won",
        CreatedDate="2026-04-10T00:00:00Z", CloseDate="2026-05-01", IsClosed=True, IsWon=True,
        LeadSource="Paid Search",
    )  # fmt: skip
    sf.convert(L1, CT1, A1, O1)
    sf.put(
        "Opportunity", O2, Name="拡張", AccountId=A2, Amount=300000, StageName="Closed Lost",
        CreatedDate="2026-04-12T00:00:00Z", CloseDate="2026-05-02", IsClosed=True, IsWon=False,
        Loss_Reason__c="価格",
    )  # fmt: skip
    sf.put(
        "Opportunity", O3, Name="追加", AccountId=A1, StageName="Prospecting",
        CreatedDate="2026-05-01T00:00:00Z", CloseDate="2026-09-30", IsClosed=False,
        IsWon=False, LeadSource="Outbound",
    )  # fmt: skip
    sf.put(
        "Opportunity", O4, Name="保守", AccountId=A1, Amount=500000, StageName="Closed Won",
        CreatedDate="2026-05-10T00:00:00Z", CloseDate="2026-06-01", IsClosed=True, IsWon=True,
    )  # fmt: skip
    sf.put("OpportunityContactRole", OpportunityId=O2, ContactId=CT2, IsPrimary=True)
    sf.put("OpportunityContactRole", OpportunityId=O2, ContactId=CT1, IsPrimary=False)
    sf.put("OpportunityContactRole", OpportunityId=O4, ContactId=CT1, IsPrimary=True)
    sf.put("CampaignMember", CampaignId=C1, LeadId=L1, CreatedDate="2026-04-03T00:00:00Z")
    sf.put(
        "CampaignMember", CampaignId=C2, LeadId=L1, ContactId=CT1,
        CreatedDate="2026-04-05T00:00:00Z",
    )  # fmt: skip
    sf.put("CampaignMember", CampaignId=C2, ContactId=CT2, CreatedDate="2026-04-16T00:00:00Z")
    sf.put("CampaignMember", CampaignId=C3, LeadId=L4, CreatedDate="2026-04-04T00:00:00Z")


@pytest.fixture
def sf() -> Iterator[SalesforceContractServer]:
    with SalesforceContractServer(max_batch=2) as server:  # pages of two rows
        _seed(server)
        yield server


def _connect(sf: SalesforceContractServer, name: str = "sf", **credentials: str) -> Connection:
    given = {
        "client_id": "sf-client",
        "client_secret": "sf-secret",
        "refresh_token": "sf-refresh",
        **credentials,
    }
    return add_connection(name, "salesforce", given, login_url=sf.base_url)


def _expected(tmp_path: Path, persons: dict[str, str] = PERSONS, **changes: str) -> dict:
    opportunities = {**OPPORTUNITIES, **changes}
    return as_csv(
        tmp_path,
        "sf",
        persons=table(PERSON_HEADER, list(persons.values())),
        opportunities=table(OPPORTUNITY_HEADER, [v for v in opportunities.values() if v]),
        costs=table(COST_HEADER, COSTS),
    )


def test_a_sync_gives_the_kpis_of_the_same_facts_as_csv(
    sf: SalesforceContractServer, tmp_path: Path
) -> None:
    sf.faults = [
        Fault(r"/queryAll", "limit"),
        Fault(r"/queryAll", "session", skip=1),
        Fault(r"/query/", "500"),
        Fault(r"/query/", "cut", skip=2),
        Fault(r"/query/", "not-json", skip=4),
        Fault(r"/query/", "locator", skip=6),
        Fault(r"/queryAll", "timeout", skip=5),
    ]
    _connect(sf)
    summary = sync("sf")
    assert summary["status"] == "succeeded", summary
    assert all(fault.times == 0 for fault in sf.faults)  # every fault was met, and overcome
    assert summary["requests"] == len(sf.requests)
    persons = summary["objects"]["persons"]
    assert (persons["created"], persons["rejected"]) == (4, 0)  # L1 (with CT1), L2, L3, CT2
    assert summary["objects"]["opportunities"]["created"] == 4
    assert summary["objects"]["costs"]["created"] == 2
    assert SyncRun.objects.get(kind="salesforce").status == SyncRun.Status.SUCCEEDED
    taro = Person.objects.get(email_normalized="taro@example.jp")
    assert set(taro.source_records.values_list("external_id", flat=True)) == {L1}
    synced = kpis()
    assert synced["kpis"]["won_amount"] == 1700000
    assert synced == _expected(tmp_path)


def test_a_second_sync_changes_nothing_and_costs_a_few_requests(
    sf: SalesforceContractServer,
) -> None:
    _connect(sf)
    sync("sf")
    before = len(sf.requests)
    again = sync("sf")
    for counts in again["objects"].values():
        assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0), again
    # One query an object, and its pages of re-read rows within the 5-minute lookback.
    assert again["requests"] == len(sf.requests) - before
    queries = [soql for _m, _p, _s, soql in sf.requests[before:] if soql]
    assert all(">= " in q for q in queries if "LeadId IN" not in q)


def _a_second_after(sf: SalesforceContractServer, sobject: str, record_id: str) -> str:
    stamp = sf.records[sobject][record_id]["SystemModstamp"] + dt.timedelta(seconds=1)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_changes_deletes_merges_and_restores_follow(
    sf: SalesforceContractServer, tmp_path: Path
) -> None:
    _connect(sf)
    sync("sf")
    sf.history(L3, "MQL", "2026-04-22T00:00:00Z", old="Open")  # an earlier row, found late
    # The lead changes a second after its last stamp, as a real save would: the seed and this
    # put can fall in one second, and a record read again unchanged reads no history again.
    sf.put("Lead", L3, Status="SQL", at=_a_second_after(sf, "Lead", L3))
    sf.merge("Lead", L1, L2)  # Jane merged into Taro's lead: her record leaves
    sf.put("Account", A2, Name="Acme Japan")  # CT2's company and O2's account follow
    sf.put("Campaign", C2, StartDate="2026-05-20", Type="Conference")  # the cost row moves
    sf.put("Opportunity", O3, IsClosed=True, IsWon=True, Amount=800000, CloseDate="2026-06-10")
    sf.delete("Opportunity", O4)
    summary = sync("sf")
    assert summary["status"] == "succeeded", summary
    assert summary["objects"]["persons"]["deleted"] == 1
    assert summary["objects"]["opportunities"]["deleted"] == 1
    persons = {
        **{k: v for k, v in PERSONS.items() if k != L2},
        L3: PERSONS[L3].replace(",,,2026-04-25", ",,2026-04-22T00:00:00Z,2026-04-25"),
        CT2: PERSONS[CT2].replace("Acme Inc", "Acme Japan"),
    }
    opportunities = {
        O2: OPPORTUNITIES[O2].replace("Acme Inc", "Acme Japan"),
        O3: f"{O3},,株式会社サンプル,追加,800000,2026-05-01T00:00:00Z,2026-06-09T15:00:00Z,won,"
        "Prospecting,,outbound",
        O4: "",
    }
    COSTS[1:] = ["2026-05-20,exhibition,展示会2026,500000"]
    try:
        synced = kpis()
        assert CostEntry.objects.filter(date="2026-05-15").count() == 0
        assert synced == _expected(tmp_path, persons, **opportunities)
    finally:
        COSTS[1:] = ["2026-05-15,exhibition,展示会2026,500000"]


def test_a_restored_lead_comes_back_with_its_history(sf: SalesforceContractServer) -> None:
    _connect(sf)
    sync("sf")
    sf.delete("Lead", L2)
    assert sync("sf")["objects"]["persons"]["deleted"] == 1
    sf.undelete("Lead", L2)
    summary = sync("sf")
    assert summary["objects"]["persons"]["created"] == 1
    jane = Person.objects.get(email_normalized="jane@example.com")
    assert jane.mql_at is not None and jane.mql_at.isoformat().startswith("2026-04-06")


def test_a_lead_created_as_an_mql_gets_no_mql_date_from_salesforce(
    sf: SalesforceContractServer,
) -> None:
    """connectors.md, as built: the MQL date is the first Status history row to MQL; a lead
    created in that status has none (the creation is Field 'created'), not even when its
    first Status row's OldValue is MQL. Never invented: an open question to the contract."""
    created_mql, then_sql = sid("00Q", 5), sid("00Q", 6)
    sf.put("Lead", created_mql, LastName="A", Email="a@example.jp", Status="MQL",
           CreatedDate="2026-04-10T00:00:00Z")  # fmt: skip
    sf.put("Lead", then_sql, LastName="B", Email="b@example.jp", Status="SQL",
           CreatedDate="2026-04-10T00:00:00Z")  # fmt: skip
    sf.history(then_sql, "SQL", "2026-04-12T00:00:00Z", old="MQL")
    _connect(sf)
    sync("sf")
    first = SourcePerson.objects.get(external_id=created_mql)
    second = SourcePerson.objects.get(external_id=then_sql)
    assert (first.mql_at, first.sql_at) == (None, None)
    assert second.mql_at is None and second.sql_at is not None
    assert second.sql_at.isoformat().startswith("2026-04-12")


def test_an_idle_connection_reconciles_what_the_recycle_bin_forgot(
    sf: SalesforceContractServer,
) -> None:
    import datetime as dt

    from django.utils import timezone

    connection = _connect(sf)
    sync("sf")
    sf.delete("Lead", L3)
    sf.purge("Lead", L3)  # gone even from queryAll: no incremental read can see it
    sync("sf")
    assert SourcePerson.objects.filter(external_id=L3).exists()
    SyncCursor.objects.filter(connection=connection, object="checked").update(
        value=(timezone.now() - dt.timedelta(days=15)).isoformat()
    )
    summary = sync("sf")
    assert summary["objects"]["persons"]["deleted"] == 1
    assert not SourcePerson.objects.filter(external_id=L3).exists()


def test_a_run_stops_within_its_share_of_the_api_and_the_next_resumes(
    sf: SalesforceContractServer, tmp_path: Path
) -> None:
    sf.api_used = sf.daily_limit - 60  # 60 calls left today: a run may make 6
    _connect(sf)
    with pytest.raises(CommandError, match="share of today's API calls"):
        sync("sf")
    run = SyncRun.objects.get(kind="salesforce")
    assert run.status == SyncRun.Status.FAILED and "next run resumes" in run.error
    assert SyncCursor.objects.exclude(value="").filter(object="User").exists()
    sf.api_used = 0  # a new day
    for _ in range(5):
        summary = sync("sf")
        if summary["status"] == "succeeded":
            break
    assert summary["status"] == "succeeded"
    assert kpis() == _expected(tmp_path)


def test_a_used_up_daily_allocation_stops_the_run(sf: SalesforceContractServer) -> None:
    sf.api_used = sf.daily_limit
    _connect(sf)
    with pytest.raises(CommandError, match="daily API allocation"):
        sync("sf")


def test_an_org_without_the_custom_fields_reads_them_as_empty(
    sf: SalesforceContractServer,
) -> None:
    sf.drop_field("Lead", "DisqualifyReason__c")
    sf.drop_field("Opportunity", "Loss_Reason__c")
    _connect(sf)
    assert sync("sf")["status"] == "succeeded"
    jane = Person.objects.get(email_normalized="jane@example.com")
    assert jane.disqualified_at is not None and jane.disqualify_reason == ""


def test_a_revoked_refresh_token_fails_the_run_without_showing_secrets(
    sf: SalesforceContractServer,
) -> None:
    _connect(sf)
    sf.revoke()
    with pytest.raises(CommandError, match="authentication failed") as failure:
        sync("sf")
    assert "sf-refresh" not in str(failure.value) and "sf-secret" not in str(failure.value)
    run = SyncRun.objects.get(kind="salesforce")
    assert run.status == SyncRun.Status.FAILED and "sf-secret" not in run.error
    assert "invalid_grant" in run.error


def test_a_foreign_currency_opportunity_is_rejected_naming_it(
    sf: SalesforceContractServer,
) -> None:
    sf.put("Opportunity", O3, CurrencyIsoCode="USD")
    for record in (O1, O2, O4):
        sf.put("Opportunity", record, CurrencyIsoCode="JPY")
    _connect(sf)
    summary = sync("sf")
    assert summary["objects"]["opportunities"]["rejected"] == 1
    run = SyncRun.objects.get(kind="salesforce")
    assert run.status == SyncRun.Status.PARTIAL
    assert f"Opportunity {O3}, CurrencyIsoCode: 'USD'" in run.error


def test_connections_test_makes_one_authenticated_call(sf: SalesforceContractServer) -> None:
    from io import StringIO

    _connect(sf)
    _connect(sf, "bad", client_secret="nope")
    out = StringIO()
    call_command("connections", "test", "sf", stdout=out)
    assert out.getvalue().strip().startswith("ok: Salesforce org")
    assert [path for _m, path, _s, _q in sf.requests] == [
        "/services/oauth2/token",
        "/services/data/v62.0/limits",
    ]
    with pytest.raises(CommandError, match="authentication failed"):
        call_command("connections", "test", "bad", stdout=StringIO())


class MalformedSalesforce(SalesforceContractServer):
    """Answers one Contact page with a record without its Id (once)."""

    broken = True

    def _answer(self, handler, path, query, body):  # type: ignore[no-untyped-def]
        answer = super()._answer(handler, path, query, body)
        if self.broken and "FROM Contact" in query.get("q", "") and answer.status == 200:
            self.broken = False
            answer.body["records"][0].pop("Id")
        return answer


def test_a_malformed_page_fails_the_run_naming_it_and_loses_nothing(tmp_path: Path) -> None:
    with MalformedSalesforce(max_batch=2) as sf:
        _seed(sf)
        sf.broken = False
        _connect(sf)
        sync("sf")
        before = kpis()
        sf.put("Contact", CT2, Email="hanako.new@example.jp")
        sf.broken = True
        with pytest.raises(CommandError, match="Salesforce sent a Contact without an Id"):
            sync("sf")
        assert kpis() == before  # what was stored stays
        assert sync("sf")["status"] == "succeeded"  # the next run reads the change
        assert Person.objects.filter(email_normalized="hanako.new@example.jp").exists()
