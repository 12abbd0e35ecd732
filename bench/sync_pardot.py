#!/usr/bin/env python3
"""Benchmark: an Account Engagement (Pardot) v5 sync against the contract server.

    python bench/sync_pardot.py [--prospects 20000] [--latency 0.2] [--changed 100]
                                [--database-url URL] [--keep]

Account Engagement has no per-second request limit: the limits a sync meets are the business
unit's daily API allocation (25,000 to 100,000 calls by edition, shared with every other
integration) and 5 calls in flight ("Version 5 Overview"). A query page holds at most 1,000
records (`limit`), so the allocation's record throughput is 1,000 records per API call. So:

1. Starts tests/contract_servers/pardot.py in a process of its own, answering each API call
   after `--latency` seconds (default 0.2; the login is not delayed), seeded with the
   default lifecycle stages, users, campaigns with costs, prospects (a source, a campaign,
   an assigned user, employees), lifecycle histories (three in four prospects enter MQL,
   position 2; one in three of those then SQL, position 3) and visitor activities (4 to 6
   a prospect, of several types: visits, views, form successes, email opens and clicks,
   sends), each record's `createdAt` and `updatedAt` a minute after the one before, the
   newest a day ago: the incremental sync's 5-minute lookback then holds only what the
   bench changes (and the last few seeded records).
2. Times a first (full) sync: records per API call beside the ceiling, the fewest calls
   that could read the business unit: each object's records in pages of 1,000 (the
   lifecycle stages a page), plus the calls the connector must make besides: one `newest`
   query per object read with a cursor (users, campaigns, prospects, lifecycle histories,
   visitor activities: the cursor is the newest stamp before the read begins, so what
   changes while it reads is seen next time). A full read takes the recycle bins with
   `deleted=all`, so it makes no bin call; the token call is not an API call. Target: at
   least 80% of the ceiling. Also prints records/s beside what the answers' latency alone
   would allow (the ceiling's calls one after another).
3. Changes `--changed` prospects and times the incremental sync. Its calls, from the
   connector's incremental reads (integrations/pardot/sync.py): the token, the lifecycle
   stages, one `updatedAt` (histories: `createdAt`) query per object from its cursor minus
   5 minutes, and the recycle bins of prospects and campaigns (`deleted=true`, a page while
   a bin holds under 1,000; the seed puts nothing in them): 9 calls, plus a page per 1,000
   changed prospects past the first, with room for the lookback's few re-read records.
   Target: at most 9 + ceil(changed / 1,000) calls, and every changed prospect updated.

Exit status 0 when both pass, 2 when one fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from collections.abc import Iterator
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

PAGE = 1000
CURSORED = 5  # users, campaigns, prospects, lifecycle histories, visitor activities
RECYCLE_BINS = 2  # prospects, campaigns: read by every incremental run
BUSINESS_UNIT = "0Uv5j000000CaXXCAZ"
USERS, CAMPAIGNS = 20, 50
PROSPECT, MQL, SQL = 11, 12, 13  # the ids seed_lifecycle_stages gives positions 1 to 3
# (type, typeName's detail, extra fields): visits, views, form successes, email opens and
# clicks are exported; an email send (6) is read and left out, as the connector does.
ACTIVITIES: tuple[tuple[int, str, dict[str, Any]], ...] = (
    (20, "https://example.jp/", {}),
    (2, "LP 春のウェビナー", {"landingPageId": 7}),
    (11, "5月のニュースレター", {"emailId": 31}),
    (1, "https://example.jp/pricing", {"emailId": 31}),
    (4, "資料請求", {"formId": 5}),
    (6, "5月のニュースレター", {"emailId": 31}),
)


def business_unit(prospects: int) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Every record to seed, oldest first: (collection, id, fields)."""
    for n in range(1, USERS + 1):
        login = f"u{n}@corp.example.jp"
        user = {"email": login, "username": login, "firstName": "花子", "lastName": f"佐藤{n}"}
        yield "users", n, {**user, "role": "Sales"}
    for n in range(1, CAMPAIGNS + 1):
        yield "campaigns", n, {"name": f"施策{n}", "cost": 100_000 + n * 1000}
    sources = ("Google Ads", "Organic Search", "Webinar", "Partner", "Seminar")
    history = activity = 0
    for n in range(1, prospects + 1):
        campaign = n % CAMPAIGNS + 1
        yield "prospects", n, {"email": f"p{n}@example.jp", "firstName": "太郎",
                               "lastName": f"山田{n}", "company": f"会社{n}",
                               "source": sources[n % 5], "campaignId": campaign,
                               "assignedToId": n % USERS + 1, "employees": str(n % 900 + 1),
                               "industry": "IT", "score": n % 100}  # fmt: skip
        stages = [(PROSPECT, MQL)] if n % 4 else []
        if stages and n % 3 == 0:
            stages.append((MQL, SQL))
        for days, (previous, next_stage) in enumerate(stages, start=1):
            history += 1
            yield "lifecycle-histories", history, {"prospectId": n, "previousStageId": previous,
                                                   "nextStageId": next_stage,
                                                   "secondsElapsed": days * 86_400}  # fmt: skip
        for index in range(n % 3 + 4):
            activity += 1
            kind, detail, extra = ACTIVITIES[(n + index) % len(ACTIVITIES)]
            fields = {"prospectId": n, "visitorId": n, "campaignId": campaign, **extra}
            yield "visitor-activities", activity, {**fields, "type": kind, "details": detail}


