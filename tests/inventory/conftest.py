"""Fixtures for the inventory tests: logged-in clients and a populated registry mirror."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from registry_sync.models import RegisteredModel
from tests.factories import ModelAliasFactory, ModelVersionFactory, RegisteredModelFactory, UserFactory

InventoryMaker = Callable[..., list[RegisteredModel]]


@pytest.fixture
def user() -> User:
    return UserFactory.create(username="viewer")


@pytest.fixture
def ui_client(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def api_client(user: User) -> APIClient:
    # A real session login rather than force_authenticate, so query counts include authentication.
    api = APIClient()
    api.force_login(user)
    return api


@pytest.fixture
def make_inventory() -> InventoryMaker:
    """Create `count` models, each with `versions` versions (with runs) and champion/challenger aliases."""

    def make(count: int, *, versions: int = 3, prefix: str = "model") -> list[RegisteredModel]:
        models = []
        for index in range(count):
            model = RegisteredModelFactory.create(name=f"{prefix}-{index:03d}")
            created = [ModelVersionFactory.create(registered_model=model) for _ in range(versions)]
            ModelAliasFactory.create(model_version=created[-1], alias="champion")
            if versions > 1:
                ModelAliasFactory.create(model_version=created[-2], alias="challenger")
            models.append(model)
        return models

    return make
