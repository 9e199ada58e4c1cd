"""Fixtures for the assessment tests: the shipped definition and catalogue, answer builders, users and teams."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from assessments.models import Team
from assessments.questionnaire import Definition, current_definition
from assessments.roadmap import Catalogue, current_catalogue
from tests.assessments.factories import TeamFactory
from tests.factories import UserFactory

PROFILE: dict[str, Any] = {
    "production_models": 2,
    "data_scientists": 4,
    "ml_platform_ftes": 1.5,
    "regulated_sector": True,
    "managed_platform": "managed",
    "uses_llm": False,
}


@pytest.fixture(scope="session")
def definition() -> Definition:
    return current_definition()


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return current_catalogue()


def answers_up_to(definition: Definition, level: int, *, rest: str = "no") -> dict[str, str]:
    """Every question of levels ≤ `level` answered yes, the others `rest`."""
    return {q.id: ("yes" if q.level <= level else rest) for q in definition.questions}


@pytest.fixture
def lead() -> User:
    return UserFactory.create(username="lead")


@pytest.fixture
def team(lead: User) -> Team:
    return TeamFactory.create(name="credit-risk", lead=lead)


@pytest.fixture
def lead_client(client: Client, lead: User) -> Client:
    client.force_login(lead)
    return client


@pytest.fixture
def api(lead: User) -> APIClient:
    api_client = APIClient()
    api_client.force_login(lead)
    return api_client
