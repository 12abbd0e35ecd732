"""The demo's vendor sandboxes: the contract servers of this package (each follows its
vendor's API documentation) seeded with small deterministic companies, served on
127.0.0.1 beside the product by `bin/demo` (`python -m tests.contract_servers.sandbox`).

- HubSpot on PORT (a portal of its own, `seed_demo_portal`);
- Salesforce on PORT + 1 and Marketo on PORT + 2: ONE company's SFA and MA, holding the
  same people (Marketo sets MQL, sales work the leads in Salesforce), so the demo shows
  one person per human across the two and the earliest stage dates among them;
- Account Engagement on PORT + 3: another business unit of its own.

The demo connections (integrations/demo.py) hold the sandboxes' credentials, which are
public on purpose: nothing here is a real vendor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import threading
from http.server import ThreadingHTTPServer
from typing import Any

from integrations.sandboxes import BY_VENDOR

PEOPLE = 160
STATUS = "Lead Status"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sid(prefix: str, number: int) -> str:
    return f"{prefix}{number:012d}DMO"


def seed_demo_company(sf: Any, mk: Any, people: int = PEOPLE, seed: int = 2026) -> None:
    """One company's Salesforce org and Marketo instance over the last five months: leads
    created in Marketo from forms and webinars, MQL set there, synced to Salesforce, where
    sales qualify, disqualify or convert them into opportunities."""
    rng = random.Random(seed)  # demo data, not security
    today = dt.datetime.now(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    owners = [
        sf.put("User", _sid("005", 1), Name="佐藤 花子", Username="sato@demo.example.jp"),
        sf.put("User", _sid("005", 2), Name="鈴木 健", Username="suzuki@demo.example.jp"),
    ]
    sync_user = sf.put("User", _sid("005", 3), Name="Marketo Sync", Username="mkto@demo.example.jp")
    accounts = [
        sf.put(
            "Account",
            _sid("001", n),
            Name=f"デモ工業{n}",
            Industry=("製造", "IT", "小売")[n % 3],
            NumberOfEmployees=rng.choice((30, 150, 900)),
        )
        for n in range(1, 16)
    ]
    programs = [
        ("春のウェビナー", "Webinar", 400_000),
        ("展示会2026", "Trade Show", 1_200_000),
        ("検索広告", "Advertisement", 600_000),
    ]
    campaigns = []
    for n, (name, kind, cost) in enumerate(programs, start=1):
        start = today - dt.timedelta(days=150 - n * 30)
        campaigns.append(
            sf.put(
                "Campaign",
                _sid("701", n),
                Name=name,
                Type=kind,
                ActualCost=cost,
                StartDate=start.date().isoformat(),
            )
        )
    sources = ("Webinar", "Exhibition", "Paid Search", "Organic Search", "Referral")
    for n in range(1, people + 1):
        created = today - dt.timedelta(days=rng.randint(5, 150), hours=rng.randint(0, 8))
        email = f"demo{n}@customer.example.jp"
        program = n % len(programs)
        lead = 5000 + n
        mk.put_lead(
            lead,
            email=email,
            firstName="一郎",
            lastName=f"見本{n}",
            company=f"取引先{n % 40}",
            createdAt=_iso(created),
            leadSource=sources[n % len(sources)],
            leadScore=rng.randint(0, 100),
            industry=("製造", "IT", "小売")[n % 3],
            numberOfEmployees=rng.choice((30, 150, 900)),
        )
        mk.add_activity(lead, 2, _iso(created), primary="資料請求フォーム")
        mk.add_activity(
            lead,
            104,
            _iso(created + dt.timedelta(hours=1)),
            primary=programs[program][0],
            attributes={"New Status": "Attended" if program == 0 else "Registered"},
        )
        for visit in range(rng.randint(1, 4)):
            mk.add_activity(
                lead,
                1,
                _iso(created + dt.timedelta(days=visit, hours=3)),
                attributes={"Webpage URL": f"https://demo.example.jp/p{visit}"},
            )
        sf_lead = _sid("00Q", n)
        sf.put(
            "Lead",
            sf_lead,
            FirstName="一郎",
            LastName=f"見本{n}",
            Name=f"見本{n} 一郎",
            Email=email,
            Company=f"取引先{n % 40}",
            LeadSource=sources[n % len(sources)],
            CreatedDate=_iso(created + dt.timedelta(minutes=5)),
            OwnerId=sync_user if n % 3 == 0 else owners[n % 2],
            Status="Open",
        )
        sf.put(
            "CampaignMember",
            _sid("00v", n),
            CampaignId=campaigns[program],
            LeadId=sf_lead,
            CreatedDate=_iso(created + dt.timedelta(minutes=6)),
        )
        if rng.random() > 0.45:
            continue
        mql = created + dt.timedelta(days=rng.randint(1, 12))
        mk.add_activity(lead, 13, _iso(mql), primary=STATUS, attributes={"New Value": "MQL"})
        sf.history(sf_lead, "MQL", _iso(mql + dt.timedelta(minutes=7)), old="Open")
        outcome = rng.random()
        if outcome < 0.25:
            sf.history(sf_lead, "Disqualified", _iso(mql + dt.timedelta(days=3)), old="MQL")
            sf.put(
                "Lead",
                sf_lead,
                DisqualifyReason__c=rng.choice(("予算なし", "時期尚早", "ターゲット外")),
            )
            continue
        if outcome < 0.45:
            continue
        sql = mql + dt.timedelta(days=rng.randint(1, 10))
        sf.history(sf_lead, "SQL", _iso(sql), old="MQL")
        if rng.random() < 0.35:
            continue
        account = accounts[n % len(accounts)]
        contact = sf.put(
            "Contact",
            _sid("003", n),
            FirstName="一郎",
            LastName=f"見本{n}",
            Email=email,
            AccountId=account,
            CreatedDate=_iso(sql),
        )
        closed = rng.random() < 0.6
        won = closed and rng.random() < 0.5
        close_day = (sql + dt.timedelta(days=rng.randint(10, 60))).date()
        opportunity = sf.put(
            "Opportunity",
            _sid("006", n),
            Name=f"導入案件{n}",
            AccountId=account,
            Amount=rng.randint(5, 60) * 100_000,
            CreatedDate=_iso(sql),
            CloseDate=close_day.isoformat(),
            IsClosed=closed and close_day < today.date(),
            IsWon=won and close_day < today.date(),
            StageName=("Closed Won" if won else "Closed Lost") if closed else "Proposal",
            Loss_Reason__c=None if won or not closed else rng.choice(("価格", "競合", "時期")),
        )
        sf.convert(sf_lead, contact, account, opportunity)


def seed_demo_business_unit(pd: Any, prospects: int = 120, seed: int = 2027) -> None:
    """An Account Engagement business unit over the last five months: prospects from
    campaigns, their visits, form fills and email engagement, lifecycle moves."""
    rng = random.Random(seed)  # demo data, not security
    today = dt.datetime.now(dt.UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    stages = pd.seed_lifecycle_stages()
    users = [
        pd.put("users", 1, firstName="花子", lastName="佐藤", email="sato@bu.example.jp"),
        pd.put("users", 2, firstName="健", lastName="鈴木", email="suzuki@bu.example.jp"),
    ]
    campaigns = [
        pd.put(
            "campaigns",
            10 + n,
            name=name,
            cost=cost,
            createdAt=(today - dt.timedelta(days=150 - 30 * n)).isoformat(),
        )
        for n, (name, cost) in enumerate(
            (("Google広告", 500_000), ("展示会", 900_000), ("ウェビナー", 300_000))
        )
    ]
    sources = ("Google Ads", "展示会", "Webinar", "Organic Search", "Salesforce")
    activity = 1000
    for n in range(1, prospects + 1):
        created = today - dt.timedelta(days=rng.randint(5, 150))
        prospect = pd.put(
            "prospects",
            500 + n,
            email=f"bu{n}@prospect.example.jp",
            firstName="次郎",
            lastName=f"見込{n}",
            company=f"見込商事{n % 30}",
            createdAt=created.isoformat(),
            source=sources[n % len(sources)],
            campaignId=campaigns[n % len(campaigns)],
            score=rng.randint(0, 200),
            industry=("製造", "IT")[n % 2],
            employees=str(rng.choice((25, 180, 1200))),
            assignedToId=users[n % 2],
        )
        kinds = ((20, "Visit", "/pricing"), (4, "Success", "資料請求"), (11, "Open", "メルマガ"))
        for kind, name, details in kinds[: rng.randint(1, 3)]:
            activity += 1
            pd.put(
                "visitor-activities",
                activity,
                prospectId=prospect,
                type=kind,
                typeName=name,
                details=details,
                createdAt=(created + dt.timedelta(hours=activity % 20)).isoformat(),
            )
        previous = stages[1]
        for position, chance in ((2, 0.45), (3, 0.5)):
            if rng.random() > chance:
                break
            moved = created + dt.timedelta(days=rng.randint(1, 10) * (position - 1))
            pd.put(
                "lifecycle-histories",
                prospect * 10 + position,
                prospectId=prospect,
                previousStageId=previous,
                nextStageId=stages[position],
                createdAt=moved.isoformat(),
            )
            previous = stages[position]


def _serve(server: Any, port: int) -> None:
    """Rebind a contract server on a fixed port (they pick a free one by default)."""
    server.httpd.server_close()
    server.httpd = ThreadingHTTPServer(("127.0.0.1", port), server._handler())
    server.base_url = f"http://127.0.0.1:{port}"


def main() -> None:
    """`python -m tests.contract_servers.sandbox --port 8765`: the demo's sandboxes."""
    from tests.contract_servers.hubspot import HubSpotContractServer, seed_demo_portal
    from tests.contract_servers.marketo import MarketoContractServer
    from tests.contract_servers.pardot import PardotContractServer
    from tests.contract_servers.salesforce import SalesforceContractServer

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    port = parser.parse_args().port
    hs = HubSpotContractServer(token=BY_VENDOR["hubspot"].credentials["token"])
    sf = SalesforceContractServer(**BY_VENDOR["salesforce"].credentials)
    mk = MarketoContractServer(**BY_VENDOR["marketo"].credentials)
    pardot = BY_VENDOR["pardot"]
    pd = PardotContractServer(**pardot.credentials, business_unit_id=pardot.business_unit_id)
    servers = (hs, sf, mk, pd)
    for offset, server in enumerate(servers):
        _serve(server, port + offset)
    seed_demo_portal(hs)
    seed_demo_company(sf, mk)
    seed_demo_business_unit(pd)
    for server in servers:
        threading.Thread(target=server.httpd.serve_forever, daemon=True).start()
    print(
        f"vendor sandboxes: HubSpot {hs.base_url}, Salesforce {sf.base_url}, "
        f"Marketo {mk.base_url}, Account Engagement {pd.base_url}",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.httpd.shutdown()
            server.httpd.server_close()


if __name__ == "__main__":
    main()
