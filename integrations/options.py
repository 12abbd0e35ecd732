"""A connection's lookup tables and settings: the defaults of docs/connectors.md (section 7
and each vendor's section) with what an ops admin changed in the connection's `options`
(Django admin). Read once per run; a wrong option fails the run naming it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.transport import SyncError

# 7.1 Salesforce / Marketo LeadSource -> channel
LEAD_SOURCE = {
    "Organic Search": "organic_search",
    "Paid Search": "paid_search",
    "Advertisement": "paid_search",
    "Webinar": "webinar",
    "Exhibition": "exhibition",
    "Trade Show": "exhibition",
    "Referral": "referral",
    "Employee Referral": "referral",
    "Partner": "partner",
    "Outbound": "outbound",
}
# 7.2 Salesforce Campaign.Type -> channel
CAMPAIGN_TYPE = {
    "Advertisement": "paid_search",
    "Banner Ads": "paid_search",
    "Other": "organic_search",
    "Webinar": "webinar",
    "Trade Show": "exhibition",
    "Conference": "exhibition",
    "Referral Program": "referral",
    "Partners": "partner",
    "Email": "email",
}
# 7.3 DisqualifyReason__c -> reason (anything else: other, the text kept)
DISQUALIFY_REASON = {
    "ターゲット外": "wrong_target",
    "予算なし": "no_budget",
    "時期尚早": "no_timing",
    "重複": "duplicate",
    "競合": "competitor",
    "学生・求職者": "student_job_seeker",
    "その他": "other",
}
# 7.4 Loss_Reason__c -> loss_reason
LOSS_REASON = {
    "価格": "price",
    "競合": "competitor",
    "時期": "timing",
    "機能不足": "feature_gap",
    "その他": "other",
}
# 7.5 Account Engagement source -> channel
PARDOT_SOURCE = {
    "Organic Search": "organic_search",
    "Google": "organic_search",
    "Google Ads": "paid_search",
    "Yahoo!広告": "paid_search",
    "Facebook Ads": "paid_social",
    "LinkedIn Ads": "paid_social",
    "Webinar": "webinar",
    "Trade Show": "exhibition",
    "展示会": "exhibition",
    "Referral": "referral",
    "Partner": "partner",
    "Salesforce": "outbound",
    "Newsletter": "email",
}
TABLES = {
    "lead_source": LEAD_SOURCE,
    "campaign_type": CAMPAIGN_TYPE,
    "disqualify_reason": DISQUALIFY_REASON,
    "loss_reason": LOSS_REASON,
    "pardot_source": PARDOT_SOURCE,
    "campaign_channel": {},  # Account Engagement campaign name -> channel
}
STATUS_VALUES = {"mql": "MQL", "sql": "SQL", "disqualified": "Disqualified"}
SETTINGS: dict[str, Any] = {
    "score_field": "mkto71_Lead_Score__c",  # Salesforce: the MA's score field on Lead
    "sync_user_names": ["marketo", "mkto"],  # Salesforce: the MA's sync user (owner empty)
    "api_share": 0.1,  # Salesforce: the share of the day's API calls left a run may use
    "history_start": "",  # Marketo: ISO date a full sync reads from (default 3 years back)
    "status_field": "Lead Status",  # Marketo: display name of the lead status field
    "calls_per_20s": 50,  # Marketo: our pace (the instance allows 100, shared)
    "cost_feed": True,  # Salesforce and Account Engagement: book campaign costs
}


@dataclass(frozen=True)
class ConnectionOptions:
    tables: dict[str, dict[str, str]]
    status_values: dict[str, str]
    settings: dict[str, Any]

    def table(self, name: str) -> dict[str, str]:
        return self.tables[name]

    def __getitem__(self, name: str) -> Any:
        return self.settings[name]


def options_of(raw: Any) -> ConnectionOptions:
    """The defaults overridden by `raw` (the connection's options); an unknown key or a
    value of the wrong kind is a SyncError naming it."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise SyncError("options: must be a JSON object")
    known = {*TABLES, "status_values", *SETTINGS}
    for key in raw:
        if key not in known:
            raise SyncError(f"options: unknown key '{key}' (known: {', '.join(sorted(known))})")
    tables = {}
    for name, default in TABLES.items():
        given = raw.get(name, {})
        if not isinstance(given, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in given.items()
        ):
            raise SyncError(f"options: {name} must map text to text")
        tables[name] = {**default, **given}
    statuses = raw.get("status_values", {})
    if not isinstance(statuses, dict) or not set(statuses) <= set(STATUS_VALUES):
        raise SyncError("options: status_values takes mql, sql and disqualified")
    settings = {**SETTINGS}
    for name, default in SETTINGS.items():
        if name in raw:
            value = raw[name]
            if not isinstance(value, type(default)) and not (
                isinstance(default, float) and isinstance(value, int)
            ):
                raise SyncError(f"options: {name} must be a {type(default).__name__}")
            settings[name] = value
    share = float(settings["api_share"])
    if not 0 < share <= 1:
        raise SyncError("options: api_share must be above 0 and at most 1")
    return ConnectionOptions(tables, {**STATUS_VALUES, **statuses}, settings)
