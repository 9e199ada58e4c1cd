"""Login is rate limited: repeated wrong passwords get 429, and a correct login still works below the limit."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_failed_logins_are_rate_limited(client: Client, settings) -> None:
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"gate": "1/min", "login": "3/min"},
    }
    user = UserFactory.create(username="alice")
    user.set_password("correct horse battery staple")
    user.save()
    ok = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert ok.status_code == 302
    client.logout()
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    blocked = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery staple"}
    )
    assert blocked.status_code == 429 and blocked["Retry-After"] == "60"
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert (
        other.post("/accounts/login/", {"username": "alice", "password": "x"}).status_code == 429
    )  # per user too
    cache.clear()
