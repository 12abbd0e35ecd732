#!/usr/bin/env python3
"""Benchmark: a HubSpot sync against the contract server, at HubSpot's burst limit.

    python bench/sync_hubspot.py [--contacts 100000] [--companies 2000] [--deals 10000]
                                 [--changed 100] [--burst 190] [--window 10]
                                 [--database-url URL] [--keep]

1. Recreates the bench database (default postgresql://postgres@127.0.0.1:5432/kpi_bench_sync)
   and migrates it; starts tests/contract_servers/hubspot.py on 127.0.0.1 enforcing the burst
   limit (190 requests per 10 s: a Professional portal's private app) and 5 searches a
   second, seeded with companies, contacts and deals (each deal with a contact and a primary
   company), their last changes spread over the past days.
2. Times a first (full) sync, `integrations.sync.run_sync`, and prints requests/s and
   records/s beside the ceiling: the limit's record throughput, i.e. the sustained request
   rate it allows (190 / 10 s = 19 requests/s) times the records per request of the fewest
   requests that could read the portal (list pages of 100, association reads of 1,000
   deals, the fixed calls). Target: at least 80% of it.
3. Changes `--changed` contacts spread over the table and times the incremental sync that
   follows; prints both runs' request counts. Target: requests in proportion to the changes
   (at most the fixed calls plus a page per 200 changes per object), not to the table.

Exit status 0 when both targets pass, 2 when one fails.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from multiprocessing.connection import Connection

from syncing import (
    DEFAULT_DATABASE_URL,
    TARGET_SHARE,
    drop,
    in_server_process,
    setup_django,
    start_server,
    verdict,
)

LIST_PAGE, ASSOCIATIONS_PER_READ, SEARCH_PAGE = 100, 1000, 200
TOKEN = "pat-bench"  # noqa: S105 - the contract server's

# Fixed calls of any run: owners, pipelines; a full run adds one newest-stamp search per
# object, an incremental run one archived listing per object.
FIXED_CALLS = 2
OBJECTS = 3


def seed(hs: object, contacts: int, companies: int, deals: int) -> None:
    """A portal whose records changed one a minute, the newest an hour ago."""
    from tests.integrations.test_hubspot_mapping import _stage

    hs.state.pipelines = [  # type: ignore[attr-defined]
        {
            "id": "default",
            "label": "Sales",
            "stages": [
                _stage("appt", "初回商談", "false", "0.2"),
                _stage("won", "受注", "true", "1.0"),
                _stage("lost", "失注", "true", "0.0"),
            ],
        }
    ]
    put = hs.put  # type: ignore[attr-defined]
    for number in range(1, companies + 1):
        put("companies", str(number), name=f"株式会社{number}", industry="製造",
            numberofemployees=str(number % 900 + 1))  # fmt: skip
    sources = ("PAID_SEARCH", "ORGANIC_SEARCH", "EMAIL_MARKETING", "OFFLINE", "REFERRALS")
    for number in range(1, contacts + 1):
        day = number % 28 + 1
        put("contacts", str(number), email=f"c{number}@example.jp", firstname="太郎",
            lastname=f"山田{number}", createdate=f"2026-05-{day:02d}T01:00:00Z",
            hs_analytics_source=sources[number % len(sources)],
            hs_lifecyclestage_marketingqualifiedlead_date=(
                f"2026-06-{day:02d}T00:00:00Z" if number % 3 == 0 else None),
            associatedcompanyid=str(number % companies + 1))  # fmt: skip
    for number in range(1, deals + 1):
        deal, stage = str(10_000_000 + number), ("appt", "won", "lost")[number % 3]
        put("deals", deal, dealname=f"d{number}", amount=str(number % 50 * 100_000),
            deal_currency_code="JPY", createdate="2026-07-01T00:00:00Z",
            closedate="2026-08-01T00:00:00Z", dealstage=stage,
            hs_analytics_source="PAID_SEARCH")  # fmt: skip
        hs.associate(deal, "contacts", str(number * 7 % contacts + 1))  # type: ignore[attr-defined]
        hs.associate(deal, "companies", str(number % companies + 1), "Primary")  # type: ignore[attr-defined]
    hs.spread(minutes_apart=1)  # type: ignore[attr-defined]


def serve(conn: Connection, args: argparse.Namespace) -> None:
    """The contract server in a process of its own (as HubSpot is): the sync's threads do
    not share an interpreter lock with it. Commands come over the pipe."""
    in_server_process()
    from tests.contract_servers.hubspot import HubSpotContractServer

    with HubSpotContractServer(token=TOKEN, burst=args.burst, window=args.window) as hs:
        started = time.monotonic()
        seed(hs, args.contacts, args.companies, args.deals)
        conn.send((hs.base_url, time.monotonic() - started))
        while True:
            command, value = conn.recv()
            if command == "stop":
                return
            if command == "change":
                for number in value:
                    hs.put("contacts", str(number), hubspotscore=str(number % 100))
                conn.send(None)
            elif command == "statuses":
                conn.send([status for _, _, status in hs.requests])
                hs.requests.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--burst", type=int, default=190)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    setup_django(args.database_url)
    from integrations.connections import add_connection
    from integrations.sync import run_sync

    pipe, server = start_server(serve, args)
    try:
        base_url, seeding = pipe.recv()
        print(f"seeded {args.contacts:,} contacts, {args.companies:,} companies, "
              f"{args.deals:,} deals in {seeding:.1f} s")  # fmt: skip
        connection = add_connection("hs", "hubspot", {"token": TOKEN}, base_url=base_url)
        records = args.contacts + args.companies + args.deals
        run, full = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the full sync failed: {run.error}")
            return 1
        seconds, requests = full["seconds"], full["requests"]
        fewest = (
            FIXED_CALLS
            + OBJECTS
            + sum(math.ceil(n / LIST_PAGE) for n in (args.contacts, args.companies, args.deals))
            + 2 * math.ceil(args.deals / ASSOCIATIONS_PER_READ)
        )
        # The limit's record throughput: requests at the sustained rate the limit allows,
        # each carrying the records the fewest requests would.
        ceiling_requests = args.burst / args.window
        ceiling_records = records / fewest * ceiling_requests
        share = (records / seconds) / ceiling_records
        pipe.send(("statuses", None))
        throttled = sum(1 for status in pipe.recv() if status == 429)
        print()
        print(f"full sync: {records:,} records in {seconds:.1f} s, {requests:,} requests "
              f"({throttled} answered 429)")  # fmt: skip
        print(f"  requests/s {requests / seconds:8.1f}   ceiling {ceiling_requests:8.1f}")
        print(f"  records/s  {records / seconds:8.1f}   ceiling {ceiling_records:8.1f} "
              f"({fewest:,} requests at the limit)")  # fmt: skip
        full_ok = share >= TARGET_SHARE
        print(f"  {verdict(share)}")

        time.sleep(1.1)  # the search limit counts across runs
        step = max(args.contacts // args.changed, 1)
        pipe.send(("change", list(range(1, args.contacts + 1, step)[: args.changed])))
        pipe.recv()
        run, incremental = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the incremental sync failed: {run.error}")
            return 1
        persons = incremental["objects"]["persons"]
        bound = FIXED_CALLS + OBJECTS * 2 + math.ceil(args.changed / SEARCH_PAGE) + 2
        inc_ok = incremental["requests"] <= bound and persons["updated"] == args.changed
        print()
        print(f"incremental sync after {args.changed} changed contacts of {args.contacts:,}: "
              f"{incremental['requests']} requests (the full sync: {requests:,}) in "
              f"{incremental['seconds']:.2f} s; persons fetched {persons['fetched']}, "
              f"updated {persons['updated']}")  # fmt: skip
        print(f"  at most {bound} requests expected: {'PASS' if inc_ok else 'FAIL'}")
    finally:
        pipe.send(("stop", None))
        server.join(timeout=30)
        if not args.keep:
            drop(args.database_url)
    return 0 if full_ok and inc_ok else 2


if __name__ == "__main__":
    sys.exit(main())
