"""The Marketo contract server (tests/contract_servers/marketo.py) keeps the contract the
connector's tests rely on: tokens reused then expiring (602, then 601), 606 and 615,
paging through sparse pages to the end, leads by id (GET and POST _method=GET, 414 past
8 KB), deleted leads, merges, a body cut short. Plain HTTP with `requests`; no database."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.contract_servers.marketo import Fault, MarketoContractServer

SINCE = "2026-04-01T00:00:00Z"


class Client:
    def __init__(self, mk: MarketoContractServer) -> None:
        self.mk = mk
        self.session = requests.Session()
        self.token = ""

    def identity(self, secret: str = "mk-secret") -> requests.Response:
        params = {"grant_type": "client_credentials", "client_id": "mk-client"}
        return self.session.get(
            f"{self.mk.base_url}/identity/oauth/token", params={**params, "client_secret": secret}
        )

    def login(self) -> str:
        self.token = self.identity().json()["access_token"]
        return self.token

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        answer = self.session.get(
            f"{self.mk.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.headers["Date"]
        body: dict[str, Any] = answer.json()
        return body

    def items(self, path: str, token: str, **params: Any) -> list[dict[str, Any]]:
        return [
            item for page in self.pages(path, token, **params) for item in page.get("result", [])
        ]

    def since(self, when: str = SINCE) -> str:
        token: str = self.get("/rest/v1/activities/pagingtoken.json", sinceDatetime=when)[
            "nextPageToken"
        ]
        return token

    def pages(self, path: str, token: str, **params: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self.get(path, nextPageToken=token, **params)
            assert page["success"], page
            yield page
            token = page["nextPageToken"]
            if not page["moreResult"]:
                return


def _code(body: dict[str, Any]) -> str:
    assert body["success"] is False
    code: str = body["errors"][0]["code"]
    return code


@pytest.fixture
def mk() -> Iterator[MarketoContractServer]:
    with MarketoContractServer() as server:
        yield server


def test_token_is_reused_then_expires_602_then_601(mk: MarketoContractServer) -> None:
    client = Client(mk)
    first = client.identity().json()
    assert first["token_type"] == "bearer" and 3590 <= first["expires_in"] <= 3600
    again = client.identity().json()
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] <= first["expires_in"]
    bad = client.identity(secret="wrong")
    assert bad.status_code == 401 and bad.json()["error"] == "unauthorized"

    assert _code(client.get("/rest/v1/leads/describe.json")) == "601"  # no token
    token = client.login()
    assert client.get("/rest/v1/leads/describe.json")["success"]
    query_only = client.session.get(
        f"{mk.base_url}/rest/v1/leads/describe.json", params={"access_token": token}
    ).json()
    assert _code(query_only) == "601"  # the access_token parameter is retired

    mk.expire_tokens()
    assert _code(client.get("/rest/v1/leads/describe.json")) == "602"
    assert _code(client.get("/rest/v1/leads/describe.json")) == "601"
    assert client.login() != token
    assert client.get("/rest/v1/leads/describe.json")["success"]
    assert mk.calls_today == 2  # 601/602 answers and identity calls are not counted


def test_a_burst_past_the_window_gets_606() -> None:
    with MarketoContractServer(calls_per_window=5, window=0.6) as mk:
        client = Client(mk)
        client.login()
        answers = [client.get("/rest/v1/leads/describe.json") for _ in range(7)]
        codes = [answer.get("errors", [{}])[0].get("code") for answer in answers]
        assert codes[:5] == [None] * 5 and codes[5:] == ["606", "606"]
        assert "Max rate limit '5' exceeded with in '0.6' secs" in str(
            client.get("/rest/v1/leads/describe.json")
        )
        time.sleep(0.7)
        assert client.get("/rest/v1/leads/describe.json")["success"]
        assert ("GET", "/rest/v1/leads/describe.json", 200, "606") in mk.requests
        assert mk.calls_today == 6


def test_more_than_max_concurrent_calls_get_615() -> None:
    with MarketoContractServer(max_concurrent=2, latency=0.4) as mk:
        token = Client(mk).login()
        codes: list[str] = []
        lock = threading.Lock()

        def call() -> None:
            body = requests.get(
                f"{mk.base_url}/rest/v1/leads/describe.json",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            with lock:
                codes.append("ok" if body["success"] else body["errors"][0]["code"])

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert codes.count("ok") == 2 and codes.count("615") == 4


def test_sparse_pages_run_to_the_end_by_recorded_time_and_guid() -> None:
    with MarketoContractServer(sparse=True, page_size=7) as mk:
        lead = mk.put_lead(email="taro@example.jp", firstName="太郎", lastName="山田")
        base = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)
        mk.add_activity(lead, 1, "2026-04-10T00:00:00Z", recorded_at="2026-03-31T23:00:00Z")
        expected = []
        happened = (base - dt.timedelta(days=30)).isoformat()  # activityDate does not select
        for number in range(60):
            recorded = base + dt.timedelta(minutes=number)
            kind = (1, 2, 10)[number % 3]
            guid = mk.add_activity(
                lead, kind, happened, "/p", number, {"Webpage URL": "/p"}, recorded
            )
            expected.append(guid)
            mk.add_activity(lead, 12, "2026-04-02T00:00:00Z", recorded_at=base)  # not asked
        client = Client(mk)
        client.login()
        first = client.since()
        seen: list[str] = []
        sizes = []
        for page in client.pages("/rest/v1/activities.json", first, activityTypeIds="1,2,10"):
            sizes.append(len(page.get("result", [])))
            seen += [item["marketoGUID"] for item in page.get("result", [])]
            if "result" in page:
                assert {item["activityTypeId"] for item in page["result"]} <= {1, 2, 10}
        assert seen == expected  # recorded order, the early-recorded one left out
        assert 0 in sizes[:-1] and any(0 < size < 7 for size in sizes[:-1])

        path = "/rest/v1/activities.json"
        again = client.get(path, nextPageToken=first, activityTypeIds=[1, 2, 10], batchSize=5)
        replayed = [item["marketoGUID"] for item in again.get("result", [])]
        assert set(replayed) <= set(seen)  # a reused token serves the same again: dedupe
        assert len(set(seen)) == len(seen)
        assert _code(client.get(path, nextPageToken="junk", activityTypeIds="1")) == "1001"
        eleven = ",".join(map(str, range(1, 12)))
        assert _code(client.get(path, nextPageToken=first, activityTypeIds=eleven)) == "1003"
        bad_since = client.get("/rest/v1/activities/pagingtoken.json", sinceDatetime="yesterday")
        assert _code(bad_since) == "1001"


def test_leads_by_id_get_and_post_method_get_and_414(mk: MarketoContractServer) -> None:
    one = mk.put_lead(email="a@example.jp", firstName="花子", leadScore=40)
    two = mk.put_lead(email="b@example.jp", company="Acme", createdAt="2026-04-02T10:00:00+09:00")
    client = Client(mk)
    client.login()
    wanted = {
        "filterType": "id",
        "filterValues": f"{one},{two},999999",
        "fields": "email,company,leadScore,createdAt",
    }
    result = client.get("/rest/v1/leads.json", **wanted)["result"]
    assert [lead["id"] for lead in result] == [one, two]
    assert result[0]["company"] is None and result[0]["leadScore"] == 40
    assert result[1]["createdAt"] == "2026-04-02T01:00:00Z"
    posted = client.session.post(
        f"{mk.base_url}/rest/v1/leads.json?_method=GET",
        data=wanted,
        headers={"Authorization": f"Bearer {client.token}"},
    ).json()
    assert posted["result"] == result
    unknown = client.get("/rest/v1/leads.json", filterType="id", filterValues=one, fields="nope")
    assert _code(unknown) == "1006"
    many = ",".join(str(number) for number in range(1, 302))
    assert _code(client.get("/rest/v1/leads.json", filterType="id", filterValues=many)) == "1003"
    huge = ",".join(str(10_000_000 + number) for number in range(1000))
    too_long = client.session.get(
        f"{mk.base_url}/rest/v1/leads.json",
        params={"filterType": "id", "filterValues": huge},
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert too_long.status_code == 414 and too_long.headers["Content-Type"] == "text/plain"
    fields = {item["rest"]["name"] for item in client.get("/rest/v1/leads/describe.json")["result"]}
    assert {"id", "email", "leadStatus", "sfdcContactId", "createdAt", "updatedAt"} <= fields


def test_deleted_lead_leaves_and_is_listed_as_deleted(mk: MarketoContractServer) -> None:
    keep = mk.put_lead(email="keep@example.jp")
    gone = mk.put_lead(email="gone@example.jp", firstName="Ken", lastName="Suzuki")
    mk.add_activity(keep, 2, "2026-04-02T01:00:00Z", primary="Contact us")
    mk.add_activity(gone, 2, "2026-04-02T01:00:00Z", primary="Contact us")
    client = Client(mk)
    client.login()
    token = client.since("2000-01-01T00:00:00+09:00")
    mk.delete_lead(gone)
    found = client.get("/rest/v1/leads.json", filterType="id", filterValues=f"{keep},{gone}")
    assert [lead["id"] for lead in found["result"]] == [keep]
    activities = client.items("/rest/v1/activities.json", token, activityTypeIds="2")
    assert [item["leadId"] for item in activities] == [keep]
    deleted = client.items("/rest/v1/activities/deletedleads.json", token)
    assert [(d["leadId"], d["activityTypeId"], d["primaryAttributeValue"]) for d in deleted] == [
        (gone, 37, "Ken Suzuki")
    ]


def test_merge_points_the_losers_activities_at_the_winner(mk: MarketoContractServer) -> None:
    winner = mk.put_lead(email="w@example.jp", leadScore=10)
    loser = mk.put_lead(email="l@example.jp", company="Acme", leadScore=5)
    guid = mk.add_activity(loser, 1, "2026-04-02T01:00:00Z", primary="/top")
    client = Client(mk)
    client.login()
    token = client.since("2000-01-01T00:00:00Z")
    mk.merge(winner, [loser])
    items = client.items("/rest/v1/activities.json", token, activityTypeIds="1,32")
    moved = next(item for item in items if item["marketoGUID"] == guid)
    assert moved["leadId"] == winner
    merge = next(item for item in items if item["activityTypeId"] == 32)
    attributes = {a["name"]: a["value"] for a in merge["attributes"]}
    assert merge["leadId"] == winner and attributes["Merge IDs"] == f"[{loser}]"
    assert attributes["Master Updated"] is True and "Merge Source" in attributes
    ids = f"{winner},{loser}"
    found = client.get(
        "/rest/v1/leads.json", filterType="id", filterValues=ids, fields="company,leadScore"
    )["result"]
    assert found == [{"id": winner, "company": "Acme", "leadScore": 15}]
    deleted = client.get("/rest/v1/activities/deletedleads.json", nextPageToken=token)
    assert "result" not in deleted and deleted["moreResult"] is False


def test_a_cut_answer_then_a_whole_one(mk: MarketoContractServer) -> None:
    client = Client(mk)
    client.login()
    mk.faults.append(Fault(r"/leads/describe\.json$", "cut"))
    with pytest.raises(requests.exceptions.RequestException):
        client.get("/rest/v1/leads/describe.json")
    assert client.get("/rest/v1/leads/describe.json")["success"]
    assert [status for _, path, status, _ in mk.requests if path.endswith("describe.json")] == [
        200,
        200,
    ]
