"""The Salesforce contract server (tests/contract_servers/salesforce.py) keeps to the REST
API as Salesforce documents it: the refresh-token flow, query / queryAll with their
nextRecordsUrl pages, Sforce-Query-Options batchSize, Sforce-Limit-Info and the daily limit,
SOQL filters and ORDER BY over ties, deletes, merges, unknown fields and faults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.contract_servers.salesforce import Fault, SalesforceContractServer

API = "/services/data/v62.0"


@pytest.fixture
def sf() -> Iterator[SalesforceContractServer]:
    with SalesforceContractServer() as server:
        yield server


def _token(sf: SalesforceContractServer, **changes: str) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": "sf-client",
        "client_secret": "sf-secret",
        "refresh_token": "sf-refresh",
        **changes,
    }
    return requests.post(f"{sf.base_url}/services/oauth2/token", data=form, timeout=5)


def _session(sf: SalesforceContractServer, batch: int | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {_token(sf).json()['access_token']}"
    if batch:
        session.headers["Sforce-Query-Options"] = f"batchSize={batch}"
    return session


def _query(
    session: requests.Session, sf: SalesforceContractServer, soql: str, all: bool = False
) -> requests.Response:
    resource = "queryAll" if all else "query"
    return session.get(f"{sf.base_url}{API}/{resource}/", params={"q": soql}, timeout=5)


def _all_rows(
    session: requests.Session, sf: SalesforceContractServer, soql: str, all: bool = False
) -> tuple[list[dict[str, Any]], list[int]]:
    page = _query(session, sf, soql, all).json()
    rows, sizes = list(page["records"]), [len(page["records"])]
    while not page["done"]:
        page = session.get(sf.base_url + page["nextRecordsUrl"], timeout=5).json()
        rows += page["records"]
        sizes.append(len(page["records"]))
    return rows, sizes


def test_refresh_token_flow_and_sessions(sf: SalesforceContractServer) -> None:
    wrong = _token(sf, client_id="nope")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client_id"
    first = _token(sf).json()
    assert first["instance_url"] == sf.base_url and first["token_type"] == "Bearer"
    assert "expires_in" not in first and {"id", "issued_at", "signature"} <= set(first)
    second = _token(sf).json()
    assert second["access_token"] != first["access_token"]

    limits = f"{sf.base_url}{API}/limits/"
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    assert requests.get(limits, headers=headers, timeout=5).status_code == 200
    sf.expire_sessions()
    expired = requests.get(limits, headers=headers, timeout=5)
    assert expired.status_code == 401
    assert expired.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert _token(sf).status_code == 200
    sf.revoke()
    revoked = _token(sf)
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    assert sf.api_used == 1  # token calls and refused sessions do not count


def test_pages_follow_batch_size_and_snapshot_the_result(sf: SalesforceContractServer) -> None:
    for number in range(450):
        sf.put("Lead", LastName=f"L{number}", Company="Acme", at="2026-04-01T00:00:00Z")
    session = _session(sf, batch=200)
    first = _query(session, sf, "SELECT Id FROM Lead").json()
    assert first["totalSize"] == 450 and first["done"] is False
    assert re.fullmatch(rf"{API}/query/01g[0-9A-Za-z]{{15}}-200", first["nextRecordsUrl"])
    sf.put("Lead", LastName="late", Company="Acme")  # after the query ran: not in its pages
    rows, sizes = _all_rows(session, sf, "SELECT Id, Name FROM Lead WHERE LastName != 'late'")
    assert sizes == [200, 200, 50] and len({row["Id"] for row in rows}) == 450
    assert rows[0]["attributes"] == {
        "type": "Lead",
        "url": f"{API}/sobjects/Lead/{rows[0]['Id']}",
    }
    assert set(rows[0]) == {"attributes", "Id", "Name"}
    locator = first["nextRecordsUrl"].replace("/query/", "/queryAll/")
    assert len(session.get(sf.base_url + locator, timeout=5).json()["records"]) == 200
    sf.expire_locators()
    gone = session.get(sf.base_url + first["nextRecordsUrl"], timeout=5)
    assert gone.status_code == 400 and gone.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"

    small = SalesforceContractServer(max_batch=100)
    with small:
        for number in range(250):
            small.put("Contact", LastName=f"C{number}")
        _rows, sizes = _all_rows(_session(small, batch=2000), small, "SELECT Id FROM Contact")
        assert sizes == [100, 100, 50]


def test_systemmodstamp_window_with_ties_and_order(sf: SalesforceContractServer) -> None:
    early = sf.put("Lead", LastName="early", at="2026-04-01T23:59:59Z")
    tied = [sf.put("Lead", LastName=f"t{n}", at="2026-04-02T01:00:00Z") for n in range(40)]
    later = sf.put("Lead", LastName="later", at="2026-04-02T01:00:01Z", NumberOfEmployees=5)
    session = _session(sf)
    soql = (
        "SELECT Id, SystemModstamp, NumberOfEmployees, IsConverted FROM Lead "
        "WHERE SystemModstamp >= {} ORDER BY SystemModstamp{}"
    )
    rows, _ = _all_rows(session, sf, soql.format("2026-04-02T10:00:00+09:00", ", Id"))
    assert [row["Id"] for row in rows] == [*sorted(tied), later] and early not in tied
    assert rows[-1]["SystemModstamp"] == "2026-04-02T01:00:01.000+0000"
    assert rows[-1]["NumberOfEmployees"] == 5 and rows[-1]["IsConverted"] is False
    ties, _ = _all_rows(session, sf, soql.format("2026-04-02T01:00:00.000Z", ""))
    assert [row["Id"] for row in ties[:40]] != tied  # ties come in no promised order
    assert sorted(row["Id"] for row in ties[:40]) == sorted(tied)

    quoted = _query(session, sf, soql.format("'2026-04-02T01:00:00Z'", ""))
    assert quoted.status_code == 400 and quoted.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "should not be enclosed in quotes" in quoted.json()[0]["message"]
    mixed = _query(session, sf, "SELECT Id FROM Lead WHERE IsDeleted = false AND Id = '1' OR x")
    assert mixed.status_code == 400 and mixed.json()[0]["errorCode"] == "MALFORMED_QUERY"
    escaped = sf.put("Account", Name="Bob's \\ BBQ")
    found = _query(session, sf, "SELECT Id FROM Account WHERE Name IN ('bob\\'s \\\\ bbq')")
    assert [row["Id"] for row in found.json()["records"]] == [escaped]


def test_deleted_rows_only_in_query_all_until_purged(sf: SalesforceContractServer) -> None:
    lead = sf.put("Lead", LastName="gone", at="2026-04-01T00:00:00Z")
    history = sf.history(lead, "Working", at="2026-04-01T00:00:00Z", old="Open")
    sf.delete("Lead", lead, at="2026-04-03T00:00:00Z")
    session = _session(sf)
    soql = "SELECT Id, IsDeleted, SystemModstamp FROM Lead"
    assert _query(session, sf, soql).json()["totalSize"] == 0
    [row] = _query(session, sf, soql, all=True).json()["records"]
    assert row["IsDeleted"] is True and row["SystemModstamp"] == "2026-04-03T00:00:00.000+0000"
    [change] = _query(session, sf, "SELECT Id, IsDeleted FROM LeadHistory", all=True).json()[
        "records"
    ]
    assert change["Id"] == history and change["IsDeleted"] is True
    sf.undelete("Lead", lead)
    assert _query(session, sf, "SELECT Id FROM LeadHistory").json()["totalSize"] == 1
    sf.purge("Lead", lead)
    assert _query(session, sf, soql, all=True).json()["totalSize"] == 0
    assert _query(session, sf, "SELECT Id FROM LeadHistory", all=True).json()["totalSize"] == 0


def test_merge_moves_children_and_marks_the_loser(sf: SalesforceContractServer) -> None:
    at = "2026-04-01T00:00:00Z"
    survivor = sf.put("Contact", LastName="Keep", at=at)
    loser = sf.put("Contact", LastName="Dupe", at=at)
    campaign = sf.put("Campaign", Name="Spring", at=at)
    member = sf.put("CampaignMember", CampaignId=campaign, ContactId=loser, at=at)
    sf.merge("Contact", survivor, loser, at="2026-04-05T00:00:00Z")
    session = _session(sf)
    contacts = _query(
        session, sf, "SELECT Id, IsDeleted, MasterRecordId, SystemModstamp FROM Contact", all=True
    ).json()["records"]
    by_id = {row["Id"]: row for row in contacts}
    assert by_id[loser]["IsDeleted"] is True and by_id[loser]["MasterRecordId"] == survivor
    assert by_id[survivor]["SystemModstamp"] == "2026-04-05T00:00:00.000+0000"
    [moved] = _query(
        session,
        sf,
        f"SELECT Id, ContactId, SystemModstamp FROM CampaignMember WHERE Id = '{member}'",
    ).json()["records"]
    assert moved["ContactId"] == survivor
    assert moved["SystemModstamp"] == "2026-04-05T00:00:00.000+0000"
    assert _query(session, sf, "SELECT Id FROM Contact").json()["totalSize"] == 1


def test_unknown_and_dropped_fields_are_invalid_field(sf: SalesforceContractServer) -> None:
    session = _session(sf)
    unknown = _query(session, sf, "SELECT Id, Nope__c FROM Lead")
    assert unknown.status_code == 400
    [error] = unknown.json()
    assert error["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Lead'" in error["message"]
    assert _query(session, sf, "SELECT Id, DisqualifyReason__c FROM Lead").status_code == 200
    sf.drop_field("Lead", "DisqualifyReason__c")
    dropped = _query(session, sf, "SELECT Id, DisqualifyReason__c FROM Lead")
    assert dropped.json()[0]["errorCode"] == "INVALID_FIELD"
    history = _query(session, sf, "SELECT Id FROM LeadHistory WHERE SystemModstamp > 2026-01-01")
    assert history.json()[0]["errorCode"] == "INVALID_FIELD"


def test_limit_header_and_daily_limit() -> None:
    with SalesforceContractServer(daily_limit=3) as sf:
        session = _session(sf)
        first = session.get(f"{sf.base_url}{API}/limits/", timeout=5)
        assert first.headers["Sforce-Limit-Info"] == "api-usage=1/3"
        assert first.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
        assert _query(session, sf, "SELECT Id FROM Lead").headers["Sforce-Limit-Info"] == (
            "api-usage=2/3"
        )
        _query(session, sf, "SELECT Id FROM Lead")
        over = _query(session, sf, "SELECT Id FROM Lead")
        assert over.status_code == 403
        assert over.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        assert over.headers["Sforce-Limit-Info"] == "api-usage=3/3" and sf.api_used == 3


def test_faults_are_served_once(sf: SalesforceContractServer) -> None:
    sf.put("Lead", LastName="x")
    session = _session(sf)
    sf.faults += [Fault(r"/query", "500"), Fault(r"/query", "cut", skip=1)]
    failed = _query(session, sf, "SELECT Id FROM Lead")
    assert failed.status_code == 500 and failed.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"
    assert _query(session, sf, "SELECT Id FROM Lead").json()["totalSize"] == 1
    with pytest.raises(requests.exceptions.RequestException):
        _query(session, sf, "SELECT Id FROM Lead").json()
    assert _query(session, sf, "SELECT Id FROM Lead").status_code == 200
    assert [status for _m, _p, status, _q in sf.requests][-4:] == [500, 200, 200, 200]
    assert sf.requests[-1][3] == "SELECT Id FROM Lead"
