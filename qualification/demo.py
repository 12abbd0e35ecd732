"""The demo's criteria draft: proposed by the ops admin, so the agreement page shows a
backtest and marketing and sales can approve it (`load_demo`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from qualification.criteria import parse_criteria
from qualification.models import CriteriaVersion
from qualification.services import propose

DEMO_DRAFT = {
    "stage": "mql",
    "name": "MQL: pricing interest or repeated downloads",
    "groups": [
        {
            "all": [
                {"field": "lead_score", "op": "gte", "value": 50},
                {
                    "activity": ["web_visit", "page_view"],
                    "detail_contains": "/pricing",
                    "at_least": 1,
                    "within_days": 30,
                },
            ]
        },
        {"all": [{"activity": ["download"], "at_least": 2, "within_days": 14}]},
    ],
}
DEMO_REASON = (
    "営業から「スコアだけのMQLは温度感が低い」との声。価格ページ閲覧か資料2件以上を条件に。"
)


def ensure_demo_draft() -> tuple[CriteriaVersion, bool]:
    """The draft, proposed once (a database with any criteria version keeps its own)."""
    existing = CriteriaVersion.objects.order_by("pk").first()
    if existing is not None:
        return existing, False
    proposer = get_user_model().objects.filter(username="opsadmin").first()
    return propose(parse_criteria(DEMO_DRAFT), proposer, DEMO_REASON), True
