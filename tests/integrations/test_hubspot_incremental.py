"""HubSpot incremental syncs (docs/connectors.md section 3, "Sync") against the contract
server, which follows HubSpot's "Search the CRM" guide (10,000 results per query, 5
searches a second, ties in no promised order, index lag), "Merge contacts" / "Merge deals"
and "Refresh an access token": after each change in the portal, the KPIs equal those of
importing HubSpot's current state as canonical CSV, and a run reads what changed only."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from funnel.models import Person, SourcePerson
from integrations.connections import add_connection
from integrations.hubspot import client as hubspot_client
from integrations.models import SyncCursor, SyncRun
from tests.contract_servers.hubspot import Fault, HubSpotContractServer, _iso
from tests.integrations.test_hubspot_sync import (
    OPPORTUNITIES_CSV,
    PERSONS_CSV,
    _as_csv,
    _kpis,
    _seed,
    _sync,
)

pytestmark = pytest.mark.django_db(transaction=True)

PERSON_ROWS = dict(line.split(",", 1) for line in PERSONS_CSV.splitlines()[1:] if line)
DEAL_ROWS = dict(line.split(",", 1) for line in OPPORTUNITIES_CSV.splitlines()[1:] if line)


def _csv(header: str, rows: dict[str, str]) -> str:
    return "\n".join([header, *(f"{key},{value}" for key, value in rows.items()), ""])


def _persons(**changed: str | None) -> str:
    rows = {**PERSON_ROWS, **changed}
    return _csv(PERSONS_CSV.splitlines()[0], {k: v for k, v in rows.items() if v is not None})


def _deals(**changed: str | None) -> str:
    rows = {**DEAL_ROWS, **changed}
    return _csv(OPPORTUNITIES_CSV.splitlines()[0], {k: v for k, v in rows.items() if v is not None})


@pytest.fixture
def hs() -> Iterator[HubSpotContractServer]:
    """The portal of test_hubspot_sync, its records changed over the last hours, synced."""
    with HubSpotContractServer(token="pat-na1-test") as server:
        _seed(server)
        server.spread()
        add_connection("hs", "hubspot", {"token": "pat-na1-test"}, base_url=server.base_url)
        _sync()
        time.sleep(1.0)  # HubSpot's 5 searches a second count across runs
        server.requests.clear()
        yield server


def test_a_second_run_reads_what_changed_and_equals_a_clean_import(
    hs: HubSpotContractServer, tmp_path: Path
) -> None:
    hs.put("contacts", "102", hubspotscore="55")
    hs.put(
        "contacts", "104", email="aki@example.jp", firstname="Aki", lastname="Ito",
        createdate="2026-05-01T00:00:00Z", hs_analytics_source="DIRECT_TRAFFIC",
    )  # fmt: skip
    hs.put("deals", "9003", dealstage="won", closedate="2026-06-01T00:00:00Z", amount="500000")
    summary = _sync()
    persons, deals = summary["objects"]["persons"], summary["objects"]["opportunities"]
    assert (persons["created"], persons["updated"], persons["deleted"]) == (1, 1, 0)
    assert (deals["created"], deals["updated"], deals["deleted"]) == (0, 1, 0)
    # The changes, and the newest record of each kind again (the 5 minutes looked back).
    assert persons["fetched"] == 3 and deals["fetched"] == 2
    paths = [path for _, path, _ in hs.requests]
    assert paths.count("/crm/v3/objects/contacts/search") == 1
    assert len(paths) == 10  # owners, pipelines, 3 searches, 2 association reads, 3 archived
    synced = _kpis()
    expected = _as_csv(
        tmp_path,
        _persons(
            **{
                "102": PERSON_ROWS["102"].replace(",,IT,300+,", ",55,IT,300+,"),
                "104": "aki@example.jp,Aki Ito,,2026-05-01T00:00:00Z,direct_traffic,,,,,,,",
            }
        ),
        _deals(
            **{
                "9003": "101,,追加,500000,2026-05-01T00:00:00Z,2026-06-01T00:00:00Z,won,受注,,"
                "paid_search"
            }
        ),
    )
    assert synced == expected


def test_a_changed_company_re_derives_its_contacts_and_deals(
    hs: HubSpotContractServer, tmp_path: Path
) -> None:
    hs.put("companies", "501", name="サンプル工業", numberofemployees="20")
    summary = _sync()
    assert summary["objects"]["persons"]["updated"] == 1  # 101: size 50-299 -> 1-49
    assert summary["objects"]["opportunities"]["updated"] == 1  # 9001: the account's name
    synced = _kpis()
    expected = _as_csv(
        tmp_path,
        _persons(**{"101": PERSON_ROWS["101"].replace("50-299", "1-49")}),
        _deals(**{"9001": DEAL_ROWS["9001"].replace("株式会社サンプル", "サンプル工業")}),
    )
    assert synced == expected


def test_archived_and_merged_records_leave_and_their_deals_follow(
    hs: HubSpotContractServer, tmp_path: Path
) -> None:
    hs.merge("contacts", "103", "101")  # 9001 pointed at 101 and 103: now 101 alone
    hs.archive("contacts", "102")  # 9002 loses its person
    hs.merge("deals", "9003", "9001")
    summary = _sync()
    assert summary["status"] == "succeeded"
    assert summary["objects"]["persons"]["deleted"] == 2
    assert summary["objects"]["opportunities"]["deleted"] == 1
    synced = _kpis()
    expected = _as_csv(
        tmp_path,
        _persons(**{"102": None, "103": None}),
        _deals(**{"9002": DEAL_ROWS["9002"].replace("102,", ",", 1), "9003": None}),
    )
    assert synced == expected
    assert _sync()["objects"]["persons"]["deleted"] == 0  # gone once, not again


def test_records_sharing_one_stamp_beyond_the_search_cap_are_all_read(
    hs: HubSpotContractServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HubSpot caps a query at 10,000 results; here (to stay quick) at 400 on both sides."""
    hs.search_cap = 400
    monkeypatch.setattr(hubspot_client, "SEARCH_CAP", 400)
    tie = _iso(int(time.time() * 1000) - 120_000)
    for number in range(1000, 1500):
        hs.put("contacts", str(number), at=tie, email=f"t{number}@example.jp", createdate=tie)
    start = int(time.time() * 1000) - 60_000
    for offset, number in enumerate(range(2000, 2400)):
        at = _iso(start + offset * 10)
        hs.put("contacts", str(number), at=at, email=f"s{number}@example.jp", createdate=at)
    summary = _sync()
    assert summary["status"] == "succeeded"
    assert summary["objects"]["persons"]["created"] == 900
    assert SourcePerson.objects.count() == 903 and Person.objects.count() == 903
    statuses = {status for _, path, status in hs.requests if path.endswith("/search")}
    assert statuses == {200}  # never beyond the cap (400), never over 5 a second (429)


