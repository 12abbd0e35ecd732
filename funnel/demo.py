"""The demo company: a Japanese B2B SaaS firm (~150 staff, JPY), deterministic from its inputs.

`build_demo` is a pure generator, (today, persons, seed) -> canonical records per source, so
demos, screenshots and tests are reproducible; `load_demo` writes them through the one ingest
path (architecture: "one ingest path") and creates one demo login per role.

The history covers ~18 months and ends at `today` 00:00 company time: a dashboard opened at
any moment of `today` sees all of it and nothing in its future (spec section 1, `as_of`).
Events a person had not reached by then simply have not happened yet, which leaves young
cohorts maturing and recent opportunities open, as in a real company.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import holidays
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from funnel.choices import ActivityType as Act
from funnel.choices import DisqualifyReason as Reason
from funnel.choices import OpportunityStatus, SourceKind
from funnel.ingest import (
    get_or_create_source,
    ingest_activities,
    ingest_costs,
    ingest_opportunities,
    ingest_persons,
    ingest_targets,
)
from funnel.models import Campaign, Channel
from funnel.periods import Period, company_tz, fiscal_quarter_of, local_midnight, next_quarter
from funnel.records import (
    ActivityRecord,
    CostRecord,
    IngestResult,
    OpportunityRecord,
    PersonRecord,
    TargetRecord,
)

DEFAULT_PERSONS = 20_000
DEFAULT_SEED = 2026
MIN_PERSONS = 100
HISTORY_MONTHS = 18
# Salesforce was in use before HubSpot: its older leads carry the pipeline into the history,
# so the first quarters have deals closing instead of a cold start.
LEGACY_MONTHS = 4
MA_SOURCE = "hubspot"
SFA_SOURCE = "salesforce"
RECORD_KINDS = ("persons", "opportunities", "activities", "costs", "targets")
TARGET_KPIS = ("won_amount", "leads", "mqls", "sqls", "opportunities")


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    group: str
    is_staff: bool
    last_name: str
    first_name: str


# Documented demo logins (README, `load_demo` output). Never load the demo in production.
DEMO_USERS = (
    DemoUser("marketing", "demo-marketing-2026", "marketing", False, "佐藤", "美咲"),
    DemoUser("sales", "demo-sales-2026", "sales", False, "田中", "健太"),
    DemoUser("executive", "demo-executive-2026", "executive", False, "山本", "誠"),
    DemoUser("opsadmin", "demo-opsadmin-2026", "ops_admin", True, "小林", "直樹"),
)


@dataclass(frozen=True)
class SourceData:
    """The canonical records one source system holds."""

    name: str
    kind: str
    persons: tuple[PersonRecord, ...] = ()
    opportunities: tuple[OpportunityRecord, ...] = ()
    activities: tuple[ActivityRecord, ...] = ()
    costs: tuple[CostRecord, ...] = ()
    targets: tuple[TargetRecord, ...] = ()

    def records(self, kind: str) -> tuple[Any, ...]:
        records: tuple[Any, ...] = getattr(self, kind)
        return records


@dataclass(frozen=True)
class DemoData:
    today: dt.date
    ma: SourceData
    sfa: SourceData
    campaign_names: dict[str, str] = field(default_factory=dict)  # key -> display name

    @property
    def sources(self) -> tuple[SourceData, SourceData]:
        return (self.ma, self.sfa)

    def counts(self) -> dict[str, dict[str, int]]:
        return {s.name: {k: len(s.records(k)) for k in RECORD_KINDS} for s in self.sources}


@dataclass(frozen=True)
class ChannelProfile:
    """Share of persons and stage probabilities of one first-touch channel.

    For sales channels (no MQL stage) `sql` is lead -> SQL. `cpa` is the JPY spent per lead,
    from which the cost entries are derived (0: not a marketing cost).
    """

    key: str
    share: float
    mql: float
    sql: float
    opp: float
    win: float
    cpa: int


CHANNELS = (
    ChannelProfile("organic_search", 0.22, 0.30, 0.47, 0.55, 0.27, 8_000),
    ChannelProfile("paid_search", 0.16, 0.33, 0.46, 0.53, 0.25, 24_000),
    ChannelProfile("content_download", 0.18, 0.34, 0.42, 0.52, 0.24, 15_000),
    ChannelProfile("webinar", 0.13, 0.42, 0.50, 0.56, 0.27, 12_000),
    ChannelProfile("exhibition", 0.11, 0.30, 0.40, 0.50, 0.23, 25_000),
    ChannelProfile("email", 0.04, 0.30, 0.40, 0.50, 0.24, 4_000),
    ChannelProfile("referral", 0.07, 0.50, 0.55, 0.60, 0.32, 10_000),
    ChannelProfile("outbound", 0.06, 0.0, 0.35, 0.50, 0.20, 0),
    ChannelProfile("partner", 0.03, 0.0, 0.70, 0.70, 0.33, 0),
)
PROFILES = {profile.key: profile for profile in CHANNELS}
# The names the demo company's ops admin gave its channels (Django admin, Channel.name);
# the pages show them instead of the keys the sources send.
CHANNEL_NAMES = {
    "organic_search": "自然検索",
    "paid_search": "リスティング広告",
    "content_download": "資料ダウンロード",
    "webinar": "ウェビナー",
    "exhibition": "展示会",
    "email": "メールマガジン",
    "referral": "顧客紹介",
    "outbound": "アウトバウンド",
    "partner": "パートナー",
}
SALES_CHANNELS = ("outbound", "partner")

PAID_CAMPAIGNS = {"google-brand": 3, "google-generic": 5, "yahoo-generic": 2}
ASSETS = (
    ("wp-kpi-template", "KPI設計テンプレート"),
    ("wp-mql-worksheet", "MQL定義ワークシート"),
    ("wp-alignment-guide", "営業・マーケ連携ガイド"),
    ("wp-budget-plan", "BtoBマーケ予算計画表"),
    ("wp-case-studies", "導入事例集"),
)
WEBINAR_TOPICS = (
    ("kpi-basics", "営業とマーケの共通KPI入門"),
    ("mql-definition", "MQLの定義を揃える方法"),
    ("kpi-tree", "KPIツリーで逆算する売上計画"),
    ("sfa-ma", "SFA・MA連携の始め方"),
    ("inside-sales", "商談化率を上げるインサイドセールス"),
    ("dashboard", "ダッシュボードで会議を変える"),
    ("budget", "BtoBマーケ予算の考え方"),
    ("nurturing", "リードナーチャリング実践"),
    ("qbr", "四半期レビューの進め方"),
)
# Exhibitions by calendar month: (slug, name, relative size).
EXHIBITIONS = {
    1: ("dx-expo-tokyo", "DX推進EXPO 東京", 1.0),
    4: ("it-solution-spring", "ITソリューション展 春", 1.5),
    6: ("sales-marketing-dx", "営業・マーケティングDX展", 1.2),
    10: ("it-solution-autumn", "ITソリューション展 秋", 1.5),
    11: ("saas-fair-osaka", "SaaSフェア 大阪", 0.8),
}
PARTNERS = ("partner-sakura-consulting", "partner-mirai-soken", "partner-east-it")
# What the demo company's ops admin named the campaigns that are not events or assets.
CAMPAIGN_NAMES = {
    "google-brand": "Google 指名検索",
    "google-generic": "Google 一般キーワード",
    "yahoo-generic": "Yahoo! 一般キーワード",
    "media-mailmag": "メールマガジン",
    "customer-referral": "顧客紹介プログラム",
    "partner-sakura-consulting": "さくらコンサルティング",
    "partner-mirai-soken": "みらい総研",
    "partner-east-it": "イーストIT",
}
# A marketing lead whose Salesforce lead came through another door (a partner registered the
# deal, a customer referred them): two touches, so the attribution models tell apart.
SECOND_TOUCH_SHARE = 0.25
SECOND_TOUCHES = {"partner": PARTNERS, "referral": ("customer-referral",)}

FAMILY_NAMES = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
    ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("阿部", "abe"), ("石川", "ishikawa"), ("山下", "yamashita"), ("中島", "nakajima"),
    ("石井", "ishii"), ("小川", "ogawa"), ("前田", "maeda"), ("岡田", "okada"),
    ("長谷川", "hasegawa"), ("藤田", "fujita"), ("後藤", "goto"), ("近藤", "kondo"),
    ("村上", "murakami"), ("遠藤", "endo"), ("青木", "aoki"), ("坂本", "sakamoto"),
    ("斉藤", "saito"), ("福田", "fukuda"), ("太田", "ota"), ("西村", "nishimura"),
    ("藤井", "fujii"), ("金子", "kaneko"), ("岡本", "okamoto"), ("藤原", "fujiwara"),
    ("中野", "nakano"), ("三浦", "miura"), ("原田", "harada"), ("中川", "nakagawa"),
    ("松田", "matsuda"), ("竹内", "takeuchi"), ("小野", "ono"), ("田村", "tamura"),
    ("和田", "wada"), ("石田", "ishida"), ("上田", "ueda"), ("森田", "morita"),
)  # fmt: skip
GIVEN_NAMES = (
    ("健太", "kenta"), ("翔太", "shota"), ("大輔", "daisuke"), ("拓也", "takuya"),
    ("直樹", "naoki"), ("浩", "hiroshi"), ("誠", "makoto"), ("亮", "ryo"),
    ("健一", "kenichi"), ("隆", "takashi"), ("和也", "kazuya"), ("達也", "tatsuya"),
    ("雄一", "yuichi"), ("智也", "tomoya"), ("哲也", "tetsuya"), ("大樹", "daiki"),
    ("悠斗", "yuto"), ("蓮", "ren"), ("修", "osamu"), ("剛", "tsuyoshi"),
    ("美咲", "misaki"), ("陽子", "yoko"), ("恵", "megumi"), ("彩", "aya"),
    ("真由美", "mayumi"), ("裕子", "yuko"), ("直美", "naomi"), ("由美", "yumi"),
    ("愛", "ai"), ("舞", "mai"), ("千尋", "chihiro"), ("香織", "kaori"),
    ("理恵", "rie"), ("沙織", "saori"), ("結衣", "yui"), ("奈々", "nana"),
    ("明美", "akemi"), ("智子", "tomoko"), ("麻衣", "mai"), ("久美子", "kumiko"),
)  # fmt: skip
COMPANY_PREFIXES = (
    ("東京", "tokyo"), ("日本", "nihon"), ("大和", "yamato"), ("富士", "fuji"),
    ("中央", "chuo"), ("北斗", "hokuto"), ("三和", "sanwa"), ("青葉", "aoba"),
    ("さくら", "sakura"), ("みらい", "mirai"), ("光", "hikari"), ("旭", "asahi"),
    ("新星", "shinsei"), ("協和", "kyowa"), ("東洋", "toyo"), ("関西", "kansai"),
    ("九州", "kyushu"), ("北陸", "hokuriku"), ("湘南", "shonan"), ("浪速", "naniwa"),
    ("昭和", "showa"), ("大成", "taisei"), ("平和", "heiwa"), ("明和", "meiwa"),
    ("丸山", "maruyama"), ("小松", "komatsu"), ("高田", "takada"), ("松井", "matsui"),
    ("横浜", "yokohama"), ("名古屋", "nagoya"), ("千代田", "chiyoda"), ("若葉", "wakaba"),
    ("瀬戸内", "setouchi"), ("東北", "tohoku"), ("信州", "shinshu"), ("北海", "hokkai"),
    ("アルファ", "alpha"), ("ネクスト", "next"), ("グローバル", "global"),
    ("ユニオン", "union"), ("クレスト", "crest"), ("フロンティア", "frontier"),
    ("ブライト", "bright"), ("シグマ", "sigma"), ("エース", "ace"), ("リンク", "link"),
    ("ミライズ", "miraiz"), ("スカイ", "sky"), ("オーシャン", "ocean"), ("アクア", "aqua"),
)  # fmt: skip
# Industry -> (weight, name cores); a company name is 株式会社 + prefix + core.
INDUSTRIES: dict[str, tuple[int, tuple[tuple[str, str], ...]]] = {
    "製造": (22, (("製作所", "seisakusho"), ("工業", "kogyo"), ("精機", "seiki"),
                ("電機", "denki"), ("化学", "kagaku"), ("金属", "kinzoku"))),
    "IT": (25, (("システムズ", "systems"), ("テクノロジーズ", "tech"), ("ソフト", "soft"),
               ("ネットワークス", "networks"), ("データ", "data"), ("デジタル", "digital"))),
    "小売": (10, (("商店", "shoten"), ("ストア", "store"), ("リテール", "retail"),
                ("商事", "shoji"))),
    "金融": (8, (("証券", "sec"), ("リース", "lease"), ("キャピタル", "capital"),
               ("フィナンシャル", "financial"))),
    "医療": (7, (("メディカル", "medical"), ("製薬", "pharma"), ("ヘルスケア", "healthcare"))),
    "建設": (8, (("建設", "kensetsu"), ("工務店", "komuten"), ("ハウジング", "housing"),
               ("設備", "setsubi"))),
    "物流": (6, (("運輸", "unyu"), ("ロジスティクス", "logistics"), ("物流", "butsuryu"))),
    "人材": (7, (("キャリア", "career"), ("スタッフ", "staff"), ("人材開発", "jinzai"))),
    "不動産": (7, (("不動産", "fudosan"), ("エステート", "estate"), ("地所", "jisho"))),
}  # fmt: skip
SIZES = (("1-49", 50, 1.0), ("50-299", 32, 2.5), ("300+", 18, 6.0))  # band, %, contacts
FREE_MAIL = ("gmail.com", "yahoo.co.jp", "outlook.jp", "icloud.com")
INSIDE_SALES = ("高橋 優子", "伊藤 翔太", "渡辺 彩", "中村 拓也", "加藤 千尋", "吉田 亮")
ACCOUNT_EXECS = {
    "1-49": ("山口 大輔", "松本 由美", "井上 達也"),
    "50-299": ("木村 哲也", "林 香織", "清水 和也", "森 理恵"),
    "300+": ("池田 隆", "橋本 直美", "石川 健一"),
}
PLANS = {"1-49": "スタンダード", "50-299": "プロ", "300+": "エンタープライズ"}
DEAL_SIZE = {
    "1-49": (900_000, 500_000, 2_500_000),
    "50-299": (2_500_000, 1_000_000, 6_000_000),
    "300+": (5_500_000, 2_500_000, 10_000_000),
}  # (median, min, max)
CYCLE_DAYS = {"1-49": 35.0, "50-299": 55.0, "300+": 85.0}
OPEN_STAGES = ("ヒアリング", "提案", "見積提示", "最終交渉")
LOSS_REASONS = {
    "価格": 30, "競合他社に決定": 25, "導入時期の延期": 15,
    "機能要件を満たさない": 12, "予算確保できず": 10, "連絡途絶": 8,
}  # fmt: skip
DISQUALIFY_REASONS: dict[str, int] = {
    Reason.WRONG_TARGET: 25, Reason.NO_BUDGET: 18, Reason.NO_TIMING: 25, Reason.DUPLICATE: 5,
    Reason.COMPETITOR: 8, Reason.STUDENT_JOB_SEEKER: 7, Reason.OTHER: 12,
}  # fmt: skip
PAGES = (
    "/", "/pricing", "/features/dashboard", "/features/kpi-tree", "/features/integrations",
    "/case-studies", "/security", "/company", "/blog/mql-definition", "/blog/kpi-tree-basics",
    "/blog/sales-marketing-alignment", "/blog/cpa-benchmark",
)  # fmt: skip
LANDING = {
    "organic_search": ("/blog/mql-definition", "/blog/kpi-tree-basics", "/blog/cpa-benchmark"),
    "paid_search": ("/lp/kpi-dashboard?utm_source=google&utm_medium=cpc",
                    "/lp/sfa-ma?utm_source=yahoo&utm_medium=cpc"),
    "referral": ("/?utm_source=referral",),
    "email": ("/lp/kpi-dashboard?utm_medium=email",),
}  # fmt: skip
# Inbound demand by calendar month, January first (Obon in August, year-end in December).
SEASON = (0.85, 1.0, 1.05, 0.95, 0.9, 1.05, 1.0, 0.75, 1.0, 1.1, 1.05, 0.85)
MONTHLY_GROWTH = 0.02
ENGAGEMENT = (
    Act.PAGE_VIEW,
    Act.WEB_VISIT,
    Act.EMAIL_OPEN,
    Act.EMAIL_CLICK,
    Act.DOWNLOAD,
    Act.FORM_SUBMIT,
)
ENGAGEMENT_WEIGHTS = (30, 20, 25, 10, 10, 5)
HOUR_WEIGHTS = (1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 7, 10, 11, 11, 9, 10, 11, 11, 10, 9, 7, 5, 4, 3, 2, 2)
DAY = dt.timedelta(days=1)


def build_demo(
    today: dt.date, persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED
) -> DemoData:
    """The demo company's records as of `today` 00:00 company time; same inputs, same records."""
    if persons < MIN_PERSONS:
        raise ValueError(f"persons must be at least {MIN_PERSONS}")
    return _Builder(today, persons, seed).build()


