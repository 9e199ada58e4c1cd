"""Usage/cost figures that teams log in MLflow, read from the registry mirror (never from MLflow itself).

Convention (docs/reports.md): a registered-model tag `mlgov.<usage|cost>.<name>.<YYYY-MM>` or a metric
`<usage|cost>.<name>.<YYYY-MM>` on a run of one of the model's versions; the tag wins over run metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from registry_sync.models import MirrorState, ModelVersion, RegisteredModel
from reports.periods import Month

TAG_PREFIX = "mlgov."
# (group, name in MLflow) -> UsageCost field
FIGURES: dict[tuple[str, str], str] = {
    ("usage", "requests"): "requests",
    ("usage", "predictions"): "predictions",
    ("usage", "p95_latency_ms"): "p95_latency_ms",
    ("usage", "slo_target"): "slo_target",
    ("usage", "slo_attainment"): "slo_attainment",
    ("cost", "compute"): "compute_cost",
    ("cost", "storage"): "storage_cost",
    ("cost", "license"): "license_cost",
    ("cost", "headcount"): "headcount_cost",
}
_INT_FIELDS = {"requests", "predictions"}
_PERCENT_FIELDS = {"slo_target", "slo_attainment"}


@dataclass
class MirrorFigures:
    models: dict[int, RegisteredModel] = field(default_factory=dict)
    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)


def figure_keys(month: Month) -> dict[str, str]:
    """The metric keys of a month (`usage.requests.2026-10`) and the UsageCost field each one fills."""
    return {f"{group}.{name}.{month}": target for (group, name), target in FIGURES.items()}


def _figure_value(target: str, raw: Any) -> Any:
    """The figure as stored in UsageCost, or ValueError when it is not a valid non-negative number."""
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if not number.is_finite() or number < 0 or (target in _PERCENT_FIELDS and number > 100):
        raise ValueError(raw)
    if target in _INT_FIELDS:
        return int(number)
    if target.endswith("_cost"):
        return number.quantize(Decimal("0.01"))
    return float(number)


def usage_figures_from_mirror(*, month: Month) -> MirrorFigures:
    """The month's logged figures per active model (two queries, whatever the number of models)."""
    keys = figure_keys(month)
    figures = MirrorFigures()
    models = {m.pk: m for m in RegisteredModel.objects.filter(state=MirrorState.ACTIVE)}
    from_runs: dict[int, dict[str, Any]] = {}
    runs = (
        ModelVersion.objects.filter(registered_model__in=models.keys(), run__isnull=False)
        .order_by("run__started_at", "run_id")
        .values_list("registered_model_id", "run__run_id", "run__metrics")
    )
    for model_id, run_id, metrics in runs:
        for key, raw in (metrics or {}).items():
            if key in keys:
                from_runs.setdefault(model_id, {})[keys[key]] = (f"run {run_id} metric {key}", raw)
    for model_id, model in models.items():
        found = dict(from_runs.get(model_id, {}))  # later runs replaced earlier ones above
        for key, raw in (model.tags or {}).items():
            if key.startswith(TAG_PREFIX) and key[len(TAG_PREFIX) :] in keys:
                found[keys[key[len(TAG_PREFIX) :]]] = (f"tag {key}", raw)
        values: dict[str, Any] = {}
        for target, (origin, raw) in sorted(found.items()):
            try:
                values[target] = _figure_value(target, raw)
            except ValueError:
                figures.invalid.append(f"{model.name}: {origin} = {raw!r}")
        if values:
            figures.models[model_id] = model
            figures.values[model_id] = values
    return figures
