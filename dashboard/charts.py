"""The dashboard's charts as plotly figures (plotly.graph_objects), handed to the template as
JSON and drawn by the plotly.js of our own static files. Figures only: the numbers come from
the KPI snapshot and the trend, already computed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from dashboard.presenters import records_url
from funnel.metrics.catalogue import Team, Unit, kpi
from funnel.metrics.formatting import currency_symbol
from funnel.metrics.trend import TREND_KPIS

MARKETING_COLOUR = "#2563eb"
SHARED_COLOUR = "#7c3aed"
SALES_COLOUR = "#059669"
FADED = {MARKETING_COLOUR: "#93b4f5", SHARED_COLOUR: "#c4b0f5", SALES_COLOUR: "#8fd3bd"}
FONT = '"Noto Sans JP", "Hiragino Sans", "Yu Gothic", system-ui, sans-serif'
GRID = "#e4e7eb"
TEAM_COLOURS = {
    Team.MARKETING: MARKETING_COLOUR,
    Team.SHARED: SHARED_COLOUR,
    Team.SALES: SALES_COLOUR,
}


# Funnel stages (spec section 2), each in the colour of the team its KPI belongs to.
def _colour(key: str) -> str:
    team = kpi(key).team
    return TEAM_COLOURS[team] if team else SHARED_COLOUR


FUNNEL_STAGES = tuple(
    (key, _colour(key)) for key in ("leads", "mqls", "sqls", "opportunities", "won_deals")
)
TREND_COLOURS = {key: _colour(key) for key in TREND_KPIS}


def plain_figure(figure: go.Figure) -> dict[str, Any]:
    """Plain JSON types, ready for json_script and Plotly.newPlot."""
    result: dict[str, Any] = json.loads(figure.to_json())
    return result


def base_layout(height: int) -> dict[str, Any]:
    return {
        "template": "none",
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 32, "b": 40},
        "font": {"family": FONT, "size": 12, "color": "#1f2933"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "showlegend": False,
        "hoverlabel": {"font": {"family": FONT}},
    }


def funnel_figure(kpis: dict[str, Any], params: Mapping[str, str] | None) -> dict[str, Any] | None:
    """Entries of each stage in the period; None when the period has none at all. Each bar
    carries the link to its records (the script opens it on a click)."""
    values = [kpis.get(key) or 0 for key, _colour in FUNNEL_STAGES]
    if not any(values):
        return None
    figure = go.Figure(
        go.Funnel(
            y=[str(kpi(key).label) for key, _colour in FUNNEL_STAGES],
            x=values,
            texttemplate="%{value:,}",
            textposition="auto",
            marker={"color": [colour for _key, colour in FUNNEL_STAGES]},
            connector={"fillcolor": "#eef2f7", "line": {"width": 0}},
            hovertemplate="%{y}: %{x:,}<extra></extra>",
            customdata=[records_url(key, params) for key, _colour in FUNNEL_STAGES],
        )
    )
    figure.update_layout(**base_layout(300))
    figure.update_layout(margin={"l": 110, "r": 16, "t": 8, "b": 8})
    return plain_figure(figure)


def short_period_names(names: list[str]) -> list[str]:
    """Tick labels that fit eight quarters or twelve months on a phone: FY2026Q3 -> FY26 / Q3;
    months by number, with the year under the first one and under each January."""
    result = []
    for index, name in enumerate(names):
        if name.startswith("FY") and "Q" in name:
            year, quarter = name[2:].split("Q")
            result.append(f"FY{year[-2:]}<br>Q{quarter}")
        elif len(name) == 7 and name[4] == "-":
            month = name[5:]
            result.append(f"{month}<br>{name[:4]}" if index == 0 or month == "01" else month)
        else:
            result.append(name)
    return result


def _has_data(trend: list[dict[str, Any]]) -> bool:
    return any(point["kpis"].get(key) for point in trend for key in TREND_KPIS)


def _grid(rows: int, cols: int) -> list[tuple[list[float], list[float]]]:
    """(x domain, y domain) of each cell of a rows x cols grid, row by row from the top."""
    h_gap, v_gap = 0.1, 0.2 if rows == 2 else 0.09
    width, height = (1 - h_gap * (cols - 1)) / cols, (1 - v_gap * (rows - 1)) / rows
    cells = []
    for index in range(rows * cols):
        row, col = divmod(index, cols)
        left, top = col * (width + h_gap), 1 - row * (height + v_gap)
        x_domain = [round(left, 4), round(min(left + width, 1), 4)]
        cells.append((x_domain, [round(max(top - height, 0), 4), round(top, 4)]))
    return cells


def _trend_trace(key: str, names: list[str], values: list[Any], selected: str) -> Any:
    colour = TREND_COLOURS[key]
    shade = [colour if name == selected else FADED[colour] for name in names]
    if kpi(key).unit is Unit.RATE:
        return go.Scatter(
            x=names,
            y=values,
            mode="lines+markers",
            line={"color": colour, "width": 2},
            marker={"color": shade, "size": [11 if n == selected else 7 for n in names]},
            connectgaps=False,
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )
    money = kpi(key).unit is Unit.MONEY
    return go.Bar(
        x=names,
        y=values,
        marker={"color": shade},
        hovertemplate=(
            f"%{{x}}: {currency_symbol()}%{{y:,.0f}}<extra></extra>"
            if money
            else "%{x}: %{y:,}<extra></extra>"
        ),
    )


def _y_axis(key: str) -> dict[str, Any]:
    if kpi(key).unit is Unit.RATE:
        return {"tickformat": ".0%"}
    if kpi(key).unit is Unit.MONEY:
        return {"tickformat": "~s", "tickprefix": currency_symbol()}
    return {"tickformat": ",d"}


def _trend_figure(
    trend: list[dict[str, Any]], selected: str, rows: int, cols: int, height: int
) -> dict[str, Any]:
    """One small multiple per shared KPI, laid out by hand in one layout (building it
    through make_subplots and update_* calls costs a third of a second per request)."""
    names = [point["period"].name for point in trend]
    ticks = short_period_names(names)
    traces = []
    layout = {**base_layout(height), "margin": {"l": 56, "r": 12, "t": 28, "b": 44}}
    annotations = []
    for index, ((x_domain, y_domain), key) in enumerate(
        zip(_grid(rows, cols), TREND_KPIS, strict=True)
    ):
        suffix = "" if index == 0 else str(index + 1)
        values = [point["kpis"].get(key) for point in trend]
        trace = _trend_trace(
            key, names, [None if v is None else float(v) for v in values], selected
        )
        trace.update(xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        traces.append(trace)
        layout[f"xaxis{suffix}"] = {
            "domain": x_domain,
            "anchor": f"y{suffix}",
            "type": "category",
            "tickmode": "array",
            "tickvals": names,
            "ticktext": ticks,
            "tickangle": 0,
            "showgrid": False,
            "tickfont": {"size": 10 if cols > 1 else 11},
        }
        layout[f"yaxis{suffix}"] = {
            "domain": y_domain,
            "anchor": f"x{suffix}",
            "rangemode": "tozero",
            "gridcolor": GRID,
            "zeroline": True,
            "zerolinecolor": GRID,
            **_y_axis(key),
        }
        annotations.append(
            {
                "text": str(kpi(key).label),
                "x": sum(x_domain) / 2,
                "y": y_domain[1],
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 13, "family": FONT},
            }
        )
    layout["annotations"] = annotations
    return plain_figure(go.Figure(data=traces, layout=layout))


def trend_figures(trend: list[dict[str, Any]], selected: str) -> dict[str, Any] | None:
    """Small multiples of the shared KPIs: 2 x 2 on a wide screen, 4 x 1 on a phone (the
    script picks one by width). None when no period of the run has any data."""
    if not _has_data(trend):
        return None
    return {
        "wide": _trend_figure(trend, selected, 2, 2, 480),
        "narrow": _trend_figure(trend, selected, 4, 1, 960),
    }


def dashboard_charts(
    snapshot: dict[str, Any],
    trend: list[dict[str, Any]],
    selected: str,
    params: Mapping[str, str] | None,
) -> dict[str, Any]:
    return {
        "funnel": funnel_figure(snapshot["kpis"], params),
        "trend": trend_figures(trend, selected),
    }
