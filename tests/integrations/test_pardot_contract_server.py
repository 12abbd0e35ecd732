"""The Account Engagement (Pardot) v5 contract server behaves as the vendor documents:
Salesforce OAuth login, both headers and their error codes, field selection, page tokens,
incremental filters, the recycle bin, linked visits, the 100,000-record token cap (small
here), the concurrency limit and a body cut short. No database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.contract_servers.pardot import Fault, PardotContractServer

BU = "0Uv5j000000CaXXCAZ"


@pytest.fixture
def pd() -> Iterator[PardotContractServer]:
    with PardotContractServer() as server:
        yield server


def _login(pd: PardotContractServer, refresh: str = "pd-refresh") -> requests.Response:
    form = {"grant_type": "refresh_token", "client_id": "pd-client",
            "client_secret": "pd-secret", "refresh_token": refresh}  # fmt: skip
    return requests.post(f"{pd.base_url}/services/oauth2/token", data=form, timeout=5)


def _session(pd: PardotContractServer) -> requests.Session:
    session = requests.Session()
    token = _login(pd).json()["access_token"]
    session.headers.update({"Authorization": f"Bearer {token}", "Pardot-Business-Unit-Id": BU})
    return session


def _get(session: requests.Session, pd: PardotContractServer, kind: str, **params: Any) -> Any:
    return session.get(f"{pd.base_url}/api/v5/objects/{kind}", params=params, timeout=5)


def _all(session: requests.Session, pd: PardotContractServer, kind: str, **params: Any) -> list:
    answer = _get(session, pd, kind, **params).json()
    values = answer["values"]
    while answer["nextPageToken"]:
        answer = _get(session, pd, kind, nextPageToken=answer["nextPageToken"],
                      fields=params["fields"]).json()  # fmt: skip
        values += answer["values"]
    return values


def test_login_and_refresh_token_errors(pd: PardotContractServer) -> None:
    answer = _login(pd)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and "pardot_api" in body["scope"]
    assert {"access_token", "instance_url", "id", "issued_at", "signature"} <= set(body)
    assert "expires_in" not in body
    wrong = _login(pd, refresh="nope")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    pd.revoke()
    assert _login(pd).json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }


def test_headers_and_their_codes(pd: PardotContractServer) -> None:
    session = _session(pd)
    url = f"{pd.base_url}/api/v5/objects/lifecycle-stages?fields=id,name"
    assert session.get(url, timeout=5).status_code == 200
    auth = session.headers["Authorization"]
    cases = [
        ({"Authorization": auth}, 181),
        ({"Authorization": auth, "Pardot-Business-Unit-Id": "0Uv5j0"}, 182),
        ({"Authorization": auth, "Pardot-Business-Unit-Id": "0Uv5j000000CaYYCAZ"}, 201),
        ({"Authorization": "Bearer bogus", "Pardot-Business-Unit-Id": BU}, 184),
    ]
    for headers, code in cases:
        answer = requests.get(url, headers=headers, timeout=5)
        assert answer.json()["code"] == code, headers
    assert requests.get(url, headers=cases[3][0], timeout=5).status_code == 401
    pd.expire_tokens()
    expired = session.get(url, timeout=5)
    assert (expired.status_code, expired.json()["code"]) == (401, 184)
    assert pd.requests[-1][2:] == (401, 184)


def test_fields_selection_and_errors(pd: PardotContractServer) -> None:
    campaign = pd.put("campaigns", name="Webinar", cost=50000)
    pd.put("prospects", email="a@example.jp", firstName="Taro", company="ACME",
           campaignId=campaign, at="2026-04-01T00:00:00Z")  # fmt: skip
    session = _session(pd)
    answer = _get(session, pd, "prospects", fields="id,email,createdAt,campaign.name").json()
    assert answer["values"] == [{"id": 1000, "campaign": {"name": "Webinar"},
                                 "createdAt": "2026-04-01T09:00:00+09:00",
                                 "email": "a@example.jp"}]  # fmt: skip
    assert answer["nextPageToken"] is None and answer["nextPageUrl"] is None
    assert _get(session, pd, "prospects").json()["code"] == 13
    assert _get(session, pd, "prospects", fields="id,nope").json()["code"] == 180
    assert _get(session, pd, "prospects", fields="id", limit=1001).status_code == 400
    too_many = _get(session, pd, "prospects", fields="id", idGreaterThan=1,
                    createdAtAfter="2026-01-01T00:00:00+09:00", email="a@example.jp",
                    updatedAtAfter="2026-01-01T00:00:00+09:00")  # fmt: skip
    assert too_many.json()["code"] == 209


def test_paging_with_next_page_token_to_the_end(pd: PardotContractServer) -> None:
    for number in range(25):
        pd.put("prospects", email=f"p{number}@example.jp")
    session = _session(pd)
    first = _get(session, pd, "prospects", fields="id", limit=10).json()
    assert len(first["values"]) == 10 and first["nextPageUrl"].endswith(first["nextPageToken"])
    with_limit = _get(session, pd, "prospects", fields="id", limit=10,
                      nextPageToken=first["nextPageToken"])  # fmt: skip
    assert with_limit.status_code == 400
    assert _get(session, pd, "prospects", fields="id", nextPageToken="x").json()["code"] == 211
    ids = [value["id"] for value in _all(session, pd, "prospects", fields="id", limit=10)]
    assert ids == sorted(ids) and len(ids) == 25 == len(set(ids))
    pd.faults.append(Fault("prospects", "210"))
    expired = _get(session, pd, "prospects", fields="id", nextPageToken=first["nextPageToken"])
    assert expired.json()["code"] == 210


def test_updated_at_filter_in_updated_order_and_linked_visits(pd: PardotContractServer) -> None:
    prospect = pd.put("prospects", email="v@example.jp", at="2026-04-01T00:00:00+09:00")
    visits = [pd.put("visitor-activities", at=f"2026-04-0{day}T10:00:00+09:00", type=20,
                     details="Visit", visitorId=7) for day in (1, 2, 3)]  # fmt: skip
    session = _session(pd)
    since = "2026-04-02T10:00:00+09:00"
    query = {"fields": "id,prospectId,createdAt,updatedAt", "orderBy": "updatedAt,id",
             "updatedAtAfterOrEqualTo": since}  # fmt: skip
    assert [v["id"] for v in _all(session, pd, "visitor-activities", **query)] == visits[1:]
    unencoded = session.get(f"{pd.base_url}/api/v5/objects/visitor-activities?fields=id"
                            f"&updatedAtAfter=2026-04-02T10:00:00+09:00", timeout=5)  # fmt: skip
    assert unencoded.status_code == 400
    pd.link_visitor(visits[0], prospect, at="2026-04-05T00:00:00+09:00")
    seen = _all(session, pd, "visitor-activities", **query)
    assert [v["id"] for v in seen] == [visits[1], visits[2], visits[0]]
    assert seen[-1] == {"id": visits[0], "prospectId": prospect,
                        "createdAt": "2026-04-01T10:00:00+09:00",
                        "updatedAt": "2026-04-05T00:00:00+09:00"}  # fmt: skip
    newest = _get(session, pd, "visitor-activities", fields="id", orderBy="updatedAt DESC",
                  limit=1).json()  # fmt: skip
    assert newest["values"] == [{"id": visits[0]}]


def test_recycle_bin(pd: PardotContractServer) -> None:
    kept = pd.put("prospects", email="k@example.jp", at="2026-04-01T00:00:00Z")
    gone = pd.put("prospects", email="g@example.jp", at="2026-04-01T00:00:00Z")
    pd.put("visitor-activities", prospectId=gone, type=11)
    pd.delete("prospects", gone)
    session = _session(pd)

    def ids(**params: Any) -> list[int]:
        return [value["id"] for value in _all(session, pd, "prospects", fields="id", **params)]

    assert (ids(), ids(deleted="true"), ids(deleted="all")) == ([kept], [gone], [kept, gone])
    deleted = _get(session, pd, "prospects", fields="id,isDeleted,updatedAt", deleted="true")
    assert deleted.json()["values"][0]["updatedAt"] == "2026-04-01T09:00:00+09:00"
    assert _get(session, pd, "visitor-activities", fields="id", deleted="all").status_code == 400
    assert len(_get(session, pd, "visitor-activities", fields="id").json()["values"]) == 1
    pd.undelete("prospects", gone)
    assert ids() == [kept, gone]


def test_sequence_cap_warns_and_ends_the_token_sequence() -> None:
    with PardotContractServer(sequence_cap=25) as pd:
        for number in range(40):
            pd.put("campaigns", name=f"c{number}", cost=number)
        session = _session(pd)
        answer = _get(session, pd, "campaigns", fields="id", limit=10)
        seen = answer.json()["values"]
        while answer.json()["nextPageToken"]:
            answer = _get(session, pd, "campaigns", fields="id",
                          nextPageToken=answer.json()["nextPageToken"])  # fmt: skip
            seen += answer.json()["values"]
        assert len(seen) == 25 and answer.headers["Pardot-Warning"].startswith("203;")
        assert answer.json()["nextPageUrl"] is None
        rest = _all(session, pd, "campaigns", fields="id", limit=10, idGreaterThan=seen[-1]["id"])
        assert len(rest) == 15


def test_concurrency_limit_and_daily_allocation() -> None:
    with PardotContractServer(latency=0.5, daily_limit=12) as pd:
        session = _session(pd)
        url = f"{pd.base_url}/api/v5/objects/lifecycle-stages?fields=id"

        def call(_: int) -> int | None:
            answer = requests.get(url, headers=dict(session.headers), timeout=5)
            return answer.json().get("code")

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(call, range(8)))
        assert set(codes) == {None, 66} and codes.count(None) >= 5
        assert pd.max_in_flight == 5  # never more than five at once
        pd.latency = 0.0
        while pd.calls_today < 12:
            assert session.get(url, timeout=5).status_code == 200
        assert session.get(url, timeout=5).json()["code"] == 122


def test_cut_and_not_json_faults(pd: PardotContractServer) -> None:
    session = _session(pd)
    pd.seed_lifecycle_stages(at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC).isoformat())
    pd.faults += [Fault("lifecycle-stages", "cut"), Fault("lifecycle-stages", "not-json")]
    with pytest.raises(requests.exceptions.RequestException):
        _get(session, pd, "lifecycle-stages", fields="id,name,position").json()
    with pytest.raises(ValueError):
        _get(session, pd, "lifecycle-stages", fields="id").json()
    stages = _get(session, pd, "lifecycle-stages", fields="id,position").json()["values"]
    assert [stage["position"] for stage in stages] == [0, 1, 2, 3, 4]
