"""Server-rendered pages of the model inventory: model list (htmx live search), model detail, sync status.

Every page needs a logged-in user and shows the "last synced" banner; the pages only call selectors.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from registry_sync.models import MirrorState, ModelVersion, RegisteredModel, SyncRun

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
    bias_metrics: Mapping[str, float | None]
    other_metrics: Mapping[str, float | None]


class ModelDetailView(LoginRequiredMixin, SyncBannerMixin, TemplateView):
    template_name = "governance/model_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        try:
            model = selectors.registered_model_detail(name=kwargs["name"])
        except RegisteredModel.DoesNotExist as exc:
            raise Http404("No registered model with that name.") from exc
        panels = []
        for version in model.versions.all():
            bias = version.run.bias_metrics if version.run else {}
            other = (
                {k: v for k, v in sorted(version.run.metrics.items()) if k not in bias} if version.run else {}
            )
            panels.append(VersionPanel(version=version, bias_metrics=bias, other_metrics=other))
        context.update(
            model=model,
            aliases=list(model.aliases.all()),
            panels=panels,
            mlflow_ui_url=settings.MLFLOW_TRACKING_URI.rstrip("/"),
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
