#!/usr/bin/env python3
"""Generate a synthetic company in the canonical CSV import format (kpi-spec section 6).

    python bench/generate.py --persons N --out DIR [--seed S]

writes DIR/persons.csv, opportunities.csv, activities.csv, costs.csv, targets.csv and
DIR/manifest.json (row counts, and the period KPIs of spec section 3 for every fiscal quarter
of the data, computed here independently of the product, so a benchmark run can also check
that the import and `kpis` agree with the data).

About 18 months of data, 2025-04-01 to 2026-09-29 (company time Asia/Tokyo; nothing at or
after 2026-09-30 00:00 JST, so `--as-of 2026-09-30T00:00:00+09:00` sees everything).
Proportions: ~40% of persons reach MQL, ~45% of those SQL (plus a few sales-sourced persons
that skip MQL), opportunities for about half of the SQLs, ~25% of opportunities won, ~30%
lost, the rest open; ~3 activities per person; 7 channels; costs per channel per month;
targets for FY2026Q1 and FY2026Q2.

Standard library only and deterministic for a given seed (one `random.Random(seed)`).
Timestamps are precomputed strings (day prefix + time of day), written with csv.writerows.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DAY = 86_400
COMPANY_UTC_OFFSET = 9 * 3600  # Asia/Tokyo, no DST
FIRST_DAY = dt.date(2025, 4, 1)  # FY2025 starts here (fiscal year starts in April)
END_DAY = dt.date(2026, 9, 30)  # exclusive: data ends at 2026-09-30 00:00 JST
SPAN_DAYS = (END_DAY - FIRST_DAY).days
END = SPAN_DAYS * DAY  # seconds since FIRST_DAY 00:00 JST
AS_OF = "2026-09-30T00:00:00+09:00"

# Seconds are counted from FIRST_DAY 00:00 JST, so `t // DAY` is the local day index.
QUARTERS: tuple[tuple[str, dt.date, dt.date], ...] = (
    ("FY2025Q1", dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
    ("FY2025Q2", dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
    ("FY2025Q3", dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
    ("FY2025Q4", dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    ("FY2026Q1", dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    ("FY2026Q2", dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
)
TARGET_QUARTERS = ("FY2026Q1", "FY2026Q2")
TARGET_GROWTH = 1.15  # targets: the same quarter a year earlier, plus 15%


@dataclass(frozen=True)
class Channel:
    key: str
    weight: float  # share of new persons
    mql_rate: float
    cpa: int  # yen per lead, drives costs.csv
    sales_sourced: bool = False


CHANNELS: tuple[Channel, ...] = (
    Channel("organic_search", 0.24, 0.38, 1_500),
    Channel("paid_search", 0.22, 0.36, 8_000),
    Channel("social_ads", 0.14, 0.28, 6_000),
    Channel("webinar", 0.12, 0.56, 5_000),
    Channel("event", 0.10, 0.50, 12_000),
    Channel("outbound", 0.11, 0.36, 3_000, sales_sourced=True),
    Channel("partner", 0.07, 0.46, 4_000, sales_sourced=True),
)

P_SQL_GIVEN_MQL = 0.45
P_SQL_SKIPPING_MQL = 0.08  # sales-sourced persons who go straight to SQL (no mql_at)
P_DISQUALIFIED = 0.5  # of MQLs that do not become SQL
P_OPPORTUNITY = 0.5  # of SQLs
P_WON = 0.30  # decided outcome; deals whose close date is after the data end stay open
P_LOST = 0.33
P_CLOSED_BEFORE_CREATED = 0.002  # deals entered after the fact (spec 6: accepted, warned)
P_OPP_BY_EMAIL = 0.10  # opportunity references its person by email only
P_OPP_UNLINKED = 0.02  # opportunity whose person is in no source

ACTIVITY_TYPES: tuple[tuple[str, float], ...] = (
    ("web_visit", 0.35),
    ("page_view", 0.25),
    ("email_open", 0.15),
    ("email_click", 0.07),
    ("download", 0.06),
    ("form_submit", 0.05),
    ("webinar", 0.04),
    ("event", 0.03),
)
ACTIVITY_DETAILS: dict[str, tuple[str, ...]] = {
    "web_visit": ("/", "/pricing", "/features", "/case-studies", "/blog/kpi-alignment"),
    "page_view": ("/pricing", "/features/dashboard", "/features/kpi-tree", "/docs", "/about"),
    "email_open": ("newsletter", "nurture-1", "nurture-2", "webinar-invite"),
    "email_click": ("newsletter", "nurture-1", "nurture-2", "webinar-invite"),
    "download": ("whitepaper-kpi", "ebook-the-model", "checklist-sla"),
    "form_submit": ("contact", "demo-request", "download-form"),
    "webinar": ("webinar-kpi-basics", "webinar-revops"),
    "event": ("expo-tokyo", "expo-osaka", "user-meetup"),
}
P_ANONYMOUS_ACTIVITY = 0.03
P_ACTIVITY_BY_EMAIL = 0.05

SURNAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
)  # fmt: skip
GIVEN_NAMES = (
    ("翔", "sho"), ("陽菜", "hina"), ("蓮", "ren"), ("結衣", "yui"), ("大輝", "daiki"),
    ("美咲", "misaki"), ("健", "ken"), ("さくら", "sakura"), ("拓海", "takumi"),
    ("葵", "aoi"), ("直樹", "naoki"), ("愛", "ai"),
)  # fmt: skip
COMPANY_WORDS = (
    ("東京", "tokyo"), ("大阪", "osaka"), ("未来", "mirai"), ("日本", "nihon"),
    ("青空", "aozora"), ("光", "hikari"), ("桜", "sakura"), ("富士", "fuji"),
    ("北斗", "hokuto"), ("中央", "chuo"), ("新星", "shinsei"), ("大和", "yamato"),
)  # fmt: skip
COMPANY_KINDS = (
    ("テクノロジー", "tech"), ("システムズ", "systems"), ("商事", "shoji"),
    ("製作所", "works"), ("ソリューションズ", "solutions"), ("工業", "kogyo"),
)  # fmt: skip
INDUSTRIES = ("IT", "製造", "小売", "金融", "医療", "不動産", "物流", "教育")
COMPANY_SIZES = ("1-49", "50-299", "300-999", "1000+")
OWNERS = tuple(
    f"{sei} {mei}" for (sei, _), (mei, _) in zip(SURNAMES[:12], GIVEN_NAMES, strict=True)
)
DISQUALIFY_REASONS = (
    "wrong_target", "no_budget", "no_timing", "duplicate", "competitor",
    "student_job_seeker", "other",
)  # fmt: skip
LOSS_REASONS = ("price", "competitor", "no_decision", "timing", "feature_gap")
OPEN_STAGES = ("qualification", "proposal", "negotiation")

PERSON_COLUMNS = (
    "external_id", "email", "name", "company", "created_at", "channel", "campaign",
    "mql_at", "sql_at", "disqualified_at", "disqualify_reason", "lead_score", "industry",
    "company_size", "owner",
)  # fmt: skip
OPPORTUNITY_COLUMNS = (
    "external_id", "person_external_id", "person_email", "account", "name", "amount",
    "currency", "created_at", "closed_at", "status", "stage", "loss_reason", "channel",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "external_id", "person_external_id", "person_email", "type", "occurred_at", "detail",
)  # fmt: skip
COST_COLUMNS = ("date", "channel", "campaign", "amount")
TARGET_COLUMNS = ("period", "kpi", "value")

CHUNK = 50_000
COUNTED_KPIS = (
    "leads", "mqls", "sqls", "opportunities", "won_deals", "lost_deals", "won_amount",
    "web_visits", "marketing_cost",
)  # fmt: skip


@dataclass
class Tally:
    """Period KPIs (spec section 3, counts and sums only) per fiscal quarter of the data."""

    counts: list[dict[str, int]] = field(
        default_factory=lambda: [dict.fromkeys(COUNTED_KPIS, 0) for _ in QUARTERS]
    )


def _day_quarters() -> list[int]:
    """Quarter index of every local day index from FIRST_DAY to END_DAY (inclusive)."""
    out: list[int] = []
    for d in range(SPAN_DAYS + 1):
        day = FIRST_DAY + dt.timedelta(days=d)
        out.append(next(i for i, (_, s, e) in enumerate(QUARTERS) if s <= day <= e))
    return out


class Clock:
    """ISO 8601 UTC strings for seconds since FIRST_DAY 00:00 JST, from precomputed parts."""

    def __init__(self) -> None:
        utc_day0 = FIRST_DAY - dt.timedelta(days=1)  # UTC date of FIRST_DAY 00:00 JST
        self.days = [f"{utc_day0 + dt.timedelta(days=d)}T" for d in range(SPAN_DAYS + 2)]
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)]

    def iso(self, t: int) -> str:
        u = t + (DAY - COMPANY_UTC_OFFSET)  # seconds since utc_day0 00:00 UTC
        return self.days[u // DAY] + self.times[u % DAY]


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    acc = 0.0
    out = []
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return out


def _pick(cum: list[float], u: float) -> int:
    for i, c in enumerate(cum):
        if u < c:
            return i
    return len(cum) - 1


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    size: str


def _companies(rng: random.Random, n: int) -> list[Company]:
    out = []
    for k in range(n):
        w1, r1 = COMPANY_WORDS[k % len(COMPANY_WORDS)]
        w2, r2 = COMPANY_KINDS[(k // len(COMPANY_WORDS)) % len(COMPANY_KINDS)]
        name = f"{w1}{w2}株式会社" if k < 72 else f"{w1}{w2}{k}株式会社"
        out.append(
            Company(
                name=name,
                domain=f"{r1}-{r2}{k}.example.co.jp",
                industry=INDUSTRIES[int(rng.random() * len(INDUSTRIES))],
                size=COMPANY_SIZES[_pick([0.45, 0.75, 0.92, 1.0], rng.random())],
            )
        )
    return out


def _month_starts() -> list[dt.date]:
    out = []
    d = FIRST_DAY
    while d < END_DAY:
        out.append(d)
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def _campaign(channel: str, quarter: str) -> str:
    return "" if channel == "organic_search" else f"{channel}-{quarter.lower()}"


def _local_time_of_day(rng: random.Random) -> int:
    """Mostly office hours in company time (08:00-20:00), some at any hour."""
    if rng.random() < 0.9:
        return 8 * 3600 + int(rng.random() * 12 * 3600)
    return int(rng.random() * DAY)


def generate(persons: int, out: Path, seed: int) -> dict[str, object]:
    """Write the five CSV files and manifest.json into `out`; return the manifest."""
    started = time.perf_counter()
    rng = random.Random(seed)
    rand = rng.random
    expo = rng.expovariate
    clock = Clock()
    iso = clock.iso
    day_q = _day_quarters()
    tally = Tally().counts
    qnames = [q[0] for q in QUARTERS]

    companies = _companies(rng, max(50, persons // 20))
    n_companies = len(companies)
    channel_cum = _cumulative([c.weight for c in CHANNELS])
    activity_cum = _cumulative([w for _, w in ACTIVITY_TYPES])
    activity_names = [t for t, _ in ACTIVITY_TYPES]
    campaigns = [[_campaign(c.key, q) for q in qnames] for c in CHANNELS]
    n_sur, n_given, n_owner = len(SURNAMES), len(GIVEN_NAMES), len(OWNERS)

    out.mkdir(parents=True, exist_ok=True)
    files = {
        name: (out / f"{name}.csv").open("w", encoding="utf-8", newline="")
        for name in ("persons", "opportunities", "activities")
    }
    writers = {name: csv.writer(f, lineterminator="\n") for name, f in files.items()}
    writers["persons"].writerow(PERSON_COLUMNS)
    writers["opportunities"].writerow(OPPORTUNITY_COLUMNS)
    writers["activities"].writerow(ACTIVITY_COLUMNS)
    person_rows: list[tuple[str, ...]] = []
    opp_rows: list[tuple[str, ...]] = []
    act_rows: list[tuple[str, ...]] = []
    n_opps = n_acts = 0
    days_per_person = SPAN_DAYS / persons

    for i in range(persons):
        # Creation times grow with i (spread evenly over the span), so recent persons have
        # had less time to progress: the funnel of the last months is still maturing.
        created = int(i * days_per_person) * DAY + _local_time_of_day(rng)
        if created >= END:
            created = END - 1
        ch_i = _pick(channel_cum, rand())
        ch = CHANNELS[ch_i]
        q = day_q[created // DAY]
        tally[q]["leads"] += 1
        sei, sei_r = SURNAMES[int(rand() * n_sur)]
        mei, mei_r = GIVEN_NAMES[int(rand() * n_given)]
        comp = companies[int(rand() * n_companies)]
        ext = f"P{i:08d}"
        email = f"{mei_r}.{sei_r}.{i}@{comp.domain}"

        mql = sql = disq = -1
        if rand() < ch.mql_rate:
            mql = created + int(expo(1 / (8 * DAY)))
            if mql >= END:
                mql = -1
        if mql >= 0:
            tally[day_q[mql // DAY]]["mqls"] += 1
            if rand() < P_SQL_GIVEN_MQL:
                sql = mql + int(expo(1 / (1.5 * DAY)))
            elif rand() < P_DISQUALIFIED:
                disq = mql + int(expo(1 / (2 * DAY)))
                if disq >= END:
                    disq = -1
        elif ch.sales_sourced and rand() < P_SQL_SKIPPING_MQL:
            sql = created + int(expo(1 / (3 * DAY)))
        if sql >= END:
            sql = -1
        score = 55 + int(rand() * 46) if mql >= 0 else int(rand() * 70)
        person_rows.append(
            (
                ext,
                email,
                f"{sei} {mei}",
                comp.name,
                iso(created),
                ch.key,
                campaigns[ch_i][q],
                iso(mql) if mql >= 0 else "",
                iso(sql) if sql >= 0 else "",
                iso(disq) if disq >= 0 else "",
                DISQUALIFY_REASONS[int(rand() * 7)] if disq >= 0 else "",
                str(score),
                comp.industry,
                comp.size,
                OWNERS[int(rand() * n_owner)],
            )
        )

        if sql >= 0:
            tally[day_q[sql // DAY]]["sqls"] += 1
            if rand() < P_OPPORTUNITY:
                opened = sql + int(expo(1 / (6 * DAY)))
                if opened < END:
                    n_opps += 1
                    tally[day_q[opened // DAY]]["opportunities"] += 1
                    opp = _opportunity(
                        rng, n_opps, opened, ext, email, comp, ch.key, iso, tally, day_q
                    )
                    opp_rows.append(opp)

        n = 1 + int(rand() * 6) if mql >= 0 else int(rand() * 6)
        for _ in range(n):
            at = created + int(rand() * min(120 * DAY, END - created))
            a_type = activity_names[_pick(activity_cum, rand())]
            if a_type == "web_visit":
                tally[day_q[at // DAY]]["web_visits"] += 1
            details = ACTIVITY_DETAILS[a_type]
            n_acts += 1
            by_email = rand() < P_ACTIVITY_BY_EMAIL
            act_rows.append(
                (
                    f"A{n_acts:09d}",
                    "" if by_email else ext,
                    email if by_email else "",
                    a_type,
                    iso(at),
                    details[int(rand() * len(details))],
                )
            )
        if rand() < P_ANONYMOUS_ACTIVITY:
            at = int(rand() * END)
            n_acts += 1
            tally[day_q[at // DAY]]["web_visits"] += 1
            act_rows.append((f"A{n_acts:09d}", "", "", "web_visit", iso(at), "/"))

        if len(person_rows) >= CHUNK:
            writers["persons"].writerows(person_rows)
            writers["opportunities"].writerows(opp_rows)
            writers["activities"].writerows(act_rows)
            person_rows.clear()
            opp_rows.clear()
            act_rows.clear()

    writers["persons"].writerows(person_rows)
    writers["opportunities"].writerows(opp_rows)
    writers["activities"].writerows(act_rows)
    for f in files.values():
        f.close()

    n_costs = _write_costs(rng, out / "costs.csv", persons, tally, qnames)
    n_targets = _write_targets(out / "targets.csv", tally, qnames)
    manifest: dict[str, object] = {
        "persons": persons,
        "seed": seed,
        "as_of": AS_OF,
        "rows": {
            "persons.csv": persons,
            "opportunities.csv": n_opps,
            "activities.csv": n_acts,
            "costs.csv": n_costs,
            "targets.csv": n_targets,
        },
        "expected_kpis": {qnames[k]: tally[k] for k in range(len(QUARTERS))},
        "generated_seconds": round(time.perf_counter() - started, 2),
        "generator_sha256": generator_fingerprint(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _opportunity(
    rng: random.Random,
    n: int,
    opened: int,
    person_ext: str,
    email: str,
    comp: Company,
    channel: str,
    iso: Callable[[int], str],
    tally: list[dict[str, int]],
    day_q: list[int],
) -> tuple[str, ...]:
    """One SFA opportunity (about 9% of persons have one, so clarity beats speed here)."""
    rand = rng.random
    amount = max(100_000, round(rng.lognormvariate(math.log(1_500_000), 0.6), -4))
    u = rand()
    status, closed, stage, loss = "open", -1, OPEN_STAGES[int(rand() * 3)], ""
    if u < P_WON + P_LOST:
        if rand() < P_CLOSED_BEFORE_CREATED:
            close_at = max(0, opened - int((1 + rand() * 10) * DAY))
        else:
            close_at = opened + int((14 + rng.expovariate(1 / 45)) * DAY)
        if close_at < END:
            closed = close_at
            q = day_q[closed // DAY]
            if u < P_WON:
                status, stage = "won", "closed_won"
                tally[q]["won_deals"] += 1
                tally[q]["won_amount"] += int(amount)
            else:
                status, stage = "lost", "closed_lost"
                loss = LOSS_REASONS[int(rand() * len(LOSS_REASONS))]
                tally[q]["lost_deals"] += 1
    v = rand()
    if v < P_OPP_UNLINKED:
        person_ext, email = "", f"former.contact.{n}@{comp.domain}"
    elif v < P_OPP_UNLINKED + P_OPP_BY_EMAIL:
        person_ext, email = "", email.upper() if rand() < 0.5 else email
    else:
        email = ""
    return (
        f"O{n:08d}",
        person_ext,
        email,
        comp.name,
        f"{comp.name} 導入案件 {n}",
        str(int(amount)),
        "JPY",
        iso(opened),
        iso(closed) if closed >= 0 else "",
        status,
        stage,
        loss,
        channel,
    )


def _write_costs(
    rng: random.Random, path: Path, persons: int, tally: list[dict[str, int]], qnames: list[str]
) -> int:
    """One cost row per channel per month (`YYYY-MM`), about leads x channel CPA, +-15%."""
    months = _month_starts()
    leads_per_month = persons / len(months)
    rows = []
    for month in months:
        q = next(i for i, (_, s, e) in enumerate(QUARTERS) if s <= month <= e)
        for ch in CHANNELS:
            amount = round(leads_per_month * ch.weight * ch.cpa * (0.85 + 0.3 * rng.random()), -3)
            amount = max(1_000, int(amount))
            tally[q]["marketing_cost"] += amount
            rows.append((f"{month:%Y-%m}", ch.key, _campaign(ch.key, qnames[q]), str(amount)))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COST_COLUMNS)
        w.writerows(rows)
    return len(rows)


def _write_targets(path: Path, tally: list[dict[str, int]], qnames: list[str]) -> int:
    """Targets of FY2026Q1/Q2: the same quarter a year earlier plus TARGET_GROWTH."""
    rows = []
    for name in TARGET_QUARTERS:
        last_year = tally[qnames.index(name) - 4]
        for kpi in ("won_amount", "won_deals", "opportunities", "sqls", "mqls", "leads"):
            value = math.ceil(last_year[kpi] * TARGET_GROWTH)
            if kpi == "won_amount":
                value = math.ceil(value / 1_000_000) * 1_000_000
            rows.append((name, kpi, str(max(1, value))))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(TARGET_COLUMNS)
        w.writerows(rows)
    return len(rows)


def generator_fingerprint() -> str:
    """Data made by another version of this script is not reused (bench/run.py checks it)."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--persons", type=int, default=1_000_000, help="persons (default 1M)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    args = parser.parse_args(argv)
    if args.persons < 1:
        parser.error("--persons must be at least 1")
    manifest = generate(args.persons, args.out, args.seed)
    rows = manifest["rows"]
    assert isinstance(rows, dict)
    for name, count in rows.items():
        print(f"{name:<20} {count:>12,}")
    print(f"{'total':<20} {sum(rows.values()):>12,}")
    print(f"generated in {manifest['generated_seconds']} s into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
