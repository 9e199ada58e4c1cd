"""Creates registry content in a real MLflow server quickly: runs with params, metrics and a dataset input,
and model versions pointing at them (no model artifacts, so thousands can be made in seconds)."""

from __future__ import annotations

import hashlib
import json
import time

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param


def experiment_id(client: MlflowClient, name: str = "mlgov-tests") -> str:
    existing = client.get_experiment_by_name(name)
    return existing.experiment_id if existing else client.create_experiment(name)


def make_run(
    client: MlflowClient,
    *,
    experiment: str,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    dataset_name: str = "training-data",
    dataset_rows: int = 100,
) -> str:
    run = client.create_run(experiment)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key, value, now, 0) for key, value in (metrics or {}).items()],
        params=[Param(key, str(value)) for key, value in (params or {}).items()],
    )
    digest = hashlib.sha256(f"{dataset_name}:{dataset_rows}".encode()).hexdigest()[:8]
    dataset = Dataset(
        name=dataset_name,
        digest=digest,
        source_type="http",
        source=json.dumps({"url": f"https://data.example/{dataset_name}.csv"}),
        profile=json.dumps({"num_rows": dataset_rows}),
    )
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
    client.set_terminated(run_id)
    return run_id


def make_version(
    client: MlflowClient,
    *,
    model: str,
    experiment: str,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    dataset_name: str = "training-data",
) -> int:
    """Create a run and a version of `model` from it (the model is created if missing); returns the number."""
    try:
        client.get_registered_model(model)
    except Exception:
        client.create_registered_model(model)
    run_id = make_run(
        client, experiment=experiment, metrics=metrics, params=params, dataset_name=dataset_name
    )
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id, tags=tags or {})
    return int(version.version)
