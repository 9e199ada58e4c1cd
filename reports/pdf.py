"""The monthly executive PDF: report data + charts (SVG) rendered from an HTML template by WeasyPrint."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from reports import charts
from reports.periods import Month
from reports.roi import RoiWorksheet, roi_worksheet
from reports.selectors import ReportData, report_data

SUMMARY_KPIS = (
    "shipped_models",
    "drift_incidents",
    "sla_adherence",
    "cost_per_1k_requests",
    "safety_pass_rate",
    "approval_cycle_median",
    "revenue_uplift",
)
KPI_PAGES = (
    (
        "Delivery and reliability",
        ("shipped_models", "drift_incidents", "sla_adherence"),
        ("shipped", "incidents", "sla"),
    ),
    (
        "Cost and value",
        (
            "total_cost",
            "cost_per_1k_requests",
            "cost_per_1k_predictions",
            "revenue_uplift",
            "refunds_avoided",
            "time_to_first_value",
        ),
        ("cost", "value"),
    ),
)


@dataclass
class RenderedReport:
    pdf: bytes
    page_count: int
    timings: dict[str, float] = field(default_factory=dict)


def organisation_name() -> str:
    return str(getattr(settings, "REPORTS_ORGANISATION", "") or "mlgov")


def report_context(
    *, data: ReportData, worksheet: RoiWorksheet, chart_svgs: dict[str, str]
) -> dict[str, Any]:
    images = {name: charts.svg_data_uri(svg) for name, svg in chart_svgs.items()}
    return {
        "data": data,
        "organisation": organisation_name(),
        "previous_month": data.month.previous(),
        "generated_at": timezone.now(),
        "summary": [data.kpis[key] for key in SUMMARY_KPIS],
        "kpi_pages": [
            {"title": title, "kpis": [data.kpis[k] for k in keys], "charts": [images[c] for c in chart_names]}
            for title, keys, chart_names in KPI_PAGES
        ],
        "approval_kpis": [
            data.kpis[k]
            for k in ("approval_cycle_median", "approval_cycle_p90", "safety_pass_rate", "gate_allow_rate")
        ],
        "images": images,
        "worksheet": worksheet,
        "expected": worksheet.expected,
        "assumptions": worksheet.assumptions.as_dict(),
        "figures": data.current,
        "maturity_rows": [(team, data.maturity.levels[team]) for team in data.maturity.teams],
    }


def monthly_report_render(*, month: Month, progress: Callable[[str], None] | None = None) -> RenderedReport:
    from weasyprint import HTML

    def step(message: str) -> None:
        if progress:
            progress(message)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    step(f"computing KPIs for {month}")
    data = report_data(month=month)
    worksheet = roi_worksheet(data.roi_defaults)
    timings["queries"] = time.perf_counter() - started

    started = time.perf_counter()
    # The maturity heatmap is a table in print: Plotly draws heatmap cells as a raster image.
    figures = {k: v for k, v in charts.report_figures(data, worksheet).items() if k != "maturity"}
    chart_svgs: dict[str, str] = {}
    for index, (name, fig) in enumerate(figures.items(), start=1):
        step(f"chart {index}/{len(figures)}: {name}")
        chart_svgs[name] = charts.figure_svg(fig, width=charts.chart_width(name))
    timings["charts"] = time.perf_counter() - started

    started = time.perf_counter()
    step("rendering PDF")
    html = render_to_string(
        "reports/pdf/monthly.html", report_context(data=data, worksheet=worksheet, chart_svgs=chart_svgs)
    )
    document = HTML(string=html, base_url=str(settings.BASE_DIR)).render()
    pdf = document.write_pdf()
    timings["pdf"] = time.perf_counter() - started
    assert pdf is not None
    return RenderedReport(pdf=pdf, page_count=len(document.pages), timings=timings)
