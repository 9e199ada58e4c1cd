"""The server-rendered inventory pages: login, list (with htmx live search), detail, sync status, admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from registry_sync.models import MirrorState, SyncRun, SyncStatus
from tests.factories import (
    DEFAULT_PASSWORD,
    ModelAliasFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    RunFactory,
    SyncRunFactory,
    UserFactory,
)
from tests.inventory.conftest import InventoryMaker

pytestmark = pytest.mark.django_db

MODEL_LIST = reverse("governance:model-list")
SYNC_STATUS = reverse("governance:sync-status")
# Session + user, sync banner (latest, last succeeded), alias choices, count, models, aliases prefetch.
LIST_PAGE_MAX_QUERIES = 8
# Session + user, sync banner (2), model, aliases, versions with runs, version aliases.
DETAIL_PAGE_MAX_QUERIES = 13  # + RACI, sign-offs, gate decisions, deployments, roles, approval requests


def _html(response: Any) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    "url",
    [MODEL_LIST, SYNC_STATUS, reverse("governance:model-detail", kwargs={"name": "any"})],
)
def test_pages_redirect_anonymous_users_to_login(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_login_page_and_login_flow(client: Client) -> None:
    UserFactory.create(username="alice")

    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in _html(page)
    assert "csrfmiddlewaretoken" in _html(page)

    bad = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200
    assert "form-errors" in _html(bad)

    good = client.post(reverse("login"), {"username": "alice", "password": DEFAULT_PASSWORD})
    assert good.status_code == 302
    assert good["Location"] == MODEL_LIST


def test_layout_has_nav_user_and_logout_form(ui_client: Client, user: User) -> None:
    html = _html(ui_client.get(MODEL_LIST))

    assert "/static/css/mlgov.css" in html
    assert "/static/vendor/htmx.min.js" in html
    assert 'href="/api/docs/"' in html
    assert f'href="{SYNC_STATUS}"' in html
    assert user.get_username() in html
    assert f'<form method="post" action="{reverse("logout")}">' in html


def test_logout_is_a_post(ui_client: Client) -> None:
    response = ui_client.post(reverse("logout"))

    assert response.status_code == 302
    assert ui_client.get(MODEL_LIST).status_code == 302


def test_model_list_empty_state(ui_client: Client) -> None:
    html = _html(ui_client.get(MODEL_LIST))

    assert "No models yet" in html
    assert "make demo" in html
    assert "manage.py sync_registry" in html
    assert "has never been synced" in html


def test_model_list_columns(ui_client: Client) -> None:
    model = RegisteredModelFactory.create(
        name="credit scoring", description="Scores loan applications. " * 10, tags={"team": "risk"}
    )
    ModelVersionFactory.create(registered_model=model)
    ModelAliasFactory.create(
        model_version=ModelVersionFactory.create(registered_model=model), alias="champion"
    )
    RegisteredModelFactory.create(name="old", state=MirrorState.ARCHIVED)

    html = _html(ui_client.get(MODEL_LIST))

    assert 'href="/models/credit%20scoring/"' in html
    assert "Scores loan applications. Scores loan" in html
    assert "Scores loan applications. " * 10 not in html.split('title="')[0]  # truncated in the cell
    assert "v2" in html
    assert "@champion" in html
    assert "team=risk" in html
    assert "Archived" in html
    assert "2 models" in html


def test_model_list_filters_and_reports_bad_ones(ui_client: Client) -> None:
    RegisteredModelFactory.create(name="credit-scoring", tags={"team": "risk"})
    RegisteredModelFactory.create(name="fraud-detector", tags={"team": "payments"})

    by_tag = _html(ui_client.get(MODEL_LIST, {"tag": "team=payments"}))
    assert "fraud-detector" in by_tag
    assert "credit-scoring" not in by_tag

    bad_tag = _html(ui_client.get(MODEL_LIST, {"tag": "team", "search": "credit"}))
    assert "Use the form key=value" in bad_tag
    assert "credit-scoring" in bad_tag  # the valid search still applies
    assert "fraud-detector" not in bad_tag

    nothing = _html(ui_client.get(MODEL_LIST, {"search": "zzz"}))
    assert "No models match these filters" in nothing


def test_model_list_htmx_live_search_returns_only_the_table(ui_client: Client) -> None:
    RegisteredModelFactory.create(name="credit-scoring")
    RegisteredModelFactory.create(name="fraud-detector")

    response = ui_client.get(MODEL_LIST, {"search": "fraud"}, headers={"HX-Request": "true"})

    html = _html(response)
    assert html.lstrip().startswith('<section id="model-table"')
    assert "<html" not in html
    assert "fraud-detector" in html
    assert "credit-scoring" not in html
    assert "HX-Request" in response["Vary"]

    restore = ui_client.get(MODEL_LIST, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in _html(restore)


def test_model_list_paginates_and_keeps_filters(ui_client: Client) -> None:
    for index in range(55):
        RegisteredModelFactory.create(name=f"m-{index:02d}", tags={"team": "risk"})

    html = _html(ui_client.get(MODEL_LIST, {"tag": "team=risk"}))

    assert "Page 1 of 2" in html
    assert "?tag=team%3Drisk&amp;page=2" in html
    assert "m-49" in html
    assert "m-50" not in html


def test_model_detail_page(ui_client: Client) -> None:
    model = RegisteredModelFactory.create(name="credit scoring 2.0", tags={"team": "risk"})
    run = RunFactory.create(
        run_name="nightly-train",
        metrics={"accuracy": 0.91234, "bias.dpd": 0.031, "fairness.eor": None},
        params={"max_depth": "6"},
    )
    ModelVersionFactory.create(registered_model=model, run=None, mlflow_run_id="abc123")
    v2 = ModelVersionFactory.create(registered_model=model, run=run)
    ModelAliasFactory.create(model_version=v2, alias="champion")

    response = ui_client.get(reverse("governance:model-detail", kwargs={"name": model.name}))

    assert response.status_code == 200
    html = _html(response)
    assert "credit scoring 2.0" in html
    assert "team" in html
    assert "@champion" in html
    assert 'href="#v2"' in html
    assert "nightly-train" in html
    assert "Bias &amp; fairness metrics" in html
    assert "bias.dpd" in html
    assert "0.9123" in html
    assert "n/a" in html  # the non-finite fairness metric
    assert "max_depth" in html
    assert "applications-2025q3" in html
    assert "3f2a9c1e" in html
    assert "s3://lake/applications/2025q3" in html
    assert "training" in html
    assert "has not been mirrored yet" in html  # v1's run


def test_model_detail_unknown_is_404(ui_client: Client) -> None:
    assert ui_client.get(reverse("governance:model-detail", kwargs={"name": "nope"})).status_code == 404


def test_model_detail_name_with_slash(ui_client: Client) -> None:
    RegisteredModelFactory.create(name="team/model.v1")

    response = ui_client.get("/models/team/model.v1/")

    assert response.status_code == 200
    assert "team/model.v1" in _html(response)


def test_sync_status_page_and_banner(ui_client: Client) -> None:
    ok = SyncRunFactory.create(kind="full", models_created=3, versions_created=9)
    SyncRun.objects.filter(pk=ok.pk).update(
        started_at=timezone.now() - timedelta(minutes=20), finished_at=timezone.now() - timedelta(minutes=19)
    )
    SyncRunFactory.create(status=SyncStatus.FAILED, error="ConnectionError: MLflow unreachable")

    html = _html(ui_client.get(SYNC_STATUS))

    assert "Full reconciliation" in html
    assert "3 / 0 / 0" in html
    assert "ConnectionError: MLflow unreachable" in html
    assert "Last sync failed" in html
    assert "Last successful sync 19" in html


def test_sync_banner_after_success(ui_client: Client) -> None:
    SyncRunFactory.create()

    html = _html(ui_client.get(MODEL_LIST))

    assert "Last synced from MLflow" in html


def test_sync_status_empty_state(ui_client: Client) -> None:
    assert "No sync has run yet" in _html(ui_client.get(SYNC_STATUS))


def test_list_page_query_count_does_not_grow_with_models(
    ui_client: Client, make_inventory: InventoryMaker, django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    make_inventory(3)
    with django_assert_max_num_queries(LIST_PAGE_MAX_QUERIES):
        assert "model-002" in _html(ui_client.get(MODEL_LIST))

    make_inventory(27, prefix="more")
    with django_assert_max_num_queries(LIST_PAGE_MAX_QUERIES):
        html = _html(ui_client.get(MODEL_LIST, {"alias": "champion", "search": "o"}))
    assert "more-026" in html
    with django_assert_max_num_queries(LIST_PAGE_MAX_QUERIES - 2):
        ui_client.get(MODEL_LIST, headers={"HX-Request": "true"})  # the live-search fragment: no banner


def test_detail_page_query_count_does_not_grow_with_versions(
    ui_client: Client, make_inventory: InventoryMaker, django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    few, many = (
        make_inventory(1, versions=2, prefix="few")[0],
        make_inventory(1, versions=40, prefix="many")[0],
    )

    for model in (few, many):
        with django_assert_max_num_queries(DETAIL_PAGE_MAX_QUERIES):
            response = ui_client.get(reverse("governance:model-detail", kwargs={"name": model.name}))
        assert response.status_code == 200
    assert 'id="v40"' in _html(response)


def test_sync_page_query_count_does_not_grow(ui_client: Client, django_assert_max_num_queries: Any) -> None:
    for _ in range(3):
        SyncRunFactory.create()
    with django_assert_max_num_queries(6):
        ui_client.get(SYNC_STATUS)
    for _ in range(40):
        SyncRunFactory.create()
    with django_assert_max_num_queries(6):
        ui_client.get(SYNC_STATUS)


def test_admin_is_read_only(client: Client, make_inventory: InventoryMaker) -> None:
    admin_user = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    model = make_inventory(1)[0]
    SyncRunFactory.create()

    for name in ("registeredmodel", "modelversion", "run", "modelalias", "syncrun"):
        changelist = client.get(reverse(f"admin:registry_sync_{name}_changelist"))
        assert changelist.status_code == 200, name
        assert client.get(reverse(f"admin:registry_sync_{name}_add")).status_code == 403, name
    assert client.get(reverse("admin:governance_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:governance_auditevent_add")).status_code == 403

    change_page = client.get(reverse("admin:registry_sync_registeredmodel_change", args=[model.pk]))
    assert change_page.status_code == 200
    assert 'name="_save"' not in _html(change_page)
    assert (
        client.post(reverse("admin:registry_sync_registeredmodel_delete", args=[model.pk])).status_code == 403
    )


def test_login_page_has_no_sync_banner(client: Client) -> None:
    html = _html(client.get(reverse("login")))

    assert "never been synced" not in html
    assert "Last synced" not in html
