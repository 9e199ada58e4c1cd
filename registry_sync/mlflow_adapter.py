"""Reads the MLflow registry through MlflowClient and returns plain snapshots for the sync engine.

Every MLflow or transport failure surfaces as RegistryUnavailable (retry later) or RegistryNotFound (the
object is gone), so callers never depend on MLflow's exception types.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

RUN_FILTER_BATCH_LIMIT = 100
_RUN_ID = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")


class RegistryUnavailable(Exception):
    """MLflow could not be reached or answered with a server error; the pass can be retried."""


class RegistryNotFound(Exception):
    """The model or version does not exist (any more) in MLflow."""


@dataclass(frozen=True)
class ModelSnapshot:
    name: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class VersionSnapshot:
    model_name: str
    version: int
    source: str
    run_id: str
    status: str
    status_message: str
    description: str
    user_id: str
    tags: dict[str, str]
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class RunSnapshot:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    user_id: str
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[dict[str, str]] = field(default_factory=list)


def _is_not_found(exc: MlflowException) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, MlflowException) and _is_not_found(exc):
        return RegistryNotFound(str(exc))
    if isinstance(exc, RestException | MlflowException | requests.RequestException | OSError):
        return RegistryUnavailable(f"MLflow unavailable: {type(exc).__name__}: {str(exc)[:500]}")
    return exc


def _dataset_source(raw: str) -> str:
    """MLflow stores the source as JSON (e.g. {"url": ...}); keep the most useful string."""
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return raw or ""
    if isinstance(parsed, dict):
        for key in ("url", "uri", "path", "table_name", "source"):
            if parsed.get(key):
                return str(parsed[key])
    return raw


class MlflowRegistry:
    """A read-only view of one MLflow tracking server's registry."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri or settings.MLFLOW_TRACKING_URI
        self.client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _translate(exc) from exc

    @staticmethod
    def _model(rm: Any) -> ModelSnapshot:
        return ModelSnapshot(
            name=rm.name,
            description=rm.description or "",
            tags=dict(rm.tags or {}),
            aliases={alias: int(version) for alias, version in (rm.aliases or {}).items()},
            created_ms=int(rm.creation_timestamp or 0),
            updated_ms=int(rm.last_updated_timestamp or 0),
        )

    @staticmethod
    def _version(mv: Any) -> VersionSnapshot:
        return VersionSnapshot(
            model_name=mv.name,
            version=int(mv.version),
            source=mv.source or "",
            run_id=mv.run_id or "",
            status=str(mv.status or ""),
            status_message=mv.status_message or "",
            description=mv.description or "",
            user_id=mv.user_id or "",
            tags=dict(mv.tags or {}),
            created_ms=int(mv.creation_timestamp or 0),
            updated_ms=int(mv.last_updated_timestamp or 0),
        )

    @staticmethod
    def _run(run: Any) -> RunSnapshot:
        datasets = []
        for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
            ds = dataset_input.dataset
            context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
            datasets.append(
                {
                    "name": ds.name,
                    "digest": ds.digest,
                    "source_type": ds.source_type,
                    "source": _dataset_source(ds.source),
                    "context": context,
                }
            )
        info = run.info
        return RunSnapshot(
            run_id=info.run_id,
            experiment_id=str(info.experiment_id),
            run_name=info.run_name or "",
            status=str(info.status or ""),
            user_id=info.user_id or "",
            start_ms=info.start_time,
            end_ms=info.end_time,
            params=dict(run.data.params),
            # JSON cannot hold NaN/inf; a non-finite metric is recorded as missing (null).
            metrics={
                key: (float(value) if math.isfinite(value) else None)
                for key, value in run.data.metrics.items()
            },
            tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.log-model.history")},
            datasets=sorted(datasets, key=lambda d: (d["context"], d["name"], d["digest"])),
        )

    def iter_model_pages(self, *, page_size: int) -> Iterator[list[ModelSnapshot]]:
        """All registered models, newest change first, a page at a time."""
        token = None
        while True:
            page = self._call(
                self.client.search_registered_models,
                max_results=min(page_size, 1000),
                order_by=["last_updated_timestamp DESC"],
                page_token=token,
            )
            yield [self._model(rm) for rm in page]
            token = page.token
            if not token:
                return

    def iter_version_pages(self, *, page_size: int) -> Iterator[list[VersionSnapshot]]:
        """All model versions ordered by last_updated_timestamp DESC, a page at a time."""
        token = None
        while True:
            page = self._call(
                self.client.search_model_versions,
                max_results=page_size,
                order_by=["last_updated_timestamp DESC", "name ASC", "version_number DESC"],
                page_token=token,
            )
            yield [self._version(mv) for mv in page]
            token = page.token
            if not token:
                return

    def get_model(self, name: str) -> ModelSnapshot:
        return self._model(self._call(self.client.get_registered_model, name))

    def get_version(self, name: str, version: int) -> VersionSnapshot:
        return self._version(self._call(self.client.get_model_version, name, str(version)))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """The one write the platform makes to MLflow: moving an alias on promotion."""
        self._call(self.client.set_registered_model_alias, name, alias, str(version))

    def experiment_ids(self) -> list[str]:
        ids: list[str] = []
        token = None
        while True:
            page = self._call(self.client.search_experiments, max_results=1000, page_token=token)
            ids.extend(str(e.experiment_id) for e in page)
            token = page.token
            if not token:
                return ids

    def get_runs(
        self, run_ids: Iterable[str], *, experiment_ids: list[str] | None = None
    ) -> list[RunSnapshot]:
        """Fetch runs in batches with an `attributes.run_id IN (...)` filter (one request per 100 runs)."""
        wanted = sorted({rid for rid in run_ids if rid and _RUN_ID.match(rid)})
        if not wanted:
            return []
        experiments = experiment_ids if experiment_ids is not None else self.experiment_ids()
        runs: list[RunSnapshot] = []
        for start in range(0, len(wanted), RUN_FILTER_BATCH_LIMIT):
            batch = wanted[start : start + RUN_FILTER_BATCH_LIMIT]
            quoted = ",".join(f"'{rid}'" for rid in batch)
            found = self._call(
                self.client.search_runs,
                experiment_ids=experiments,
                filter_string=f"attributes.run_id IN ({quoted})",
                max_results=len(batch),
                run_view_type=3,  # ViewType.ALL: a deleted run still explains the version it produced
            )
            runs.extend(self._run(run) for run in found)
        return runs
