"""Server-rendered pages of the model inventory: model list (htmx live search), model detail with its
governance records, gate decision, sync status.

Every page needs a logged-in user and shows the "last synced" banner; the pages only call selectors.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.generic import ListView, TemplateView

from governance import selectors
from governance.models import GateDecision, RaciAssignment, RaciRole
from registry_sync.models import MirrorState, ModelAlias, ModelVersion, RegisteredModel, SyncRun

PAGE_SIZE = 50


class ModelFilterForm(forms.Form):
    search = forms.CharField(required=False, max_length=256)
    tag = forms.CharField(required=False, max_length=512)
    alias = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *MirrorState.choices])

    def __init__(self, *args: Any, alias_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        alias_field = self.fields["alias"]
        assert isinstance(alias_field, forms.ChoiceField)
        alias_field.choices = [("", "Any alias"), *((name, name) for name in alias_names)]

    def clean_tag(self) -> tuple[str, str] | None:
        value: str = self.cleaned_data["tag"]
        if not value:
            return None
        try:
            return selectors.tag_filter_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def _is_htmx_partial(request: HttpRequest) -> bool:
    # A history restore (back button after a live search) needs the whole page, not the fragment.
    return request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers


def _duration_text(duration: timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class SyncBannerMixin:
    """Adds the latest sync pass (and the last successful one) for the banner in base.html."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        if not _is_htmx_partial(self.request):  # type: ignore[attr-defined]
            context["show_sync_banner"] = True
            context["sync_latest"] = selectors.sync_run_latest()
            context["sync_last_succeeded"] = selectors.sync_run_last_succeeded()
        return context


class ModelListView(LoginRequiredMixin, SyncBannerMixin, ListView):
    template_name = "governance/model_list.html"
    paginate_by = PAGE_SIZE
    context_object_name = "models"

    def get_queryset(self) -> QuerySet[RegisteredModel]:
        self.filter_form = ModelFilterForm(
            self.request.GET or None, alias_names=selectors.registered_model_alias_names()
        )
        filters: dict[str, Any] = {}
        if self.filter_form.is_bound:
            self.filter_form.is_valid()
            # Invalid fields are reported on the form and left out; the valid ones still apply.
            filters = {key: value for key, value in self.filter_form.cleaned_data.items() if value}
        self.is_filtered = bool(filters)
        return selectors.registered_model_list(**filters)

    def get_template_names(self) -> list[str]:
        if _is_htmx_partial(self.request):
            return ["governance/_model_table.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filter_form
        context["is_filtered"] = self.is_filtered
        return context

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **response_kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response


@dataclass(frozen=True)
class VersionPanel:
    """One version as the detail page shows it, with its run's metrics split into bias and other."""

    version: ModelVersion
    aliases: Sequence[ModelAlias]
    bias_metrics: Mapping[str, float | None]
    bias_checks: Sequence[selectors.BiasCheck]
    other_metrics: Mapping[str, float | None]


@dataclass(frozen=True)
class ProfileRow:
    """One intended-use answer, ready to print: lists become `values`, booleans Yes/No."""

    label: str
    values: Sequence[str]
    is_list: bool
    answered: bool = True


PROFILE_LABELS = {"phi": "PHI (health data)"}


def _profile_rows(intended_use: Mapping[str, Any], *, fields: Sequence[str]) -> list[ProfileRow]:
    # jsonb does not keep key order: show the schema's questions in its order, then any unknown keys.
    keys = [*fields, *sorted(key for key in intended_use if key not in fields)]
    rows = []
    for key in keys:
        label = PROFILE_LABELS.get(key, key.replace("_", " ").capitalize())
        if key not in intended_use:
            rows.append(ProfileRow(label=label, values=[], is_list=False, answered=False))
            continue
        value = intended_use[key]
        if isinstance(value, list):
            rows.append(ProfileRow(label=label, values=[_profile_text(item) for item in value], is_list=True))
        else:
            rows.append(ProfileRow(label=label, values=[_profile_text(value)], is_list=False))
    return rows


def _profile_text(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return f"{value:,}"
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


@dataclass(frozen=True)
class RaciRow:
    role: str
    assignments: Sequence[RaciAssignment]


def _raci_rows(assignments: Sequence[RaciAssignment]) -> list[RaciRow]:
    # Every role in R-A-C-I order, so an empty role shows as a gap rather than disappearing.
    return [
        RaciRow(role=label, assignments=[a for a in assignments if a.role == value])
        for value, label in RaciRole.choices
    ]


class ModelDetailView(LoginRequiredMixin, SyncBannerMixin, TemplateView):
    template_name = "governance/model_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            model = selectors.registered_model_governance_detail(name=kwargs["name"])
        except RegisteredModel.DoesNotExist as exc:
            raise Http404("No registered model with that name.") from exc
        aliases = list(model.aliases.all())
        governance = getattr(model, "governance", None)
        thresholds = selectors.bias_thresholds_for_tier(risk_tier=selectors.model_risk_tier(model=model))
        panels = []
        for version in model.versions.all():
            bias = version.run.bias_metrics if version.run else {}
            other = (
                {k: v for k, v in sorted(version.run.metrics.items()) if k not in bias} if version.run else {}
            )
            panels.append(
                VersionPanel(
                    version=version,
                    aliases=[alias for alias in aliases if alias.model_version_id == version.pk],
                    bias_metrics=bias,
                    bias_checks=selectors.bias_metric_checks(metrics=bias, thresholds=thresholds)
                    if version.run
                    else [],
                    other_metrics=other,
                )
            )
        context.update(
            model=model,
            aliases=aliases,
            flagged_aliases=[alias for alias in aliases if alias.outside_platform],
            governance=governance,
            profile_rows=_profile_rows(governance.intended_use, fields=selectors.intended_use_fields())
            if governance and governance.intended_use
            else [],
            raci_rows=_raci_rows(list(model.raci.all())),
            bias_threshold_tier=thresholds.tier,
            panels=panels,
            mlflow_ui_url=settings.MLFLOW_TRACKING_URI.rstrip("/"),
        )
        return context


def _pretty_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


class DecisionDetailView(LoginRequiredMixin, SyncBannerMixin, TemplateView):
    template_name = "governance/decision_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        decision_id: uuid.UUID = kwargs["decision_id"]
        try:
            decision = selectors.gate_decision_detail(decision_id=decision_id)
        except GateDecision.DoesNotExist as exc:
            raise Http404("No gate decision with that id.") from exc
        context.update(
            decision=decision,
            model=decision.model_version.registered_model,
            deployment=getattr(decision, "deployment", None),
            signed_document_json=_pretty_json(decision.signed_document),
            input_document_json=_pretty_json(decision.input_document),
        )
        return context


class SyncStatusView(LoginRequiredMixin, SyncBannerMixin, ListView):
    template_name = "governance/sync_status.html"
    paginate_by = PAGE_SIZE
    context_object_name = "sync_runs"

    def get_queryset(self) -> QuerySet[SyncRun]:
        return selectors.sync_run_list()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rows"] = [
            (run, _duration_text(getattr(run, "duration", None))) for run in context["sync_runs"]
        ]
        return context