@dataclass(frozen=True)
class _Company:
    name: str
    domain: str
    industry: str
    size: str


@dataclass(slots=True)
class _Person:
    channel: str
    campaign: str
    created_at: dt.datetime
    company: _Company | None
    name: str
    email: str
    score: int | None = None
    attended_at: dt.datetime | None = None  # webinar attended / exhibition booth visit
    mql_at: dt.datetime | None = None
    sql_at: dt.datetime | None = None
    disqualified_at: dt.datetime | None = None
    reason: str = ""
    in_ma: bool = True
    in_sfa: bool = False
    sfa_created_at: dt.datetime | None = None
    sfa_email: str = ""
    sfa_channel: str = ""  # a marketing lead's second touch, on its Salesforce lead
    sfa_campaign: str = ""
    owner: str = ""
    ma_id: str = ""
    sfa_id: str = ""


@dataclass(slots=True)
class _Opportunity:
    person: _Person | None
    account: str
    name: str
    amount: int
    created_at: dt.datetime
    closed_at: dt.datetime | None
    status: str
    stage: str
    loss_reason: str = ""
    channel: str = ""
    by_email: bool = False


@dataclass(slots=True)
class _Event:
    """A webinar or exhibition: a campaign held at a moment, with a lead weight."""

    campaign: str
    title: str
    at: dt.datetime
    weight: float
    leads: int = 0


