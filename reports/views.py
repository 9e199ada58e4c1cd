"""Server-rendered report pages: the live executive dashboard (Plotly charts from the vendored plotly.js),
the ROI worksheet with editable assumptions, business outcome entry, and downloads of archived monthly PDFs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from reports import charts, selectors, services
from reports.authentication import user_can_enter_report_data
from reports.forms import BusinessOutcomeForm
from reports.models import MonthlyReport
from reports.periods import Month
from reports.roi import (
    ASSUMPTION_LABELS,
    ASSUMPTION_LIMITS,
    RoiAssumptions,
    assumption_value_error,
    roi_worksheet,
)


def _month_from(request: HttpRequest) -> Month:
    try:
        return Month.parse(request.GET.get("month", ""))
    except ValueError:
        return Month.of(timezone.now()).previous()


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "reports/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        month = _month_from(self.request)
        data = selectors.report_data(month=month)
        worksheet = roi_worksheet(data.roi_defaults)
        figures = charts.report_figures(data, worksheet)
        context.update(
            month=month,
            previous_month=month.previous(),
            next_month=month.next(),
            data=data,
            expected=worksheet.expected,
            charts={name: charts.figure_json(fig) for name, fig in figures.items()},
            reports=selectors.monthly_report_list()[:24],
        )
        return context


class RoiWorksheetView(LoginRequiredMixin, TemplateView):
    """GET with assumption fields as query parameters recomputes the worksheet (no state is stored)."""

    template_name = "reports/roi.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        month = _month_from(self.request)
        assumptions = selectors.report_data(month=month).roi_defaults
        errors: dict[str, str] = {}
        changes: dict[str, float | int] = {}
        for name in RoiAssumptions.field_names():
            raw = self.request.GET.get(name, "").strip()
            if not raw:
                continue
            try:
                value = int(raw) if name == "ramp_months" else float(raw)
            except ValueError:
                errors[name] = "not a number"
                continue
            problem = assumption_value_error(name, value)
            if problem:
                errors[name] = problem
            else:
                changes[name] = value
        worksheet = roi_worksheet(assumptions.with_changes(**changes))
        used = worksheet.assumptions.as_dict()
        fields = [
            {
                "name": name,
                "label": ASSUMPTION_LABELS[name],
                # A refused value stays in its box, next to why; the worksheet uses the default meanwhile.
                "value": self.request.GET.get(name, "").strip() if name in errors else used[name],
                "max": ASSUMPTION_LIMITS[name][1],
                "step": 1 if name == "ramp_months" else "any",
                "error": errors.get(name, ""),
            }
            for name in RoiAssumptions.field_names()
        ]
        context.update(
            month=month,
            worksheet=worksheet,
            expected=worksheet.expected,
            fields=fields,
            errors=errors,
            chart=charts.figure_json(charts.roi_chart(worksheet)),
        )
        return context


class BusinessOutcomeEntryView(LoginRequiredMixin, UserPassesTestMixin, FormView):
    """Record (or correct) one model's business outcome for a month; the same service as the API."""

    template_name = "reports/outcome_form.html"
    form_class = BusinessOutcomeForm

    def test_func(self) -> bool:
        return user_can_enter_report_data(self.request.user)

    def get_initial(self) -> dict[str, Any]:
        return {
            "month": str(_month_from(self.request)),
            "owner": self.request.user.pk,
            "registered_model": self.request.GET.get("model", ""),
        }

    def form_valid(self, form: BusinessOutcomeForm) -> HttpResponse:
        actor = self.request.user
        assert isinstance(actor, User)  # LoginRequiredMixin let only authenticated users in
        try:
            row = services.business_outcome_record(**form.service_arguments(), actor=actor)
        except services.ReportsError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        month = Month.of(row.month)
        messages.success(
            self.request, f"Business outcome of {row.registered_model.name} for {month.label} saved."
        )
        self.success_url = f"{reverse('reports:dashboard')}?month={month}"
        return super().form_valid(form)


class ReportDownloadView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        report = MonthlyReport.objects.filter(pk=pk).first()
        if report is None:
            raise Http404("No such report.")
        period = Month.of(report.period)
        return FileResponse(
            report.file.open("rb"),
            as_attachment=True,
            filename=f"mlgov-executive-{period}-v{report.version}.pdf",
            content_type="application/pdf",
        )
