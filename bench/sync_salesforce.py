#!/usr/bin/env python3
"""Benchmark: a Salesforce sync against the contract server.

    python bench/sync_salesforce.py [--leads 30000] [--latency 0.2] [--changed 100]
                                    [--database-url URL] [--keep]

Salesforce has no per-second request limit: the limit a sync meets is the org's daily API
allocation (Developer Limits and Allocations Quick Reference), shared with every other
integration. A query page holds at most 2,000 rows (`Sforce-Query-Options: batchSize`), so
the limit's record throughput is 2,000 records per API call. So:

1. Starts tests/contract_servers/salesforce.py in a process of its own, answering each API
   call after `--latency` seconds (default 0.2), seeded with users, accounts, campaigns,
   leads (two Status history rows each, a campaign membership each; one in six converted
   into a contact and an opportunity with a contact role), and other contacts, their stamps
   a minute apart over the past days.
2. Times a first (full) sync: records per API call beside the ceiling, the fewest calls
   that could read the org (each object's rows in pages of 2,000). Target: at least 80% of
   it. Also prints records/s beside what the answers' latency alone would allow.
3. Changes `--changed` leads and times the incremental sync; target: calls in proportion to
   the changes (one query per object, plus one history re-read per 200 changed leads and a
   page per 2,000 changed rows), not to the org.

Exit status 0 when both pass, 2 when one fails.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from syncing import (
    DEFAULT_DATABASE_URL,
    TARGET_SHARE,
    drop,
    in_server_process,
    setup_django,
    start_server,
    verdict,
)

OBJECTS = 9  # queried every run
PAGE = 2000


def sid(prefix: str, number: int) -> str:
    return f"{prefix}{number:012d}AAA"


def seed(sf: Any, leads: int) -> int:
    """The org; returns how many records it holds."""
    users = [sf.put("User", sid("005", n), Name=f"営業{n}", Username=f"u{n}@corp.example.jp")
             for n in range(1, 21)]  # fmt: skip
    accounts = [sf.put("Account", sid("001", n), Name=f"株式会社{n}", Industry="製造",
                       NumberOfEmployees=n % 900 + 1) for n in range(1, 2001)]  # fmt: skip
    campaigns = [sf.put("Campaign", sid("701", n), Name=f"施策{n}", Type="Webinar",
                        ActualCost=100000, StartDate=f"2026-05-{n % 28 + 1:02d}")
                 for n in range(1, 51)]  # fmt: skip
    count = len(users) + len(accounts) + len(campaigns)
    sources = ("Paid Search", "Organic Search", "Webinar", "Partner", "Outbound")
    for n in range(1, leads + 1):
        day = n % 28 + 1
        lead = sf.put("Lead", sid("00Q", n), LastName=f"山田{n}", FirstName="太郎",
                      Email=f"l{n}@example.jp", Company=f"会社{n}",
                      CreatedDate=f"2026-05-{day:02d}T01:00:00Z", LeadSource=sources[n % 5],
                      OwnerId=users[n % 20], Industry="IT",
                      NumberOfEmployees=n % 500 + 1)  # fmt: skip
        sf.history(lead, "MQL", f"2026-06-{day:02d}T00:00:00Z", old="Open")
        sf.history(lead, "SQL", f"2026-06-{day:02d}T06:00:00Z", old="MQL")
        sf.put("CampaignMember", sid("00v", n), CampaignId=campaigns[n % 50], LeadId=lead,
               CreatedDate=f"2026-05-{day:02d}T02:00:00Z")  # fmt: skip
        count += 4
        if n % 6 == 0:
            account = accounts[n % 2000]
            contact = sf.put("Contact", sid("003", n), LastName=f"山田{n}", AccountId=account,
                             Email=f"l{n}@example.jp", OwnerId=users[n % 20])  # fmt: skip
            opportunity = sf.put("Opportunity", sid("006", n), Name=f"商談{n}",
                                 AccountId=account, Amount=n % 50 * 100000,
                                 CreatedDate="2026-07-01T00:00:00Z", CloseDate="2026-08-01",
                                 IsClosed=n % 12 == 0, IsWon=n % 12 == 0,
                                 StageName="Closed Won" if n % 12 == 0 else "Proposal")  # fmt: skip
            sf.put("OpportunityContactRole", sid("00K", n), OpportunityId=opportunity,
                   ContactId=contact, IsPrimary=True)  # fmt: skip
            sf.convert(lead, contact, account, opportunity)
            count += 3
    for n in range(leads + 1, leads + leads // 6 + 1):
        sf.put("Contact", sid("003", n), LastName=f"佐藤{n}", Email=f"c{n}@example.jp",
               AccountId=accounts[n % 2000], CreatedDate="2026-05-10T00:00:00Z")  # fmt: skip
        count += 1
    backdate(sf)
    return count


def backdate(sf: Any) -> None:
    """Every record last changed a day ago and before, a minute apart (an org's history):
    the incremental sync's 5-minute lookback then holds only what the bench changes."""
    import datetime as dt

    newest = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    age = 0
    for rows in sf.records.values():
        for row in rows.values():
            if "SystemModstamp" in row:
                age += 1
                row["SystemModstamp"] = newest - dt.timedelta(minutes=age)


def object_counts(sf: Any) -> dict[str, int]:
    return {name: len(rows) for name, rows in sf.records.items() if rows}


def serve(pipe: Connection, args: argparse.Namespace) -> None:
    in_server_process()
    from tests.contract_servers.salesforce import SalesforceContractServer

    class Slow(SalesforceContractServer):
        def _answer(self, *call: Any) -> Any:
            if "/services/data/" in str(call[1]):
                time.sleep(args.latency)
            return super()._answer(*call)

    with Slow() as sf:
        started = time.monotonic()
        seed(sf, args.leads)
        sf.api_used = 0
        pipe.send((sf.base_url, object_counts(sf), time.monotonic() - started))
        while True:
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "change":
                for n in value:
                    sf.put("Lead", sid("00Q", n), Company=f"変更後{n}")
                sf.requests.clear()
                pipe.send(None)
            elif command == "requests":
                pipe.send([(path, soql[-160:]) for _m, path, _s, soql in sf.requests])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=30_000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    setup_django(args.database_url)
    from integrations.connections import add_connection
    from integrations.sync import run_sync

    pipe, server = start_server(serve, args)
    try:
        base_url, counts, seeding = pipe.recv()
        records = sum(counts.values())
        print(f"seeded {records:,} Salesforce records ({args.leads:,} leads) in {seeding:.1f} s")
        connection = add_connection(
            "sf",
            "salesforce",
            {"client_id": "sf-client", "client_secret": "sf-secret", "refresh_token": "sf-refresh"},
            login_url=base_url,
        )
        run, full = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the full sync failed: {run.error}")
            return 1
        seconds, calls = full["seconds"], full["requests"] - 1  # the token call is free
        fewest = sum(math.ceil(n / PAGE) for n in counts.values())
        share = fewest / calls  # records per call, as a share of the ceiling's
        latency_bound = records / (fewest * args.latency)
        print(f"\nfull sync: {records:,} records in {seconds:.1f} s, {calls} API calls "
              f"({calls / records * 1000:.2f} per 1,000 records; fewest possible "
              f"{fewest})")  # fmt: skip
        print(f"  records per call {records / calls:8.1f}   ceiling {records / fewest:8.1f}")
        print(f"  {verdict(share)}")
        print(f"  records/s {records / seconds:9.1f}   ({latency_bound:,.0f} if only the "
              f"answers' {args.latency:.2f} s took time)")  # fmt: skip
        print(f"  persons {full['objects']['persons']}, "
              f"opportunities {full['objects']['opportunities']}")  # fmt: skip

        step = max(args.leads // args.changed, 1)
        pipe.send(("change", list(range(1, args.leads + 1, step))[: args.changed]))
        pipe.recv()
        run, incremental = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the incremental sync failed: {run.error}")
            return 1
        persons = incremental["objects"]["persons"]
        bound = 1 + OBJECTS + math.ceil(args.changed / 200) + math.ceil(args.changed / PAGE)
        inc_ok = incremental["requests"] <= bound and persons["updated"] == args.changed
        print(f"\nincremental sync after {args.changed} changed leads of {args.leads:,}: "
              f"{incremental['requests']} requests (the full sync: {full['requests']}) in "
              f"{incremental['seconds']:.2f} s; persons updated {persons['updated']}")  # fmt: skip
        print(f"  at most {bound} requests expected: {'PASS' if inc_ok else 'FAIL'}")
        pipe.send(("requests", None))
        for path, soql in pipe.recv():
            print(f"    {path} {soql}")
    finally:
        pipe.send(("stop", None))
        server.join(timeout=30)
        if not args.keep:
            drop(args.database_url)
    return 0 if share >= TARGET_SHARE and inc_ok else 2


if __name__ == "__main__":
    sys.exit(main())
