"""Plotly figures of the executive report, shared by the live dashboard (as JSON for the vendored plotly.js)
and the PDF (exported to SVG with kaleido, which drives a headless Chromium; one server per process).
"""

from __future__ import annotations

import atexit
import base64
import logging
import threading
import warnings
from typing import Any

import plotly.graph_objects as go

from reports.kpis import MaturityGrid
from reports.roi import RoiWorksheet
from reports.selectors import ReportData

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
COLORS = {"primary": "#1f4e79", "accent": "#c0504d", "muted": "#7f8c8d", "good": "#2e7d32", "warn": "#ef6c00"}
_kaleido_lock = threading.Lock()
_kaleido_started = False


def _layout(fig: go.Figure, *, title: str, y_title: str = "", height: int = 300) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 14}},
        font={"family": FONT, "size": 11, "color": "#222"},
        height=height,
        margin={"l": 56, "r": 16, "t": 40, "b": 40},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        yaxis={"title": {"text": y_title}, "gridcolor": "#e5e5e5", "zeroline": False},
        xaxis={"showgrid": False},
    )
    return fig


def _labels(data: ReportData) -> list[str]:
    return [m.short_label for m in data.months]


def incidents_chart(data: ReportData) -> go.Figure:
    drift = data.series["drift_incidents"]
    total = data.series["incidents_total"]
    other = [(t or 0) - (d or 0) for t, d in zip(total, drift, strict=True)]
    fig = go.Figure(
        [
            go.Bar(name="Drift", x=_labels(data), y=drift, marker_color=COLORS["accent"]),
            go.Bar(name="Other incidents", x=_labels(data), y=other, marker_color=COLORS["muted"]),
        ]
    )
    fig.update_layout(barmode="stack")
    return _layout(fig, title="Incidents per month", y_title="incidents")


def shipped_chart(data: ReportData) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            name="Models shipped",
            x=_labels(data),
            y=data.series["shipped_models"],
            marker_color=COLORS["primary"],
        )
    )
    return _layout(fig, title="Models shipped to production", y_title="models")


def _lines(data: ReportData, keys: dict[str, str], *, title: str, y_title: str) -> go.Figure:
    palette = [COLORS["primary"], COLORS["accent"], COLORS["good"], COLORS["warn"]]
    fig = go.Figure(
        [
            go.Scatter(
                name=name,
                x=_labels(data),
                y=data.series[key],
                mode="lines+markers",
                connectgaps=False,
                line={"color": palette[i % len(palette)], "width": 2},
            )
            for i, (key, name) in enumerate(keys.items())
        ]
    )
    return _layout(fig, title=title, y_title=y_title)


def sla_chart(data: ReportData) -> go.Figure:
    fig = _lines(data, {"sla_adherence": "SLA adherence"}, title="SLA adherence", y_title="% of models")
    fig.update_yaxes(range=[0, 105])
    return fig


def cost_chart(data: ReportData) -> go.Figure:
    return _lines(
        data,
        {"cost_per_1k_requests": "per 1,000 requests", "cost_per_1k_predictions": "per 1,000 predictions"},
        title="Unit cost",
        y_title="cost",
    )


def value_chart(data: ReportData) -> go.Figure:
    fig = go.Figure(
        [
            go.Bar(
                name="Revenue uplift",
                x=_labels(data),
                y=data.series["revenue_uplift"],
                marker_color=COLORS["good"],
            ),
            go.Bar(
                name="Refunds avoided",
                x=_labels(data),
                y=data.series["refunds_avoided"],
                marker_color=COLORS["primary"],
            ),
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(fig, title="Business value", y_title="amount")


def approvals_chart(data: ReportData) -> go.Figure:
    return _lines(
        data,
        {"approval_cycle_median": "median", "approval_cycle_p90": "p90"},
        title="Approval cycle time (submitted → approved)",
        y_title="days",
    )


def pass_rates_chart(data: ReportData) -> go.Figure:
    fig = _lines(
        data,
        {"safety_pass_rate": "Bias & safety pass rate", "gate_allow_rate": "Gate allow rate"},
        title="Policy pass rates",
        y_title="% of gate decisions",
    )
    fig.update_yaxes(range=[0, 105])
    return fig


def roi_chart(worksheet: RoiWorksheet) -> go.Figure:
    styles = {
        "low": ("dot", COLORS["accent"]),
        "expected": ("solid", COLORS["primary"]),
        "high": ("dash", COLORS["good"]),
    }
    fig = go.Figure(
        [
            go.Scatter(
                name=name,
                x=[row.month for row in scenario.cash_flow],
                y=[row.cumulative for row in scenario.cash_flow],
                mode="lines",
                line={"dash": styles[name][0], "color": styles[name][1], "width": 2},
            )
            for name, scenario in worksheet.scenarios.items()
        ]
    )
    fig.add_hline(y=0, line={"color": "#999", "width": 1})
    fig = _layout(fig, title="Cumulative net benefit (24 months)", y_title="amount")
    fig.update_xaxes(title={"text": "month"}, dtick=2)
    return fig


def maturity_chart(grid: MaturityGrid) -> go.Figure:
    z = [grid.levels[team] for team in grid.teams]
    text = [["" if level is None else str(level) for level in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[m.short_label for m in grid.months],
            y=grid.teams,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=5,
            colorscale="Blues",
            colorbar={"title": {"text": "level"}},
            hoverongaps=False,
        )
    )
    height = max(220, 60 + 32 * len(grid.teams))
    return _layout(fig, title="Maturity level by team", height=height)


def report_figures(data: ReportData, worksheet: RoiWorksheet) -> dict[str, go.Figure]:
    return {
        "shipped": shipped_chart(data),
        "incidents": incidents_chart(data),
        "sla": sla_chart(data),
        "cost": cost_chart(data),
        "value": value_chart(data),
        "approvals": approvals_chart(data),
        "pass_rates": pass_rates_chart(data),
        "roi": roi_chart(worksheet),
        "maturity": maturity_chart(data.maturity),
    }


def figure_json(fig: go.Figure) -> dict[str, Any]:
    return fig.to_plotly_json()


def _ensure_kaleido() -> None:
    global _kaleido_started
    with _kaleido_lock:
        if not _kaleido_started:
            import kaleido

            for name in ("kaleido", "choreographer", "logistro"):
                logging.getLogger(name).setLevel(logging.WARNING)
            kaleido.start_sync_server(silence_warnings=True)
            atexit.register(kaleido.stop_sync_server, silence_warnings=True)
            _kaleido_started = True


WIDE_CHARTS = frozenset({"roi", "maturity"})


def chart_width(name: str) -> int:
    """Pixel width to export at: wide charts span the page, the others sit two to a row."""
    return 900 if name in WIDE_CHARTS else 520


def figure_svg(fig: go.Figure, *, width: int = 520) -> str:
    """The figure as SVG markup (vector: text and paths, no raster)."""
    _ensure_kaleido()
    height = int(fig.layout.height or 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotly warns that kaleido options are ignored when a server runs
        svg = fig.to_image(format="svg", width=width, height=height)
    return svg.decode("utf-8")


def svg_data_uri(svg: str) -> str:
    """An <img> source keeping each chart's SVG ids (clip paths, gradients) apart from the others'."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
