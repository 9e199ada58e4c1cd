"""The inventory REST API: list filters, detail shapes, error shapes, authentication and query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from registry_sync.models import MirrorState, SyncStatus
from tests.factories import (
    ModelAliasFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    RunFactory,
    SyncRunFactory,
)
from tests.inventory.conftest import InventoryMaker

pytestmark = pytest.mark.django_db

MODEL_LIST = reverse("api:model-list")
# Session + user (authentication), count, models, aliases prefetch.
API_LIST_MAX_QUERIES = 5
# Session + user, model, aliases, versions with runs, version aliases.
API_DETAIL_MAX_QUERIES = 6


def _names(response: Any) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


def test_list_shape(api_client: APIClient) -> None:
    model = RegisteredModelFactory.create(name="credit-scoring", tags={"team": "risk"})
    v1 = ModelVersionFactory.create(registered_model=model)
    v2 = ModelVersionFactory.create(registered_model=model)
    ModelAliasFactory.create(model_version=v2, alias="champion")
    ModelAliasFactory.create(model_version=v1, alias="challenger")

    response = api_client.get(MODEL_LIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None
    row = body["results"][0]
    assert row["name"] == "credit-scoring"
    assert row["latest_version"] == 2
    assert row["version_count"] == 2
    assert row["tags"] == {"team": "risk"}
    assert row["state"] == "active"
    assert row["aliases"] == [{"alias": "challenger", "version": 1}, {"alias": "champion", "version": 2}]


def test_list_model_without_versions(api_client: APIClient) -> None:
    RegisteredModelFactory.create(name="empty")

    row = api_client.get(MODEL_LIST).json()["results"][0]

    assert row["latest_version"] is None
    assert row["version_count"] == 0
    assert row["aliases"] == []


def test_list_paginates_by_50(api_client: APIClient) -> None:
    for index in range(51):
        RegisteredModelFactory.create(name=f"m-{index:02d}")

    first = api_client.get(MODEL_LIST).json()
    second = api_client.get(MODEL_LIST, {"page": 2}).json()

    assert first["count"] == 51
    assert len(first["results"]) == 50
    assert first["next"] is not None
    assert _names(api_client.get(MODEL_LIST, {"page": 2})) == ["m-50"]
    assert second["previous"] is not None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "fraud"}, ["fraud-detector"]),
        ({"search": "CHURN"}, ["retention"]),  # description, case-insensitive
        ({"tag": "team=payments"}, ["fraud-detector"]),
        ({"tag": "team=credit-risk"}, ["credit-scoring", "legacy-scorecard"]),
        ({"tag": "tier=high"}, ["credit-scoring"]),
        ({"tag": "team=nobody"}, []),
        ({"alias": "champion"}, ["credit-scoring", "fraud-detector"]),
        ({"state": "archived"}, ["legacy-scorecard"]),
        ({"state": "active"}, ["credit-scoring", "fraud-detector", "retention"]),
        ({"tag": "team=credit-risk", "state": "active"}, ["credit-scoring"]),
        ({"search": "", "alias": "", "state": "", "tag": ""}, None),  # blank filters mean "any"
    ],
)
def test_list_filters(api_client: APIClient, params: dict[str, str], expected: list[str] | None) -> None:
    credit = RegisteredModelFactory.create(
        name="credit-scoring", tags={"team": "credit-risk", "tier": "high"}
    )
    fraud = RegisteredModelFactory.create(name="fraud-detector", tags={"team": "payments"})
    RegisteredModelFactory.create(name="retention", description="Predicts churn.", tags={})
    RegisteredModelFactory.create(
        name="legacy-scorecard",
        tags={"team": "credit-risk"},
        state=MirrorState.ARCHIVED,
        archived_at=timezone.now(),
    )
    ModelAliasFactory.create(
        model_version=ModelVersionFactory.create(registered_model=credit), alias="champion"
    )
    ModelAliasFactory.create(
        model_version=ModelVersionFactory.create(registered_model=fraud), alias="champion"
    )

    response = api_client.get(MODEL_LIST, params)

    assert response.status_code == 200
    all_names = ["credit-scoring", "fraud-detector", "legacy-scorecard", "retention"]
    assert _names(response) == (all_names if expected is None else expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "bogus"}, "state"),
        ({"tag": "team"}, "tag"),
        ({"tag": "=value"}, "tag"),
        ({"search": "x" * 257}, "search"),
    ],
)
def test_list_rejects_bad_filters(api_client: APIClient, params: dict[str, str], field: str) -> None:
    response = api_client.get(MODEL_LIST, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"]
    assert list(error["details"]) == [field]


def test_list_invalid_page_is_404_in_house_shape(api_client: APIClient) -> None:
    response = api_client.get(MODEL_LIST, {"page": 9})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_detail_shape_with_run_bias_metrics_and_datasets(api_client: APIClient) -> None:
    model = RegisteredModelFactory.create(name="credit scoring v2.1", description="Scores loans.")
    ModelVersionFactory.create(registered_model=model, run=None, mlflow_run_id="")
    run = RunFactory.create(
        metrics={"accuracy": 0.9, "bias.dpd": 0.04, "fairness.eor": None},
        params={"C": "1.0"},
    )
    v2 = ModelVersionFactory.create(registered_model=model, run=run)
    ModelAliasFactory.create(model_version=v2, alias="champion")

    response = api_client.get(reverse("api:model-detail", kwargs={"name": model.name}))

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "credit scoring v2.1"
    assert body["description"] == "Scores loans."
    assert body["aliases"] == [{"alias": "champion", "version": 2}]
    assert [v["version"] for v in body["versions"]] == [2, 1]
    newest, oldest = body["versions"]
    assert newest["aliases"] == ["champion"]
    assert newest["run_id"] == run.run_id
    assert newest["run"]["metrics"] == {"accuracy": 0.9, "bias.dpd": 0.04, "fairness.eor": None}
    assert newest["run"]["bias_metrics"] == {"bias.dpd": 0.04, "fairness.eor": None}
    assert newest["run"]["params"] == {"C": "1.0"}
    assert newest["run"]["datasets"][0] == {
        "name": "applications-2025q3",
        "digest": "3f2a9c1e",
        "source_type": "delta",
        "source": "s3://lake/applications/2025q3",
        "context": "training",
    }
    assert oldest["run"] is None
    assert oldest["aliases"] == []


def test_detail_dataset_with_missing_keys_is_filled_with_blanks(api_client: APIClient) -> None:
    run = RunFactory.create(datasets=[{"name": "raw", "digest": "abc"}])
    version = ModelVersionFactory.create(run=run)

    response = api_client.get(reverse("api:model-detail", kwargs={"name": version.registered_model.name}))

    assert response.json()["versions"][0]["run"]["datasets"] == [
        {"name": "raw", "digest": "abc", "source_type": "", "source": "", "context": ""}
    ]


def test_detail_name_with_slash_and_version_route(api_client: APIClient) -> None:
    model = RegisteredModelFactory.create(name="team/credit model")
    ModelVersionFactory.create(registered_model=model)
    ModelVersionFactory.create(registered_model=model)

    detail_url = reverse("api:model-detail", kwargs={"name": model.name})
    version_url = reverse("api:model-version-detail", kwargs={"name": model.name, "version": 1})

    assert detail_url == "/api/v1/models/team/credit%20model/"
    assert api_client.get(detail_url).json()["name"] == "team/credit model"
    version = api_client.get(version_url).json()
    assert version["model"] == "team/credit model"
    assert version["version"] == 1
    assert version["run"]["bias_metrics"] == {
        "bias.demographic_parity_difference": 0.031,
        "fairness.equalized_odds_ratio": 0.88,
    }


@pytest.mark.parametrize(
    ("url_name", "kwargs"),
    [
        ("api:model-detail", {"name": "nope"}),
        ("api:model-version-detail", {"name": "nope", "version": 1}),
        ("api:model-version-detail", {"name": "exists", "version": 99}),
    ],
)
def test_unknown_model_or_version_is_404(
    api_client: APIClient, url_name: str, kwargs: dict[str, Any]
) -> None:
    ModelVersionFactory.create(registered_model=RegisteredModelFactory.create(name="exists"))

    response = api_client.get(reverse(url_name, kwargs=kwargs))

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert "nope" in error["message"] or "99" in error["message"]
    assert error["details"] == {}


@pytest.mark.parametrize(
    "url",
    [
        MODEL_LIST,
        reverse("api:model-detail", kwargs={"name": "m"}),
        reverse("api:model-version-detail", kwargs={"name": "m", "version": 1}),
        reverse("api:sync-run-list"),
    ],
)
def test_api_requires_authentication(url: str) -> None:
    response = APIClient().get(url)

    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_api_accepts_api_key_authentication() -> None:
    from governance.services.apikeys import api_key_create, api_key_revoke
    from tests.factories import UserFactory

    user = UserFactory.create()
    issued = api_key_create(name="ci", scopes=["evaluate"], user=user, actor="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.get(MODEL_LIST).status_code == 200

    api_key_revoke(api_key=issued.api_key, actor="test")
    refused = client.get(MODEL_LIST)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "AUTHENTICATION_FAILED"


def test_sync_runs_list(api_client: APIClient) -> None:
    SyncRunFactory.create(status=SyncStatus.FAILED, error="MLflow unreachable")
    running = SyncRunFactory.create(status=SyncStatus.RUNNING, finished_at=None)

    body = api_client.get(reverse("api:sync-run-list")).json()

    assert body["count"] == 2
    newest, oldest = body["results"]
    assert newest["id"] == running.pk
    assert newest["duration_seconds"] is None
    assert oldest["status"] == "failed"
    assert oldest["error"] == "MLflow unreachable"
    assert oldest["duration_seconds"] == pytest.approx(4, abs=1)


def test_list_query_count_does_not_grow_with_models(
    api_client: APIClient, make_inventory: InventoryMaker, django_assert_max_num_queries: Any
) -> None:
    make_inventory(3)
    with django_assert_max_num_queries(API_LIST_MAX_QUERIES):
        assert api_client.get(MODEL_LIST).json()["count"] == 3

    make_inventory(27, prefix="more")
    with django_assert_max_num_queries(API_LIST_MAX_QUERIES):
        response = api_client.get(MODEL_LIST, {"alias": "champion", "tag": "team=credit-risk"})
    assert response.json()["count"] == 30
    assert response.json()["results"][0]["aliases"][0]["alias"] == "challenger"


def test_detail_query_count_does_not_grow_with_versions(
    api_client: APIClient, make_inventory: InventoryMaker, django_assert_max_num_queries: Any
) -> None:
    few, many = (
        make_inventory(1, versions=2, prefix="few")[0],
        make_inventory(1, versions=40, prefix="many")[0],
    )

    for model, expected_versions in ((few, 2), (many, 40)):
        with django_assert_max_num_queries(API_DETAIL_MAX_QUERIES):
            response = api_client.get(reverse("api:model-detail", kwargs={"name": model.name}))
        assert len(response.json()["versions"]) == expected_versions
