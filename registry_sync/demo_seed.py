"""Seeds a running MLflow tracking server with real scikit-learn models, runs and bias metrics for the demo.

Idempotent per registered model: existing versions are counted and only the missing ones are trained."""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import PandasDataset, from_pandas
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

EXPERIMENT_NAME = "mlgov-demo"
DEMO_SEED_TAG = "mlgov.demo_seed"
RANDOM_STATE = 42
TEST_SIZE = 0.3
# Logging requirements explicitly skips MLflow's requirement inference, which costs ~15 s per model.
_PIP_PACKAGES = ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")
# MLflow saves sklearn models with skops, which refuses tree node storage unless it is explicitly trusted.
_TREE_TYPES = ["sklearn.tree._tree.Tree"]


@dataclass(frozen=True)
class SeedSummary:
    models_created: int
    versions_created: int
    skipped: bool
    models: list[str]


@dataclass(frozen=True)
class _Split:
    train: pd.DataFrame
    test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


@dataclass(frozen=True)
class _SensitiveAttribute:
    """A binary sensitive attribute: its name and the test-set rows belonging to one of its two groups."""

    name: str
    group: Callable[[_Split], np.ndarray]


@dataclass(frozen=True)
class _Problem:
    """A bundled scikit-learn dataset framed as a classification task."""

    dataset_name: str
    data_file: str
    target: str
    load: Callable[[], tuple[pd.DataFrame, pd.Series]]
    sensitive: _SensitiveAttribute | None = None


@dataclass(frozen=True)
class _VersionSpec:
    algorithm: str
    params: dict[str, Any]
    description: str
    validation_status: str
    alias: str | None


@dataclass(frozen=True)
class _ModelSpec:
    name: str
    description: str
    tags: dict[str, str]
    problem: _Problem
    versions: tuple[_VersionSpec, ...]


def _diabetes() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_diabetes(as_frame=True, scaled=False)
    progression = bunch.target
    return bunch.data, (progression > progression.median()).astype(int)


def _breast_cancer() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_breast_cancer(as_frame=True)
    return bunch.data, 1 - bunch.target  # sklearn encodes benign as 1; screening flags malignant


def _wine() -> tuple[pd.DataFrame, pd.Series]:
    bunch = load_wine(as_frame=True)
    return bunch.data, bunch.target


def _sex_group(split: _Split) -> np.ndarray:
    return split.test["sex"].to_numpy() == 2.0


def _age_group(split: _Split) -> np.ndarray:
    return split.test["age"].to_numpy() >= float(split.train["age"].median())


_DIABETES_BY_SEX = _Problem(
    dataset_name="diabetes-progression",
    data_file="diabetes_data_raw.csv.gz",
    target="progression_above_median",
    load=_diabetes,
    sensitive=_SensitiveAttribute("sex", _sex_group),
)
_DIABETES_BY_AGE = _Problem(
    dataset_name="diabetes-progression",
    data_file="diabetes_data_raw.csv.gz",
    target="progression_above_median",
    load=_diabetes,
    sensitive=_SensitiveAttribute("age_group", _age_group),
)
_BREAST_CANCER = _Problem(
    dataset_name="breast-cancer-wisconsin",
    data_file="breast_cancer.csv",
    target="malignant",
    load=_breast_cancer,
)
_WINE = _Problem(dataset_name="wine-cultivars", data_file="wine_data.csv", target="cultivar", load=_wine)