class _Builder:
    """Generates the company in one pass of one random stream, so the output is a pure
    function of (today, persons, seed)."""

    def __init__(self, today: dt.date, person_count: int, seed: int) -> None:
        self.today = today
        self.person_count = person_count
        self.rng = random.Random(seed)
        # Second touches draw from a stream of their own: the rest of the company stays
        # what the main stream made of it before they existed.
        self.touch_rng = random.Random(seed * 7919 + 1)
        self.tz = company_tz()
        self.cutoff = local_midnight(today)
        month = today.year * 12 + today.month - 1 - HISTORY_MONTHS
        self.start = dt.date(month // 12, month % 12 + 1, 1)
        month -= LEGACY_MONTHS
        self.legacy_start = dt.date(month // 12, month % 12 + 1, 1)
        self.holidays = holidays.country_holidays(
            "JP", years=range(self.legacy_start.year, today.year + 2)
        )
        self.days = _days(self.start, today)
        self.day_cum = _cumulate([self._day_weight(day) for day in self.days])
        self.legacy_days = _days(self.legacy_start, self.start)
        self.legacy_cum = _cumulate([self._day_weight(day) for day in self.legacy_days])
        self.persons: list[_Person] = []
        self.opportunities: list[_Opportunity] = []
        self.used_emails: set[str] = set()
        self.webinars: list[_Event] = []
        self.exhibitions: list[_Event] = []
        self.companies: list[_Company] = []
        self.company_cum: list[float] = []

    # --- calendar -------------------------------------------------------------------------

    def _trend(self, day: dt.date) -> float:
        """The company's slight growth: demand relative to the start of the history."""
        months = (day.year - self.start.year) * 12 + day.month - self.start.month + day.day / 31
        return 1 + MONTHLY_GROWTH * months

    def _day_weight(self, day: dt.date) -> float:
        """Inbound demand on `day`: growth trend, season, weekends and holidays."""
        weight = SEASON[day.month - 1] * self._trend(day)
        if not self._is_business_day(day):
            weight *= 0.25
        return weight

    def _is_business_day(self, day: dt.date) -> bool:
        year_end = (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)
        return day.weekday() < 5 and day not in self.holidays and not year_end

    def _at(self, day: dt.date, seconds: float) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.tz) + dt.timedelta(
            seconds=int(seconds)
        )

    def _random_moment(self, legacy: bool = False) -> dt.datetime:
        """A moment of inbound activity: weighted day, office-hours-heavy time of day."""
        days, cumulative = (
            (self.legacy_days, self.legacy_cum) if legacy else (self.days, self.day_cum)
        )
        index = bisect(cumulative, self.rng.random() * cumulative[-1])
        day = days[min(index, len(days) - 1)]
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        return self._at(day, hour * 3600 + self.rng.randrange(3600))

    def _business(self, moment: dt.datetime, after: dt.datetime) -> dt.datetime:
        """Move a sales action to office hours (9-19 on a business day), never before `after`."""
        local = moment.astimezone(self.tz)
        day = local.date() + (DAY if local.hour >= 19 else dt.timedelta())
        while not self._is_business_day(day):
            day += DAY
        if day != local.date() or not 9 <= local.hour < 19:
            local = self._at(day, 9 * 3600 + self.rng.randrange(10 * 3600))
        return max(local, after + dt.timedelta(minutes=self.rng.randint(5, 90)))

    def _hours(self, low: float, high: float) -> dt.timedelta:
        """A uniform random duration in whole seconds (sources store whole seconds)."""
        return dt.timedelta(seconds=int(self.rng.uniform(low, high) * 3600))

    def _lag(self, median_days: float, sigma: float, cap_days: float) -> dt.timedelta:
        days = min(self.rng.lognormvariate(math.log(median_days), sigma), cap_days)
        return dt.timedelta(seconds=int(days * 86_400))

    # --- build ----------------------------------------------------------------------------

    def build(self) -> DemoData:
        self.webinars = self._webinars()
        self.exhibitions = self._exhibitions()
        self.companies = self._companies()
        contacts = {band: weight for band, _, weight in SIZES}
        self.company_cum = _cumulate([contacts[c.size] for c in self.companies])
        channel_cum = _cumulate([p.share for p in CHANNELS])
        legacy_share = self.legacy_cum[-1] / (self.legacy_cum[-1] + self.day_cum[-1])
        legacy_count = round(self.person_count * legacy_share)
        for index in range(self.person_count):
            pick = bisect(channel_cum, self.rng.random() * channel_cum[-1])
            profile = CHANNELS[min(pick, len(CHANNELS) - 1)]
            legacy = index < legacy_count
            person = self._new_person(profile, legacy)
            self.persons.append(person)
            if legacy or profile.key in SALES_CHANNELS:
                self._sales_funnel(person, profile)
            else:
                self._marketing_funnel(person, profile)
        self._assign_ids()
        activities = self._activities()
        return DemoData(
            today=self.today,
            campaign_names={
                **CAMPAIGN_NAMES,
                **dict(ASSETS),
                **{e.campaign: f"{e.title} ({e.at:%Y/%m/%d})" for e in self.webinars},
                **{e.campaign: f"{e.title} ({e.at:%Y/%m})" for e in self.exhibitions},
                **self._outbound_campaign_names(),
            },
            ma=SourceData(
                MA_SOURCE,
                SourceKind.MA,
                persons=tuple(self._ma_record(p) for p in self.persons if p.in_ma),
                activities=activities,
                costs=self._costs(),
            ),
            sfa=SourceData(
                SFA_SOURCE,
                SourceKind.SFA,
                persons=tuple(self._sfa_record(p) for p in self._sfa_persons()),
                opportunities=self._opportunity_records(),
                targets=self._targets(),
            ),
        )

    def _outbound_campaign_names(self) -> dict[str, str]:
        """Outbound runs one campaign per fiscal quarter (see _first_touch)."""
        names, quarter = {}, fiscal_quarter_of(self.legacy_start)
        while quarter.start <= self.today:
            names[_outbound_campaign(quarter)] = f"アウトバウンド {quarter.name}"
            quarter = next_quarter(quarter)
        return names

    def _webinars(self) -> list[_Event]:
        """Two webinars a month (2nd and 4th Wednesday, 14:00), topics in rotation."""
        events: list[_Event] = []
        day = self.start
        while day < self.today:
            if day.weekday() == 2 and (8 <= day.day <= 14 or 22 <= day.day <= 28):
                slug, title = WEBINAR_TOPICS[len(events) % len(WEBINAR_TOPICS)]
                at = self._at(day, 14 * 3600)
                if at < self.cutoff:
                    campaign = f"wb-{day:%y%m%d}-{slug}"
                    events.append(_Event(campaign, title, at, self._day_weight(day)))
            day += DAY
        return events

    def _exhibitions(self) -> list[_Event]:
        """Trade shows in their months (3 days from the 2nd Wednesday); leads imported after."""
        events: list[_Event] = []
        for month_index in range(HISTORY_MONTHS + 1):
            year, month = divmod(self.start.year * 12 + self.start.month - 1 + month_index, 12)
            if month + 1 not in EXHIBITIONS:
                continue
            slug, title, size = EXHIBITIONS[month + 1]
            first = dt.date(year, month + 1, 8)
            first += DAY * ((2 - first.weekday()) % 7)
            at = self._at(first, 10 * 3600)
            if at + DAY * 10 < self.cutoff:  # the badge-scan import has happened
                events.append(_Event(f"ex-{first:%Y%m}-{slug}", title, at, size))
        return events

    def _companies(self) -> list[_Company]:
        count = max(40, self.person_count // 5)
        pools: dict[str, list[tuple[str, str, str, str, bool]]] = {}
        for industry, (_, cores) in INDUSTRIES.items():
            pool = [
                (prefix, prefix_ascii, core, core_ascii, front)
                for prefix, prefix_ascii in COMPANY_PREFIXES
                for core, core_ascii in cores
                for front in (True, False)
            ]
            self.rng.shuffle(pool)
            pools[industry] = pool
        industries = list(INDUSTRIES)
        industry_weights = [INDUSTRIES[name][0] for name in industries]
        companies: list[_Company] = []
        while len(companies) < count and any(pools.values()):
            industry = self.rng.choices(industries, weights=industry_weights)[0]
            if not pools[industry]:
                continue
            prefix, prefix_ascii, core, core_ascii, front = pools[industry].pop()
            name = f"株式会社{prefix}{core}" if front else f"{prefix}{core}株式会社"
            domain = f"{prefix_ascii}-{core_ascii}" if front else f"{prefix_ascii}{core_ascii}"
            size = self.rng.choices([s[0] for s in SIZES], weights=[s[1] for s in SIZES])[0]
            companies.append(_Company(name, f"{domain}.co.jp", industry, size))
        return companies

    def _new_person(self, profile: ChannelProfile, legacy: bool) -> _Person:
        family, family_ascii = self.rng.choice(FAMILY_NAMES)
        given, given_ascii = self.rng.choice(GIVEN_NAMES)
        company: _Company | None = None
        if profile.key in SALES_CHANNELS or self.rng.random() >= 0.04:
            pick = bisect(self.company_cum, self.rng.random() * self.company_cum[-1])
            company = self.companies[min(pick, len(self.companies) - 1)]
        email = self._email(given_ascii, family_ascii, company)
        campaign, created_at, attended_at = self._first_touch(profile, legacy)
        return _Person(
            channel=profile.key,
            campaign=campaign,
            created_at=created_at,
            company=company,
            name=f"{family} {given}",
            email=email,
            attended_at=attended_at,
        )

    def _email(self, given: str, family: str, company: _Company | None) -> str:
        """A unique address: two persons sharing one would merge into one (spec section 2)."""
        if company is None:
            local = f"{given}{family}{self.rng.randint(1, 99)}"
            domain = self.rng.choice(FREE_MAIL)
        else:
            local = self.rng.choice(
                (
                    f"{given}.{family}",
                    f"{given[0]}.{family}",
                    f"{family}.{given}",
                    f"{family}-{given[0]}",
                    f"{given[0]}{family}",
                )
            )
            domain = company.domain
        email, n = f"{local}@{domain}", 1
        while email in self.used_emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.used_emails.add(email)
        return email

    def _first_touch(
        self, profile: ChannelProfile, legacy: bool
    ) -> tuple[str, dt.datetime, dt.datetime | None]:
        """(campaign, created_at, attended_at) by channel: events cluster leads in time.

        Legacy leads (entered in Salesforce before HubSpot) have no marketing campaign.
        """
        rng = self.rng
        key = profile.key
        if legacy and key not in SALES_CHANNELS:
            return "", self._random_moment(legacy), None
        if key == "webinar" and self.webinars:
            event = rng.choices(self.webinars, weights=[e.weight for e in self.webinars])[0]
            event.leads += 1
            registered = event.at - self._hours(2, 21 * 24)
            registered = max(registered, self._at(self.start, rng.randrange(86_400)))
            attended = event.at if rng.random() < 0.6 else None
            return event.campaign, registered, attended
        if key == "exhibition" and self.exhibitions:
            event = rng.choices(self.exhibitions, weights=[e.weight for e in self.exhibitions])[0]
            event.leads += 1
            booth = event.at + DAY * rng.randrange(3) + dt.timedelta(seconds=rng.randrange(25_200))
            imported = self._business(event.at + DAY * 4, event.at + DAY * 4)
            return event.campaign, imported + dt.timedelta(seconds=rng.randrange(3600)), booth
        created = self._random_moment(legacy)
        if key == "paid_search":
            return _pick(rng, PAID_CAMPAIGNS), created, None
        if key == "content_download":
            return rng.choice(ASSETS)[0], created, None
        if key == "outbound":
            return _outbound_campaign(fiscal_quarter_of(created.date())), created, None
        campaign = {"email": "media-mailmag", "referral": "customer-referral"}.get(key, "")
        if key == "partner":
            campaign = rng.choice(PARTNERS)
        return campaign, created, None

    # --- funnel ---------------------------------------------------------------------------

    def _marketing_funnel(self, person: _Person, profile: ChannelProfile) -> None:
        """Lead -> MQL in MA; MQLs sync to SFA where sales qualify, reject or ignore them."""
        rng = self.rng
        size_factor = {"1-49": 0.9, "50-299": 1.0, "300+": 1.1}
        factor = 0.4 if person.company is None else size_factor[person.company.size]
        if profile.key == "webinar":
            probability = 0.62 if person.attended_at else 0.12
        else:
            probability = profile.mql * factor
        if rng.random() >= probability:
            person.score = int(rng.triangular(0, 59, 18))
            return
        person.score = int(rng.triangular(55, 100, 78))
        if person.attended_at and profile.key == "webinar":
            mql = person.attended_at + self._hours(0.5, 72)
        elif rng.random() < 0.35:  # demo request or pricing enquiry: hot at once
            mql = person.created_at + self._hours(0.05, 48)
        else:
            mql = person.created_at + self._lag(12, 0.8, 120)
        mql = max(mql, person.created_at)
        if mql >= self.cutoff:
            return
        person.mql_at = mql
        if rng.random() < 0.97:  # a few MQLs never reach SFA; their deals cite the email
            person.in_sfa = True
            sync = mql + dt.timedelta(seconds=rng.randint(60, 900))
            person.sfa_created_at = sync if sync < self.cutoff else mql
            person.owner = rng.choice(INSIDE_SALES)
            self._second_touch(person)
        sql_probability = profile.sql * (0.2 if person.company is None else factor)
        roll = rng.random()
        if roll < sql_probability:
            sql = self._business(mql + self._lag(1.2, 1.0, 40), mql)
            self._reach_sql(person, profile, sql)
        elif roll < sql_probability + (1 - sql_probability) * 0.7:
            self._disqualify(person, self._business(mql + self._lag(1.5, 0.9, 30), mql))
            recyclable = person.reason in (Reason.NO_TIMING, Reason.NO_BUDGET)
            if person.disqualified_at and recyclable and rng.random() < 0.2:
                back = person.disqualified_at + self._hours(45 * 24, 200 * 24)
                self._reach_sql(person, profile, self._business(back, person.disqualified_at))

    def _second_touch(self, person: _Person) -> None:
        """Some marketing leads reach Salesforce through a partner or a referral."""
        rng = self.touch_rng
        if rng.random() >= SECOND_TOUCH_SHARE:
            return
        channel = rng.choice([c for c in SECOND_TOUCHES if c != person.channel])
        person.sfa_channel, person.sfa_campaign = channel, rng.choice(SECOND_TOUCHES[channel])

    def _sales_funnel(self, person: _Person, profile: ChannelProfile) -> None:
        """Persons that start in SFA skip MQL (spec section 2): outbound and partner ones, and
        legacy inbound leads from before HubSpot, which sales qualified without an MQL stage."""
        rng = self.rng
        person.in_ma, person.in_sfa = False, True
        entered = self._business(person.created_at, person.created_at)
        person.created_at = entered if entered < self.cutoff else person.created_at
        person.sfa_created_at = person.created_at
        person.owner = rng.choice(INSIDE_SALES)
        inbound = profile.key not in SALES_CHANNELS
        if rng.random() < (profile.mql * profile.sql if inbound else profile.sql):
            median = {"partner": 2.0, "outbound": 9.0}.get(profile.key, 3.0)
            self._reach_sql(
                person,
                profile,
                self._business(person.created_at + self._lag(median, 0.8, 60), person.created_at),
            )
        elif rng.random() < 0.3:
            self._disqualify(
                person, self._business(person.created_at + self._lag(5, 0.8, 40), person.created_at)
            )

    def _disqualify(self, person: _Person, moment: dt.datetime) -> None:
        if moment >= self.cutoff or not person.in_sfa:
            return
        reason = _pick(self.rng, DISQUALIFY_REASONS)
        if person.company is None and self.rng.random() < 0.7:
            reason = Reason.STUDENT_JOB_SEEKER
        person.disqualified_at, person.reason = moment, reason

    def _reach_sql(self, person: _Person, profile: ChannelProfile, sql: dt.datetime) -> None:
        if sql >= self.cutoff:
            return
        if person.in_sfa:
            person.sql_at = sql
        size_factor = {"1-49": 0.95, "50-299": 1.0, "300+": 1.05}
        factor = size_factor[person.company.size] if person.company else 0.5
        if self.rng.random() < profile.opp * factor:
            created = self._business(sql + self._lag(8, 0.7, 60), sql)
            if created < self.cutoff:
                self._open_deal(person, profile, created)

    def _open_deal(self, person: _Person, profile: ChannelProfile, created: dt.datetime) -> None:
        rng = self.rng
        company = person.company
        size = company.size if company else "1-49"
        median, low, high = DEAL_SIZE[size]
        amount = min(max(rng.lognormvariate(math.log(median), 0.45), low), high)
        account = company.name if company else person.name
        name = f"{account} {PLANS[size]}プラン 新規導入"
        if person.in_sfa:
            person.owner = rng.choice(ACCOUNT_EXECS[size])
        win = profile.win + {"1-49": 0.02, "50-299": 0.0, "300+": -0.03}[size]
        deal = self._close(
            person, account, name, _round_yen(amount), created, win, CYCLE_DAYS[size]
        )
        deal.channel, deal.by_email = profile.key, not person.in_sfa
        if deal.status == OpportunityStatus.WON and deal.closed_at and rng.random() < 0.12:
            expansion = self._business(
                deal.closed_at + self._hours(60 * 24, 240 * 24), deal.closed_at
            )
            if expansion < self.cutoff:
                amount = _round_yen(deal.amount * rng.uniform(0.2, 0.5))
                self._close(None, account, f"{account} 追加ライセンス", amount, expansion, 0.6, 30)

    def _close(
        self,
        person: _Person | None,
        account: str,
        name: str,
        amount: int,
        created: dt.datetime,
        win: float,
        cycle: float,
    ) -> _Opportunity:
        """Decide how a deal ends; deals not closed by the cutoff stay open at a stage."""
        rng = self.rng
        expected = self._lag(cycle, 0.5, 270)
        closed = self._business(created + expected, created)
        won = rng.random() < win + (0.06 if closed.month == 3 else 0.0)  # fiscal year-end
        if won:
            last_day = fiscal_quarter_of(closed.date()).end - DAY * rng.randrange(3)
            if (last_day - closed.date()).days < 20 and rng.random() < 0.4:  # quarter-end push
                while not self._is_business_day(last_day):
                    last_day -= DAY
                pushed = self._at(last_day, rng.uniform(10, 19) * 3600)
                closed = max(pushed, created + dt.timedelta(hours=1))
        else:
            closed = self._business(
                created
                + dt.timedelta(seconds=expected.total_seconds() * rng.randint(50, 110) // 100),
                created,
            )
        deal = _Opportunity(person, account, name, amount, created, None, "", "")
        if closed >= self.cutoff:
            progress = (self.cutoff - created) / expected
            deal.status = OpportunityStatus.OPEN
            deal.stage = OPEN_STAGES[min(int(progress * len(OPEN_STAGES)), len(OPEN_STAGES) - 1)]
        elif won:
            deal.status, deal.stage, deal.closed_at = OpportunityStatus.WON, "受注", closed
        else:
            deal.status, deal.stage, deal.closed_at = OpportunityStatus.LOST, "失注", closed
            deal.loss_reason = _pick(rng, LOSS_REASONS)
        self.opportunities.append(deal)
        return deal

    # --- records --------------------------------------------------------------------------

    def _assign_ids(self) -> None:
        """Vendor-like ids that grow with creation time, as the real systems hand them out."""
        ma = sorted((p for p in self.persons if p.in_ma), key=lambda p: p.created_at)
        for number, person in enumerate(ma, start=1):
            person.ma_id = str(100_000 + number * 3)
        for number, person in enumerate(self._sfa_persons(), start=1):
            person.sfa_id = _salesforce_id("00Q", number)
            person.sfa_email = self._sfa_email(person.email) if person.in_ma else person.email

    def _sfa_persons(self) -> list[_Person]:
        sfa = [p for p in self.persons if p.in_sfa and p.sfa_created_at]
        return sorted(sfa, key=lambda p: p.sfa_created_at or p.created_at)

    def _sfa_email(self, email: str) -> str:
        """Sales retype addresses: case and padding differ, the normalised email is the same."""
        roll = self.rng.random()
        if roll < 0.35:
            return email
        if roll < 0.55:
            return email.upper()
        if roll < 0.8:
            local, domain = email.split("@")
            return f"{'.'.join(w.capitalize() for w in local.split('.'))}@{domain}"
        return f"  {email.upper() if roll < 0.9 else email} "

    def _ma_record(self, person: _Person) -> PersonRecord:
        company = person.company
        return PersonRecord(
            external_id=person.ma_id,
            created_at=person.created_at,
            email=person.email,
            name=person.name,
            company=company.name if company else "",
            channel=person.channel,
            campaign=person.campaign,
            mql_at=person.mql_at,
            lead_score=person.score,
            industry=company.industry if company else "",
            company_size=company.size if company else "",
        )

    def _sfa_record(self, person: _Person) -> PersonRecord:
        company = person.company
        sales_sourced = not person.in_ma
        return PersonRecord(
            external_id=person.sfa_id,
            created_at=person.sfa_created_at or person.created_at,
            email=person.sfa_email,
            name=person.name.replace(" ", "\u3000"),
            company=company.name if company else "",
            channel=person.channel if sales_sourced else person.sfa_channel,
            campaign=person.campaign if sales_sourced else person.sfa_campaign,
            sql_at=person.sql_at,
            disqualified_at=person.disqualified_at,
            disqualify_reason=person.reason,
            lead_score=person.score,
            industry=company.industry if company else "",
            company_size=company.size if company else "",
            owner=person.owner,
        )

    def _opportunity_records(self) -> tuple[OpportunityRecord, ...]:
        deals = sorted(self.opportunities, key=lambda d: d.created_at)
        records = []
        for number, deal in enumerate(deals, start=1):
            person = deal.person
            by_id = person is not None and not deal.by_email
            records.append(
                OpportunityRecord(
                    external_id=_salesforce_id("006", number),
                    amount=Decimal(deal.amount),
                    created_at=deal.created_at,
                    status=deal.status,
                    person_external_id=person.sfa_id if person and by_id else "",
                    person_email=person.email.upper() if person and not by_id else "",
                    account=deal.account,
                    name=deal.name,
                    closed_at=deal.closed_at,
                    stage=deal.stage,
                    loss_reason=deal.loss_reason,
                    channel=deal.channel,
                )
            )
        return tuple(records)

    def _activities(self) -> tuple[ActivityRecord, ...]:
        """~5 tracked activities per MA person (more for MQLs) plus anonymous web visits."""
        rows: list[tuple[dt.datetime, str, str, str]] = []
        for person in self.persons:
            if person.in_ma:
                rows.extend(self._person_activities(person))
        for _ in range(self.person_count * 4 // 5):
            rows.append((self._random_moment(), "", Act.WEB_VISIT, self.rng.choice(PAGES)))
        first = local_midnight(self.start)
        rows = [row for row in rows if first <= row[0] < self.cutoff]
        rows.sort(key=lambda row: row[0])
        return tuple(
            ActivityRecord(
                external_id=str(50_000_000 + number),
                type=kind,
                occurred_at=at,
                person_external_id=person_id,
                detail=detail,
            )
            for number, (at, person_id, kind, detail) in enumerate(rows, start=1)
        )

    def _person_activities(self, person: _Person) -> list[tuple[dt.datetime, str, str, str]]:
        rng, pid, created = self.rng, person.ma_id, person.created_at
        second = dt.timedelta(seconds=1)
        rows: list[tuple[dt.datetime, str, str, str]] = []
        key = person.channel
        if key == "webinar":
            rows.append((created, pid, Act.FORM_SUBMIT, f"/webinar/{person.campaign}"))
            if person.attended_at:
                rows.append((person.attended_at, pid, Act.WEBINAR, self._title(person.campaign)))
        elif key == "exhibition":
            rows.append(
                (person.attended_at or created, pid, Act.EVENT, self._title(person.campaign))
            )
        elif key == "content_download":
            asset = dict(ASSETS)[person.campaign]
            rows.append(
                (created - second * 40, pid, Act.FORM_SUBMIT, f"/resources/{person.campaign}")
            )
            rows.append((created, pid, Act.DOWNLOAD, asset))
        else:
            if key == "email":
                rows.append((created - second * 90, pid, Act.EMAIL_CLICK, "メディア掲載メルマガ"))
            landing = rng.choice(LANDING.get(key, PAGES))
            rows.append((created - second * 60, pid, Act.WEB_VISIT, landing))
            rows.append((created, pid, Act.FORM_SUBMIT, rng.choice(("/contact", "/demo"))))
        if rng.random() < 0.5:
            before = created - self._hours(24, 14 * 24)
            rows.append((before, pid, Act.WEB_VISIT, rng.choice(PAGES)))
        extra = _poisson(rng, 4.0 if person.mql_at else 1.5)
        horizon = (person.mql_at or created + DAY * 120) - created
        for _ in range(extra):
            at = created + dt.timedelta(seconds=int(horizon.total_seconds() * rng.random()) + 1)
            kind = rng.choices(ENGAGEMENT, weights=ENGAGEMENT_WEIGHTS)[0]
            rows.append((at, pid, kind, self._engagement_detail(kind, at)))
        return rows

    def _engagement_detail(self, kind: str, at: dt.datetime) -> str:
        if kind in (Act.EMAIL_OPEN, Act.EMAIL_CLICK):
            return f"メルマガ {at:%Y}年{at.month}月号"
        if kind == Act.DOWNLOAD:
            return self.rng.choice(ASSETS)[1]
        if kind == Act.FORM_SUBMIT:
            return "/demo"
        return self.rng.choice(PAGES)

    def _title(self, campaign: str) -> str:
        for event in (*self.webinars, *self.exhibitions):
            if event.campaign == campaign:
                return event.title
        return campaign

    def _costs(self) -> tuple[CostRecord, ...]:
        """Spend per channel per month (per campaign where the channel has campaigns), per
        webinar and per exhibition, at each channel's cost per lead with some noise."""
        monthly: Counter[tuple[dt.date, str, str]] = Counter()
        for person in self.persons:
            if person.in_ma and person.channel not in ("webinar", "exhibition"):
                month = person.created_at.date().replace(day=1)
                monthly[(month, person.channel, person.campaign)] += 1
        costs = [
            CostRecord(month, channel, self._spend(channel, leads), campaign)
            for (month, channel, campaign), leads in sorted(monthly.items())
        ]
        for event in (*self.webinars, *self.exhibitions):
            channel = "webinar" if event.campaign.startswith("wb-") else "exhibition"
            if event.leads:
                costs.append(
                    CostRecord(
                        event.at.date(), channel, self._spend(channel, event.leads), event.campaign
                    )
                )
        return tuple(sorted(costs, key=lambda c: (c.date, c.channel, c.campaign)))

    def _spend(self, channel: str, leads: int) -> Decimal:
        return Decimal(round(PROFILES[channel].cpa * leads * self.rng.uniform(0.85, 1.15), -3))

    def _targets(self) -> tuple[TargetRecord, ...]:
        """Targets for every fiscal quarter of the history, the current and the next one:
        each KPI's pace over the complete quarters, on the growth trend, +3-10%.

        Seasonality is left out on purpose, as planners often do: some quarters beat it.
        MQLs exist only since HubSpot, so their target covers only the days since then.
        """
        quarters = [fiscal_quarter_of(self.start)]
        last = next_quarter(fiscal_quarter_of(self.today))
        while quarters[-1].name != last.name:
            quarters.append(next_quarter(quarters[-1]))
        actual: dict[str, Counter[str]] = {kpi: Counter() for kpi in TARGET_KPIS}
        for person in self.persons:
            self._count(actual["leads"], person.created_at)
            self._count(actual["mqls"], person.mql_at)
            self._count(actual["sqls"], person.sql_at)
        for deal in self.opportunities:
            self._count(actual["opportunities"], deal.created_at)
            if deal.status == OpportunityStatus.WON:
                self._count(actual["won_amount"], deal.closed_at, deal.amount)
        complete = [q.name for q in quarters if q.start >= self.start and q.end < self.today]
        reference = complete or [quarters[0].name]
        records = []
        for quarter in quarters:
            ambition = self.rng.uniform(1.03, 1.10)
            for kpi in TARGET_KPIS:
                since = self.start if kpi == "mqls" else self.legacy_start
                demand = {
                    q.name: sum(self._trend(d) for d in _days(max(q.start, since), q.end + DAY))
                    for q in quarters
                }
                pace = sum(actual[kpi][q] for q in reference) / sum(demand[q] for q in reference)
                value = max(_round_figure(pace * demand[quarter.name] * ambition), 1)
                records.append(TargetRecord(quarter.name, kpi, Decimal(value)))
        return tuple(records)

    def _count(self, counter: Counter[str], moment: dt.datetime | None, value: int = 1) -> None:
        """Add `value` to the fiscal quarter `moment` falls in (company time)."""
        if moment is not None:
            counter[fiscal_quarter_of(moment.astimezone(self.tz).date()).name] += value


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _days(start: dt.date, stop: dt.date) -> list[dt.date]:
    """The days of [start, stop)."""
    return [start + DAY * i for i in range((stop - start).days)]


def _cumulate(weights: Sequence[float]) -> list[float]:
    total, cumulative = 0.0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return cumulative


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _round_yen(amount: float) -> int:
    """Quotes are in units of 10,000 yen."""
    return int(round(amount, -4))


def _round_figure(value: float) -> int:
    """Three significant figures, as a planner would write a target."""
    if value < 100:
        return round(value)
    step = 10 ** (int(math.log10(value)) - 2)
    return int(round(value / step) * step)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _salesforce_id(prefix: str, number: int) -> str:
    """A 15-character Salesforce-style id (key prefix, pod, base-62 counter)."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return f"{prefix}5g0000{digits.rjust(6, '0')}"


# --- loading ---------------------------------------------------------------------------------


def load_demo(
    today: dt.date, persons: int = DEFAULT_PERSONS, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """Write the demo company through the ingest path and ensure the demo logins.

    Idempotent: loading the same (today, persons, seed) again creates and updates nothing.
    Persons of every source go in first, as deals may find their person by email in
    another source (spec section 2).
    """
    data = build_demo(today, persons, seed)
    report: dict[str, Any] = {"today": today.isoformat(), "persons": persons, "seed": seed}
    sources_report: dict[str, dict[str, Any]] = {}
    with transaction.atomic():
        sources = {s.name: get_or_create_source(s.name, s.kind) for s in data.sources}
        for source_data in data.sources:
            sources_report[source_data.name] = {"kind": str(source_data.kind)}
        ingesters: dict[str, Callable[[Any, Any], IngestResult]] = {
            "persons": ingest_persons,
            "opportunities": ingest_opportunities,
            "activities": ingest_activities,
            "costs": ingest_costs,
            "targets": ingest_targets,
        }
        for kind in RECORD_KINDS:
            for source_data in data.sources:
                records = source_data.records(kind)
                if records:
                    result: IngestResult = ingesters[kind](sources[source_data.name], records)
                    counts: dict[str, Any] = {"records": len(records), **result.as_dict()}
                    sources_report[source_data.name][kind] = counts
        name_demo_rows(Channel, CHANNEL_NAMES)
        name_demo_rows(Campaign, data.campaign_names)
        report["users"] = ensure_demo_users()
    report["sources"] = sources_report
    return report


def _outbound_campaign(quarter: Period) -> str:
    return f"outbound-{quarter.name.lower()}"


def name_demo_rows(model: type[Channel] | type[Campaign], names: Mapping[str, str]) -> None:
    """Give the demo's channels or campaigns their names (the ingest names a new one by its
    key); a name an admin has changed since stays."""
    for key, name in names.items():
        model.objects.filter(key=key, name__in=("", key)).update(name=name)


def ensure_demo_users() -> list[dict[str, Any]]:
    """One login per role in its group; re-running changes nothing (no new password hash)."""
    user_model = get_user_model()
    rows = []
    for spec in DEMO_USERS:
        group, _ = Group.objects.get_or_create(name=spec.group)
        user, created = user_model.objects.get_or_create(username=spec.username)
        wanted = {
            "is_staff": spec.is_staff,
            "is_active": True,
            "last_name": spec.last_name,
            "first_name": spec.first_name,
            "email": f"{spec.username}@demo.kpi-bridge.example",
        }
        changed = [name for name, value in wanted.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, wanted[name])
        if not user.check_password(spec.password):
            user.set_password(spec.password)
            changed.append("password")
        if changed:
            user.save()
        if list(user.groups.values_list("name", flat=True)) != [spec.group]:
            user.groups.set([group])
            changed.append("groups")
        rows.append(
            {
                "username": spec.username,
                "password": spec.password,
                "role": spec.group,
                "is_staff": spec.is_staff,
                "created": created,
                "updated": bool(changed) and not created,
            }
        )
    return rows
