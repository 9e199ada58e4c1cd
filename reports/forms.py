"""Forms of the report entry pages: business outcomes of one model and month (figures, source and owner)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from registry_sync.models import MirrorState, RegisteredModel
from reports.periods import Month


class BusinessOutcomeForm(forms.Form):
    registered_model = forms.ModelChoiceField(
        label="Model",
        queryset=RegisteredModel.objects.filter(state=MirrorState.ACTIVE).order_by("name"),
        to_field_name="name",
    )
    month = forms.CharField(label="Month", max_length=7, help_text="YYYY-MM, e.g. 2026-10.")
    revenue_uplift = forms.DecimalField(
        label="Revenue uplift", max_digits=14, decimal_places=2, initial=Decimal(0)
    )
    refunds_avoided = forms.DecimalField(
        label="Refunds avoided", max_digits=14, decimal_places=2, initial=Decimal(0)
    )
    time_to_first_value_days = forms.FloatField(
        label="Time to first value (days)", min_value=0, required=False
    )
    source = forms.CharField(
        label="Source", max_length=300, help_text="Where the figures come from (report, dashboard)."
    )
    owner = forms.ModelChoiceField(
        label="Owner", queryset=get_user_model().objects.filter(is_active=True).order_by("username")
    )

    def clean_month(self) -> Month:
        try:
            return Month.parse(self.cleaned_data["month"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_source(self) -> str:
        source: str = self.cleaned_data["source"].strip()
        if not source:
            raise forms.ValidationError("Say where the figures come from.")
        return source

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "registered_model": data["registered_model"],
            "month": data["month"],
            "revenue_uplift": data["revenue_uplift"],
            "refunds_avoided": data["refunds_avoided"],
            "time_to_first_value_days": data["time_to_first_value_days"],
            "source": data["source"],
            "owner": data["owner"],
        }