DEMO_MODELS: tuple[_ModelSpec, ...] = (
    _ModelSpec(
        name="diabetes-progression-risk",
        description="Flags patients whose one-year diabetes progression is expected to be above the median, "
        "to prioritise follow-up consultations. Bias-tested across sex.",
        tags={
            "team": "clinical-ml",
            "domain": "healthcare",
            "use_case": "patient-risk-stratification",
            "owner": "maria.keller",
        },
        problem=_DIABETES_BY_SEX,
        versions=(
            _VersionSpec(
                "logistic_regression",
                {"C": 1.0},
                "Standardised logistic regression baseline.",
                "validated",
                "champion",
            ),
            _VersionSpec(
                "gradient_boosting",
                {"n_estimators": 50, "max_depth": 2, "learning_rate": 0.1},
                "Shallow gradient-boosted trees.",
                "pending",
                "challenger",
            ),
        ),
    ),
    _ModelSpec(
        name="care-program-eligibility",
        description="Ranks patients for enrolment in the intensive diabetes care programme. "
        "Bias-tested across age groups (at or above vs below the median age).",
        tags={
            "team": "care-operations-ml",
            "domain": "healthcare",
            "use_case": "care-program-outreach",
            "owner": "jonas.weber",
        },
        problem=_DIABETES_BY_AGE,
        versions=(
            _VersionSpec(
                "logistic_regression",
                {"C": 0.05},
                "Strongly regularised logistic regression.",
                "validated",
                "champion",
            ),
            _VersionSpec(
                "random_forest",
                {"n_estimators": 300, "max_depth": 6},
                "Random forest with depth-limited trees.",
                "pending",
                "challenger",
            ),
        ),
    ),
    _ModelSpec(
        name="breast-cancer-screening",
        description="Triage model that flags fine-needle aspirate samples as likely malignant for "
        "priority pathologist review.",
        tags={
            "team": "diagnostics-ml",
            "domain": "healthcare",
            "use_case": "screening-triage",
            "owner": "aisha.okafor",
        },
        problem=_BREAST_CANCER,
        versions=(
            _VersionSpec(
                "logistic_regression",
                {"C": 0.5},
                "Standardised logistic regression.",
                "validated",
                "champion",
            ),
            _VersionSpec(
                "random_forest",
                {"n_estimators": 200, "max_depth": None},
                "Random forest on all 30 cell-nucleus features.",
                "pending",
                "challenger",
            ),
        ),
    ),
    _ModelSpec(
        name="wine-cultivar-classifier",
        description="Identifies the grape cultivar of incoming wine lots from their chemical analysis "
        "for quality control.",
        tags={
            "team": "supply-chain-analytics",
            "domain": "food-and-beverage",
            "use_case": "product-quality-control",
            "owner": "luca.romano",
        },
        problem=_WINE,
        versions=(
            _VersionSpec(
                "gradient_boosting",
                {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1},
                "Gradient-boosted trees on the 13 chemical measurements.",
                "validated",
                "champion",
            ),
        ),
    ),
)


def seed_registry(*, tracking_uri: str, log: Callable[[str], None] = print) -> SeedSummary:
    """Create the demo models in MLflow, completing a partial earlier seed; skip when all are present."""
    started = time.monotonic()
    client = MlflowClient(tracking_uri)
    names = [spec.name for spec in DEMO_MODELS]
    counts = {spec.name: _existing_version_count(client, spec.name) for spec in DEMO_MODELS}
    if all((counts[spec.name] or 0) >= len(spec.versions) for spec in DEMO_MODELS):
        log(f"Demo registry already seeded ({len(names)} models); nothing to do.")
        return SeedSummary(models_created=0, versions_created=0, skipped=True, models=names)

    mlflow.set_tracking_uri(tracking_uri)
    splits: dict[str, _Split] = {}
    models_created = versions_created = 0
    with _quiet_mlflow():
        mlflow.set_experiment(EXPERIMENT_NAME)
        for spec in DEMO_MODELS:
            existing = counts[spec.name]
            if existing is None:
                client.create_registered_model(
                    spec.name, tags={**spec.tags, DEMO_SEED_TAG: "1"}, description=spec.description
                )
                models_created += 1
                existing = 0
            for number, version in enumerate(spec.versions[existing:], start=existing + 1):
                if spec.problem.dataset_name not in splits:
                    splits[spec.problem.dataset_name] = _split(spec.problem)
                _register_version(client, spec, version, number, splits[spec.problem.dataset_name], log)
                versions_created += 1
    log(
        f"Seeded {models_created} models and {versions_created} versions in "
        f"{time.monotonic() - started:.1f} s (experiment '{EXPERIMENT_NAME}')."
    )
    return SeedSummary(
        models_created=models_created, versions_created=versions_created, skipped=False, models=names
    )


def _existing_version_count(client: MlflowClient, name: str) -> int | None:
    """Number of versions of a registered model, or None when the model does not exist."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    return len(client.search_model_versions(f"name='{name}'"))


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's run-URL printing, INFO chatter and schema/dataset-source hints while seeding."""
    mlflow_logger = logging.getLogger("mlflow")
    previous_level = mlflow_logger.level
    previous_env = os.environ.get("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT")
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    mlflow_logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")
            yield
    finally:
        mlflow_logger.setLevel(previous_level)
        if previous_env is None:
            os.environ.pop("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", None)
        else:
            os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = previous_env