def test_a_record_the_index_showed_late_is_still_read(hs: HubSpotContractServer) -> None:
    now = int(time.time() * 1000)
    hs.put("contacts", "104", at=_iso(now - 60_000), email="late@example.jp",
           createdate="2026-05-01T00:00:00Z")  # fmt: skip
    hs.hide_from_search("contacts", "104")
    hs.put("contacts", "105", at=_iso(now), email="fast@example.jp",
           createdate="2026-05-01T00:00:00Z")  # fmt: skip
    assert _sync()["objects"]["persons"]["created"] == 1
    hs.index("contacts", "104")  # older than the cursor now, but within its 5 minutes
    assert _sync()["objects"]["persons"]["created"] == 1
    assert SourcePerson.objects.filter(external_id="104").exists()


def test_a_run_that_dies_goes_on_from_its_last_page(hs: HubSpotContractServer) -> None:
    start = int(time.time() * 1000) - 3_000_000
    for offset, number in enumerate(range(3000, 4500)):
        at = _iso(start + offset * 1_500)  # 1.5 s apart: a group of 1,000 spans 25 minutes
        hs.put("contacts", str(number), at=at, email=f"r{number}@example.jp", createdate=at)
    # Pages of 200 are written in groups of 1,000: the sixth page (the second group) fails.
    hs.faults = [Fault(r"/contacts/search", "403", skip=5)]
    with pytest.raises(Exception, match="missing scopes"):
        _sync()
    assert SyncRun.objects.latest("requested_at").status == SyncRun.Status.FAILED
    committed = SourcePerson.objects.count() - 3
    assert committed == 999  # the first group: 103 again (the 5 minutes looked back), 999 new
    cursor = SyncCursor.objects.get(object="contact").value
    summary = _sync()
    assert summary["status"] == "succeeded"
    assert int(SyncCursor.objects.get(object="contact").value) > int(cursor)
    persons = summary["objects"]["persons"]
    assert persons["created"] == 1500 - committed
    assert persons["fetched"] < 800  # from the last group committed (less 5 minutes) on
    assert SourcePerson.objects.count() == 1503 and Person.objects.count() == 1503


def test_an_oauth_token_expiring_mid_run_is_refreshed(tmp_path: Path) -> None:
    oauth = ("client-1", "secret-1", "refresh-1")
    with HubSpotContractServer(token="unused", oauth=oauth) as hs:
        _seed(hs)
        hs.faults = [
            Fault(r"/objects/deals$", "expired"),
            Fault(r"/objects/contacts$", "429"),
            Fault(r"/associations/", "503"),
        ]
        credentials = dict(zip(("client_id", "client_secret", "refresh_token"), oauth, strict=True))
        add_connection("oauth", "hubspot", credentials, base_url=hs.base_url)
        summary = _sync("oauth")
        assert summary["status"] == "succeeded"
        assert [path for _, path, _ in hs.requests].count("/oauth/v1/token") == 2
        assert all(fault.times == 0 for fault in hs.faults)
        synced = _kpis()
    assert synced["kpis"]["won_amount"] == 1200000
    assert synced == _as_csv(tmp_path, PERSONS_CSV, OPPORTUNITIES_CSV)


def test_a_full_resync_with_nothing_changed_changes_nothing_and_finds_hard_deletes(
    hs: HubSpotContractServer, tmp_path: Path
) -> None:
    hs.delete_for_good("contacts", "103")  # GDPR: not even in the recycle bin
    assert _sync()["objects"]["persons"]["deleted"] == 0  # only a listing can notice it
    full = dict(_run_full())
    for counts in full["objects"].values():
        assert (counts["created"], counts["updated"]) == (0, 0)
    assert full["objects"]["persons"]["deleted"] == 1
    assert not SourcePerson.objects.filter(external_id="103").exists()
    again = _run_full()
    for counts in again["objects"].values():
        assert (counts["created"], counts["updated"], counts["deleted"]) == (0, 0, 0)


def _run_full() -> dict:
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sync", "hs", "--full", "--format", "json", stdout=out)
    return dict(json.loads(out.getvalue().strip().splitlines()[-1]))


def test_the_cursor_is_a_stamp_from_the_data_not_the_clock(hs: HubSpotContractServer) -> None:
    newest_contact = max(
        dt.datetime.fromisoformat(props["lastmodifieddate"].replace("Z", "+00:00"))
        for props in hs.state.objects["contacts"].values()
    )
    stored = int(SyncCursor.objects.get(object="contact").value)
    assert stored == int(newest_contact.timestamp() * 1000)
