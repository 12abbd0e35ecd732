"""A Marketo sync end to end (integrations/marketo/, the `sync` command) against the
contract server of tests/contract_servers/marketo.py: the KPIs equal those of importing the
same facts as canonical CSV, also when Marketo answers its errors inside HTTP 200 (606,
615, 604, 602), sends sparse pages and cuts answers short; a second sync changes nothing;
deleted and merged leads leave, their activities with them or moved to the winner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from funnel.models import Activity, Person, SourcePerson
from integrations.connections import add_connection
from integrations.models import SyncRun
from tests.contract_servers.marketo import Fault, MarketoContractServer
from tests.integrations.canonical import (
    ACTIVITY_HEADER,
    PERSON_HEADER,
    as_csv,
    kpis,
    sync,
    table,
)

pytestmark = pytest.mark.django_db(transaction=True)

TARO, JANE, KEN = 1001, 1002, 1003
STATUS = "Lead Status"


def _status(mk: MarketoContractServer, lead: int, value: str, at: str) -> None:
    mk.add_activity(lead, 13, at, primary=STATUS, attributes={"New Value": value})


def _seed(mk: MarketoContractServer) -> dict[str, str]:
    """The instance's facts; returns the exported activities' marketoGUIDs by name."""
    mk.put_lead(
        TARO, email="taro@example.jp", firstName="太郎", lastName="山田", company="サンプル",
        createdAt="2026-04-02T01:00:00Z", leadSource="Paid Search", leadScore=40,
        industry="製造", numberOfEmployees=120,
    )  # fmt: skip
    mk.put_lead(
        JANE, email="Jane@Example.com", firstName="Jane", lastName="Doe", company="Acme",
        createdAt="2026-04-03T01:00:00Z", leadSource="Newsletter", industry="IT",
        numberOfEmployees=5000,
    )  # fmt: skip
    mk.put_lead(KEN, email="ken@example.jp", lastName="鈴木", createdAt="2026-04-20T01:00:00Z")
    guids = {
        "visit": mk.add_activity(
            TARO, 1, "2026-03-30T09:00:00Z", primary="/pricing",
            attributes={"Webpage URL": "https://example.jp/pricing"},
        ),  # an anonymous visit tied to Taro later: before he became a lead
        "form": mk.add_activity(TARO, 2, "2026-04-02T01:00:00Z", primary="資料請求フォーム"),
        "open": mk.add_activity(JANE, 10, "2026-04-04T00:00:00Z", primary="4月ニュースレター"),
        "click": mk.add_activity(
            JANE, 11, "2026-04-04T00:05:00Z", primary="4月ニュースレター",
            attributes={"Link": "https://example.jp/webinar"},
        ),
        "webinar": mk.add_activity(
            TARO, 104, "2026-04-04T10:00:00Z", primary="春のウェビナー",
            attributes={"New Status": "Attended", "Old Status": "Registered"},
        ),
        "booth": mk.add_activity(
            JANE, 104, "2026-04-18T02:00:00Z", primary="展示会2026",
            attributes={"New Status": "Visited Booth"},
        ),
    }  # fmt: skip
    mk.add_activity(
        TARO, 104, "2026-04-03T00:00:00Z", primary="春のウェビナー",
        attributes={"New Status": "Registered"},
    )  # fmt: skip  # the first progression: Taro's campaign; registration is not exported
    mk.add_activity(
        JANE, 11, "2026-04-04T00:06:00Z", primary="4月ニュースレター",
        attributes={"Link": "https://example.jp/x", "Is Bot Activity": True},
    )  # fmt: skip  # a link scanner's click: dropped
    mk.add_activity(JANE, 22, "2026-04-05T00:00:00Z", primary="leadScore")  # not exported
    _status(mk, TARO, "MQL", "2026-04-05T00:00:00Z")
    _status(mk, TARO, "SQL", "2026-04-08T00:00:00Z")
    _status(mk, JANE, "MQL", "2026-04-06T00:00:00Z")
    _status(mk, JANE, "Disqualified", "2026-04-10T00:00:00Z")
    _status(mk, JANE, "MQL", "2026-04-20T00:00:00Z")  # the first MQL date stays
    mk.add_activity(
        KEN, 13, "2026-04-21T00:00:00Z", primary="Job Title", attributes={"New Value": "MQL"}
    )  # another field's change: no stage
    return guids


PERSONS = {
    TARO: f"{TARO},taro@example.jp,山田 太郎,サンプル,2026-04-02T01:00:00Z,paid_search,"
    "春のウェビナー,2026-04-05T00:00:00Z,2026-04-08T00:00:00Z,,,40,製造,50-299,",
    JANE: f"{JANE},Jane@Example.com,Doe Jane,Acme,2026-04-03T01:00:00Z,newsletter,展示会2026,"
    "2026-04-06T00:00:00Z,,2026-04-10T00:00:00Z,,,IT,300+,",
    KEN: f"{KEN},ken@example.jp,鈴木,,2026-04-20T01:00:00Z,,,,,,,,,,",
}


def _activities(guids: dict[str, str]) -> dict[str, str]:
    return {
        "visit": f"{guids['visit']},{TARO},,web_visit,2026-03-30T09:00:00Z,"
        "https://example.jp/pricing",
        "form": f"{guids['form']},{TARO},,form_submit,2026-04-02T01:00:00Z,資料請求フォーム",
        "open": f"{guids['open']},{JANE},,email_open,2026-04-04T00:00:00Z,4月ニュースレター",
        "click": f"{guids['click']},{JANE},,email_click,2026-04-04T00:05:00Z,"
        "https://example.jp/webinar",
        "webinar": f"{guids['webinar']},{TARO},,webinar,2026-04-04T10:00:00Z,春のウェビナー",
        "booth": f"{guids['booth']},{JANE},,event,2026-04-18T02:00:00Z,展示会2026",
    }


@pytest.fixture
def mk() -> Iterator[MarketoContractServer]:
    with MarketoContractServer(page_size=2, sparse=True) as server:
        yield server


def _connect(mk: MarketoContractServer, name: str = "mk", **credentials: str) -> None:
    given = {"client_id": "mk-client", "client_secret": "mk-secret", **credentials}
    add_connection(name, "marketo", given, base_url=mk.base_url)


def _expected(
    tmp_path: Path, persons: dict[int, str], activities: dict[str, str]
) -> dict[str, Any]:
    return as_csv(
        tmp_path,
        "mk",
        persons=table(PERSON_HEADER, list(persons.values())),
        activities=table(ACTIVITY_HEADER, list(activities.values())),
    )


def test_a_sync_gives_the_kpis_of_the_same_facts_as_csv(
    mk: MarketoContractServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations.marketo import client

    monkeypatch.setattr(client, "RATE_LIMITED_WAIT", 1.0)  # 20 s in life
    guids = _seed(mk)
    mk.faults = [
        Fault(r"/activities.json", "606"),
        Fault(r"/activities.json", "602", skip=2),
        Fault(r"/activities.json", "604", skip=3),
        Fault(r"/activities.json", "cut", skip=4),
        Fault(r"/leads.json", "615"),
        Fault(r"/leads.json", "414"),  # sent again as POST with _method=GET
        Fault(r"/deletedleads.json", "not-json"),
    ]
    _connect(mk)
    summary = sync("mk")
    assert summary["status"] == "succeeded", summary
    assert all(fault.times == 0 for fault in mk.faults)
    assert summary["requests"] == len(mk.requests)
    assert summary["objects"]["persons"]["created"] == 3
    assert summary["objects"]["activities"]["created"] == 6
    assert Activity.objects.filter(person__isnull=True).count() == 0
    synced = kpis()
    assert synced == _expected(tmp_path, PERSONS, _activities(guids))


def test_a_second_sync_changes_nothing(mk: MarketoContractServer) -> None:
    _seed(mk)
    _connect(mk)
    sync("mk")
    again = sync("mk")
    for counts in again["objects"].values():
        assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0), again


def test_deleted_and_merged_leads_leave(mk: MarketoContractServer, tmp_path: Path) -> None:
    guids = _seed(mk)
    _connect(mk)
    sync("mk")
    mk.delete_lead(KEN)
    mk.merge(TARO, [JANE])  # Jane's activities and stage changes now belong to Taro
    summary = sync("mk")
    assert summary["status"] == "succeeded", summary
    assert summary["objects"]["persons"]["deleted"] == 2
    assert not SourcePerson.objects.filter(external_id__in=[str(KEN), str(JANE)]).exists()
    moved = _activities(guids)
    for name in ("open", "click", "booth"):
        moved[name] = moved[name].replace(f",{JANE},", f",{TARO},")
    taro = Person.objects.get(email_normalized="taro@example.jp")
    # The merged history: Taro's stage dates are the first of both (Jane's disqualification
    # included); his other columns are Marketo's merged record.
    assert taro.disqualified_at is not None
    persons = {TARO: _merged_taro(mk)}
    assert kpis() == _expected(tmp_path, persons, moved)


def _merged_taro(mk: MarketoContractServer) -> str:
    lead = mk.leads[TARO]
    return (
        f"{TARO},taro@example.jp,山田 太郎,サンプル,2026-04-02T01:00:00Z,paid_search,"
        f"春のウェビナー,2026-04-05T00:00:00Z,2026-04-08T00:00:00Z,2026-04-10T00:00:00Z,,{lead['leadScore']},"
        "製造,50-299,"
    )


def test_a_used_up_daily_quota_stops_the_run(mk: MarketoContractServer) -> None:
    _seed(mk)
    mk.daily_quota = 2
    _connect(mk)
    with pytest.raises(CommandError, match="daily API quota"):
        sync("mk")
    run = SyncRun.objects.get(kind="marketo")
    assert run.status == SyncRun.Status.FAILED


def test_bad_credentials_fail_the_run_without_showing_them(mk: MarketoContractServer) -> None:
    _connect(mk, client_secret="wrong-secret")
    with pytest.raises(CommandError, match="authentication failed") as failure:
        sync("mk")
    assert "wrong-secret" not in str(failure.value)
    assert "wrong-secret" not in SyncRun.objects.get(kind="marketo").error


def test_connections_test_describes_the_leads(mk: MarketoContractServer) -> None:
    from io import StringIO

    _connect(mk)
    out = StringIO()
    call_command("connections", "test", "mk", stdout=out)
    assert out.getvalue().strip().startswith("ok: Marketo instance")


def test_a_malformed_page_fails_the_run_naming_it_and_loses_nothing(
    mk: MarketoContractServer,
) -> None:
    import json

    _seed(mk)
    _connect(mk)
    sync("mk")
    before = kpis()
    mk.put_lead(KEN, company="新会社")
    mk.add_activity(KEN, 2, "2026-04-22T00:00:00Z", primary="問い合わせ")
    original = mk._answer

    def broken(*args: Any) -> Any:
        answer = original(*args)
        data = json.loads(answer.body) if answer.body.startswith(b"{") else {}
        if "activities.json" in args[1] and data.get("result"):
            data["result"][0].pop("leadId")
            answer.body = json.dumps(data).encode()
        return answer

    mk._answer = broken  # type: ignore[method-assign]
    with pytest.raises(CommandError, match="Marketo sent an activity without its ids"):
        sync("mk")
    assert kpis() == before
    mk._answer = original  # type: ignore[method-assign]
    assert sync("mk")["status"] == "succeeded"
    assert Person.objects.get(source_records__external_id=str(KEN)).company == "新会社"