def _split(problem: _Problem) -> _Split:
    features, target = problem.load()
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=TEST_SIZE, random_state=RANDOM_STATE, stratify=target
    )
    return _Split(train=x_train, test=x_test, y_train=y_train, y_test=y_test)


def _estimator(algorithm: str, params: dict[str, Any]) -> tuple[Any, list[str]]:
    """The unfitted estimator and the skops types its saved form needs trusted."""
    if algorithm == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, **params)), []
    if algorithm == "random_forest":
        return RandomForestClassifier(random_state=RANDOM_STATE, **params), _TREE_TYPES
    if algorithm == "gradient_boosting":
        return GradientBoostingClassifier(random_state=RANDOM_STATE, **params), _TREE_TYPES
    raise ValueError(f"Unknown algorithm {algorithm!r}")


def _performance(estimator: Any, split: _Split, y_pred: np.ndarray) -> dict[str, float]:
    y_true = split.y_test.to_numpy()
    proba = estimator.predict_proba(split.test)
    binary = proba.shape[1] == 2
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "roc_auc": float(
            roc_auc_score(y_true, proba[:, 1]) if binary else roc_auc_score(y_true, proba, multi_class="ovr")
        ),
        "f1": float(f1_score(y_true, y_pred, average="binary" if binary else "macro")),
    }


def _bias(y_true: np.ndarray, y_pred: np.ndarray, group: np.ndarray) -> dict[str, float]:
    """Demographic parity and equal opportunity differences between the two groups of a binary attribute."""
    positives = y_true == 1
    return {
        "bias.demographic_parity_difference": abs(float(y_pred[group].mean() - y_pred[~group].mean())),
        "bias.equal_opportunity_difference": abs(
            float(y_pred[group & positives].mean() - y_pred[~group & positives].mean())
        ),
    }


def _training_dataset(problem: _Problem, split: _Split) -> PandasDataset:
    frame = split.train.assign(**{problem.target: split.y_train})
    source = resources.files("sklearn.datasets.data").joinpath(problem.data_file)
    return from_pandas(frame, source=str(source), name=problem.dataset_name, targets=problem.target)


def _register_version(
    client: MlflowClient,
    spec: _ModelSpec,
    version: _VersionSpec,
    number: int,
    split: _Split,
    log: Callable[[str], None],
) -> None:
    problem = spec.problem
    estimator, trusted_types = _estimator(version.algorithm, version.params)
    estimator.fit(split.train, split.y_train)
    y_pred = estimator.predict(split.test)
    metrics = _performance(estimator, split, y_pred)
    run_tags = {DEMO_SEED_TAG: "1", "mlgov.registered_model": spec.name}
    if problem.sensitive is not None:
        metrics |= _bias(split.y_test.to_numpy(), y_pred, problem.sensitive.group(split))
        run_tags["bias.sensitive_attribute"] = problem.sensitive.name
    with mlflow.start_run(run_name=f"{spec.name}-v{number}-{version.algorithm}", tags=run_tags) as run:
        mlflow.log_params(
            {
                "algorithm": version.algorithm,
                "random_state": RANDOM_STATE,
                "test_size": TEST_SIZE,
                **version.params,
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.log_input(_training_dataset(problem, split), context="training")
        model_info = mlflow.sklearn.log_model(
            estimator,
            name="model",
            signature=infer_signature(split.train, estimator.predict(split.train)),
            input_example=split.train.head(5),
            pip_requirements=[f"{package}=={metadata.version(package)}" for package in _PIP_PACKAGES],
            skops_trusted_types=trusted_types,
        )
    model_version = client.create_model_version(
        spec.name,
        source=model_info.model_uri,
        run_id=run.info.run_id,
        model_id=model_info.model_id,
        tags={"validation_status": version.validation_status, "algorithm": version.algorithm},
        description=version.description,
    )
    if version.alias:
        client.set_registered_model_alias(spec.name, version.alias, model_version.version)
    rendered = ", ".join(f"{key}={value:.3f}" for key, value in sorted(metrics.items()))
    log(f"{spec.name} v{model_version.version} ({version.algorithm}): {rendered}")
