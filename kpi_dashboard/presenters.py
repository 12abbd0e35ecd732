"""Turn a JSON-ready KPI snapshot into rows a template shows (formatting only, no KPIs)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from funnel.metrics.presentation import (
    KPI_LABELS,
    MARKETING_KPIS,
    SALES_KPIS,
    SHARED_KPIS,
    format_money,
    format_value,
)

TREE_NODES = ("won_amount", "won_deals", "opportunities", "sqls", "mqls", "leads")
CHANNEL_COLUMNS = (
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "won_deals",
    "won_amount",
    "marketing_cost",
    "cpa",
    "opportunity_rate",
    "win_rate",
)


def _status_label(status: str | None) -> str:
    return {"on_track": _("On track"), "behind": _("Behind")}.get(status or "", "")


def kpi_cards(snapshot: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    kpis, targets, cohorts = snapshot["kpis"], snapshot["targets"], snapshot["cohorts"]
    cards = []
    for key in keys:
        target = targets.get(key)
        cohort = cohorts.get(key)
        cards.append(
            {
                "key": key,
                "label": KPI_LABELS[key],
                "value": format_value(key, kpis.get(key)),
                "target": format_value(key, target["target"]) if target else None,
                "status": target["status"] if target else None,
                "status_label": _status_label(target["status"]) if target else "",
                "cohort": cohort,
            }
        )
    return cards


def tree_rows(tree: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key in TREE_NODES:
        node = tree[key]
        # Expected counts are fractional (required x elapsed share): show one decimal.
        expected_as = key if key == "won_amount" else "expected_count"
        rows.append(
            {
                "key": key,
                "label": KPI_LABELS[key],
                "required": format_value(key, node["required"]),
                "expected": format_value(expected_as, node["expected"]),
                "actual": format_value(key, node["actual"]),
                "status": node["status"],
                "status_label": _status_label(node["status"]),
                "reason": node["reason"],
                "bottleneck": tree["bottleneck"] == key,
            }
        )
    return rows


def channel_rows(by_channel: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"channel": channel, "cells": [format_value(c, row.get(c)) for c in CHANNEL_COLUMNS]}
        for channel, row in by_channel.items()
    ]


def home_context(snapshot: dict[str, Any]) -> dict[str, Any]:
    tree = snapshot["tree"]
    return {
        "snapshot": snapshot,
        "shared": kpi_cards(snapshot, SHARED_KPIS),
        "marketing": kpi_cards(snapshot, MARKETING_KPIS),
        "sales": kpi_cards(snapshot, SALES_KPIS),
        "tree": tree_rows(tree),
        "budget": format_money(tree["budget"]["required"]),
        "budget_reason": tree["budget"]["reason"],
        "bottleneck": KPI_LABELS.get(tree["bottleneck"] or "", None),
        "channel_columns": [KPI_LABELS[c] for c in CHANNEL_COLUMNS],
        "channels": channel_rows(snapshot["by_channel"]),
    }
