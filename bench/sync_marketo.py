#!/usr/bin/env python3
"""Benchmark: a Marketo sync against the contract server, at Marketo's rate limit.

    python bench/sync_marketo.py [--leads 5000] [--activities-per-lead 6] [--pace 50]
                                 [--changed 100] [--database-url URL] [--keep]

Marketo allows 100 calls per 20 s per instance, shared by every integration (Integration
Best Practices); connectors.md has us pace at 50 (`calls_per_20s`, `--pace`). A call reads
at most 300 activities or 300 leads. So:

1. Starts tests/contract_servers/marketo.py in a process of its own, enforcing 100 calls per
   20 s and 10 in flight, seeded with leads, each with form fills, email opens and clicks,
   web visits and status changes, recorded over the past days.
2. Times a first (full) sync and prints records/s beside the ceiling: the records of the
   fewest calls that could read the instance (a paging token, activity pages of 300,
   deleted leads, lead reads of 300) at the pace: with at most `--pace` calls in any 20 s,
   the last of N calls cannot go before 20 s x floor((N - 1) / pace). Target: at least 80%
   of it. With `--pace 100` the ceiling is the instance's whole limit.
3. Records `--changed` new activities (on as many leads) and times the incremental sync;
   target: calls in proportion to the changes, not to the instance.

Exit status 0 when both pass, 2 when one fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

PAGE = 300
WINDOW = 20.0
STATUS = "Lead Status"


def seed(mk: Any, leads: int, per_lead: int) -> int:
    """The instance; returns how many activities it holds. Activities were recorded over
    the past days, a second apart."""
    recorded = time.time() - 86_400 * 3
    count = 0
    sources = ("Paid Search", "Organic Search", "Webinar", "Partner", "Referral")
    for n in range(1, leads + 1):
        day = n % 28 + 1
        mk.put_lead(n, email=f"m{n}@example.jp", firstName="太郎", lastName=f"山田{n}",
                    company=f"会社{n}", createdAt=f"2026-05-{day:02d}T01:00:00Z",
                    leadSource=sources[n % 5], leadScore=n % 100)  # fmt: skip
        kinds = [
            (2, {"primary": "資料請求"}),
            (1, {"attributes": {"Webpage URL": f"https://example.jp/p/{n % 40}"}}),
            (10, {"primary": "ニュースレター"}),
            (11, {"primary": "ニュースレター", "attributes": {"Link": "https://example.jp/w"}}),
            (13, {"primary": STATUS, "attributes": {"New Value": "MQL"}}),
            (1, {"attributes": {"Webpage URL": "https://example.jp/pricing"}}),
        ]
        for index in range(per_lead):
            type_id, extra = kinds[index % len(kinds)]
            recorded += 1
            mk.add_activity(n, type_id, f"2026-05-{day:02d}T{index % 24:02d}:00:00Z",
                            recorded_at=recorded, **extra)  # fmt: skip
            count += 1
    return count


def serve(pipe: Connection, args: argparse.Namespace) -> None:
    in_server_process()
    from tests.contract_servers.marketo import MarketoContractServer

    with MarketoContractServer(calls_per_window=100, window=WINDOW) as mk:
        started = time.monotonic()
        activities = seed(mk, args.leads, args.activities_per_lead)
        pipe.send((mk.base_url, activities, time.monotonic() - started))
        while True:
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "change":
                for n in value:
                    mk.add_activity(n, 2, dt.datetime.now(dt.UTC).isoformat(), primary="再訪")
                mk.requests.clear()
                pipe.send(None)
            elif command == "codes":
                pipe.send([code for _m, _p, _s, code in mk.requests])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--activities-per-lead", type=int, default=6)
    parser.add_argument("--pace", type=int, default=50, help="our calls per 20 s")
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    setup_django(args.database_url)
    from integrations.connections import add_connection
    from integrations.models import Connection as Link
    from integrations.sync import run_sync

    pipe, server = start_server(serve, args)
    try:
        base_url, activities, seeding = pipe.recv()
        print(f"seeded {args.leads:,} leads and {activities:,} activities in {seeding:.1f} s")
        connection = add_connection(
            "mk", "marketo", {"client_id": "mk-client", "client_secret": "mk-secret"},
            base_url=base_url,
        )  # fmt: skip
        Link.objects.filter(pk=connection.pk).update(options={"calls_per_20s": args.pace})
        connection.refresh_from_db()
        run, full = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the full sync failed: {run.error}")
            return 1
        records = activities + args.leads
        seconds, calls = full["seconds"], full["requests"] - 1  # identity is not counted
        fewest = 1 + math.ceil(activities / PAGE) + 1 + math.ceil(args.leads / PAGE)
        # At most `pace` calls in any 20 s: the fewest calls cannot all have gone before
        # 20 s times the number of whole windows before the last one opens.
        ceiling_seconds = WINDOW * ((fewest - 1) // args.pace)
        ceiling = records / ceiling_seconds if ceiling_seconds else float("inf")
        share = records / seconds / ceiling
        pipe.send(("codes", None))
        throttled = sum(1 for code in pipe.recv() if code in ("606", "615"))
        print(f"\nfull sync: {records:,} records in {seconds:.1f} s, {calls} calls "
              f"({throttled} answered 606/615; fewest possible {fewest})")  # fmt: skip
        print(f"  records/s {records / seconds:9.1f}   ceiling {ceiling:9.1f} "
              f"({args.pace} calls per {WINDOW:.0f} s)")  # fmt: skip
        print(f"  {verdict(share)}")
        print(f"  persons {full['objects']['persons']}")
        print(f"  activities {full['objects']['activities']}")

        time.sleep(1)
        step = max(args.leads // args.changed, 1)
        pipe.send(("change", list(range(1, args.leads + 1, step))[: args.changed]))
        pipe.recv()
        run, incremental = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the incremental sync failed: {run.error}")
            return 1
        added = incremental["objects"]["activities"]["created"]
        bound = 2 + 1 + math.ceil(args.changed / PAGE) + 1 + math.ceil(args.changed / PAGE)
        inc_ok = incremental["requests"] <= bound and added == args.changed
        print(f"\nincremental sync after {args.changed} new activities: "
              f"{incremental['requests']} requests (the full sync: {full['requests']}) in "
              f"{incremental['seconds']:.2f} s; activities created {added}")  # fmt: skip
        print(f"  at most {bound} requests expected: {'PASS' if inc_ok else 'FAIL'}")
    finally:
        pipe.send(("stop", None))
        server.join(timeout=30)
        if not args.keep:
            drop(args.database_url)
    return 0 if share >= TARGET_SHARE and inc_ok else 2


if __name__ == "__main__":
    sys.exit(main())