def seed(pd: Any, prospects: int) -> None:
    """The business unit: its records a minute apart, the newest a day ago (a business
    unit's history: the incremental sync's lookback holds only what the bench changes)."""
    records = list(business_unit(prospects))
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)
    oldest = newest - dt.timedelta(minutes=len(records) + 1)
    pd.seed_lifecycle_stages(at=oldest.isoformat())
    for age, (kind, id, fields) in zip(range(len(records), 0, -1), records, strict=True):
        pd.put(kind, id, at=(newest - dt.timedelta(minutes=age - 1)).isoformat(), **fields)


def serve(pipe: Connection, args: argparse.Namespace) -> None:
    in_server_process()
    from tests.contract_servers.pardot import PardotContractServer

    class Recorded(PardotContractServer):
        """Also keeps each API call's parameters (the requests list has its path only)."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.calls: list[tuple[str, dict[str, str]]] = []

        def _api(self, handler: Any, path: str, query: dict[str, str]) -> Any:
            self.calls.append((path, query))
            return super()._api(handler, path, query)

    with Recorded(business_unit_id=BUSINESS_UNIT, latency=args.latency) as pd:
        started = time.monotonic()
        seed(pd, args.prospects)
        counts = {kind: len(rows) for kind, rows in pd.records.items() if rows}
        pipe.send((pd.base_url, counts, time.monotonic() - started))
        while True:
            command, value = pipe.recv()
            if command == "stop":
                return
            if command == "change":
                for n in value:
                    pd.put("prospects", n, company=f"変更後{n}")
                pd.calls.clear()
                pipe.send(None)
            elif command == "calls":
                pipe.send([(path, query) for path, query in pd.calls])


def shown(query: dict[str, str]) -> str:
    """A call's parameters, short: fields and page tokens elided."""
    return " ".join(
        f"{name}={value[:8] + '…' if name == 'nextPageToken' else value}"
        for name, value in query.items()
        if name != "fields"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int, default=20_000)
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
        print(f"seeded {records:,} Account Engagement records ({args.prospects:,} prospects) "
              f"in {seeding:.1f} s")  # fmt: skip
        print("  " + ", ".join(f"{kind} {n:,}" for kind, n in counts.items()))
        connection = add_connection(
            "pd",
            "pardot",
            {"client_id": "pd-client", "client_secret": "pd-secret", "refresh_token": "pd-refresh"},
            base_url=base_url,
            login_url=base_url,
            business_unit_id=BUSINESS_UNIT,
        )
        run, full = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the full sync failed: {run.error}")
            return 1
        seconds, calls = full["seconds"], full["requests"] - 1  # the token call is free
        fewest = sum(math.ceil(n / PAGE) for n in counts.values()) + CURSORED
        share = fewest / calls  # records per call, as a share of the ceiling's
        latency_bound = records / (fewest * args.latency)
        print(f"\nfull sync: {records:,} records in {seconds:.1f} s, {calls} API calls "
              f"({calls / records * 1000:.2f} per 1,000 records; fewest possible "
              f"{fewest})")  # fmt: skip
        print(f"  records per call {records / calls:8.1f}   ceiling {records / fewest:8.1f}")
        print(f"  {verdict(share)}")
        print(f"  records/s {records / seconds:9.1f}   ({latency_bound:,.0f} if only the "
              f"answers' {args.latency:.2f} s took time)")  # fmt: skip
        for kind in ("persons", "activities", "costs"):
            print(f"  {kind} {full['objects'][kind]}")

        step = max(args.prospects // args.changed, 1)
        pipe.send(("change", list(range(1, args.prospects + 1, step))[: args.changed]))
        pipe.recv()
        run, incremental = run_sync(connection)
        if run.status not in ("succeeded", "partial"):
            print(f"the incremental sync failed: {run.error}")
            return 1
        persons = incremental["objects"]["persons"]
        bound = 2 + CURSORED + RECYCLE_BINS + math.ceil(args.changed / PAGE)
        inc_ok = incremental["requests"] <= bound and persons["updated"] == args.changed
        print(f"\nincremental sync after {args.changed} changed prospects of "
              f"{args.prospects:,}: {incremental['requests']} requests (the full sync: "
              f"{full['requests']}) in {incremental['seconds']:.2f} s; persons fetched "
              f"{persons['fetched']}, updated {persons['updated']}")  # fmt: skip
        print(f"  at most {bound} requests expected: {'PASS' if inc_ok else 'FAIL'}")
        pipe.send(("calls", None))
        for path, query in pipe.recv():
            print(f"    {path.removeprefix('/api/v5/objects/')} {shown(query)}")
    finally:
        pipe.send(("stop", None))
        server.join(timeout=30)
        if not args.keep:
            drop(args.database_url)
    return 0 if share >= TARGET_SHARE and inc_ok else 2


if __name__ == "__main__":
    sys.exit(main())
