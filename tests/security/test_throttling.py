"""The gate's rate limit (config.throttling.WindowRateThrottle) against the real Redis the production settings
use: counted per caller, the window opens at the first call and ends with a Retry-After, one counter key with an
expiry, and a Redis outage lets calls through with a warning instead of failing them. The in-memory fallback is
exercised by tests/security/test_production_http.py (the test settings use Django's local-memory cache)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
import redis
from rest_framework.test import APIClient

from config.throttling import rate_parse
from governance.services.apikeys import api_key_create
from tests.factories import UserFactory

REDIS_URL = "redis://127.0.0.1:6379/0"
BODY = {"model": "unknown-model", "version": 1, "target": "staging"}


def _use_cache(settings: Any, location: str) -> str:
    prefix = f"test-{uuid.uuid4().hex}"  # runs sharing this Redis never share counters
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
        }
    }
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "gate": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    return prefix


def _ci_client(username: str) -> APIClient:
    user = UserFactory.create(username=username)
    key = api_key_create(name=username, scopes=["evaluate"], user=user, actor="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return client


@pytest.mark.django_db
def test_counts_per_caller_in_redis_with_retry_after(settings):
    prefix = _use_cache(settings, REDIS_URL)
    first, second = _ci_client("ci-a"), _ci_client("ci-b")
    statuses = [first.post("/api/v1/gates/evaluate", BODY, format="json").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]  # an unknown version is a 404: the limit counts every call
    limited = first.post("/api/v1/gates/evaluate", BODY, format="json")
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another caller has its own window.
    assert second.post("/api/v1/gates/evaluate", BODY, format="json").status_code == 404

    client = redis.Redis.from_url(REDIS_URL)
    keys = sorted(k.decode() for k in client.scan_iter(f"{prefix}:*"))
    assert len(keys) == 2 and all(":mlgov:throttle:gate:user:" in k for k in keys)
    counts = sorted(int(client.get(k) or 0) for k in keys)
    assert counts == [1, 5]
    assert all(0 < client.ttl(k) <= 60 for k in keys)
    client.delete(*keys)


@pytest.mark.django_db
def test_redis_outage_lets_calls_through_and_warns(settings, caplog):
    _use_cache(settings, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = _ci_client("ci-c")
    with caplog.at_level(logging.WARNING, logger="config.throttling"):
        statuses = [client.post("/api/v1/gates/evaluate", BODY, format="json").status_code for _ in range(4)]
    assert statuses == [404] * 4
    assert "rate limit gate not enforced: Redis unavailable" in caplog.text


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("1200/min", (1200, 60)), ("5/s", (5, 1)), ("10/hour", (10, 3600)), ("1/day", (1, 86400))],
)
def test_rate_parse(rate, parsed):
    assert rate_parse(rate) == parsed


@pytest.mark.django_db
def test_a_counter_that_lost_its_expiry_gets_one_again(settings):
    """A counter without expiry would throttle its caller forever; the next call gives it a window again."""
    prefix = _use_cache(settings, REDIS_URL)
    client = _ci_client("ci-d")
    assert client.post("/api/v1/gates/evaluate", BODY, format="json").status_code == 404
    redis_client = redis.Redis.from_url(REDIS_URL)
    [key] = list(redis_client.scan_iter(f"{prefix}:*"))
    redis_client.persist(key)
    assert redis_client.ttl(key) == -1
    assert client.post("/api/v1/gates/evaluate", BODY, format="json").status_code == 404
    assert 0 < redis_client.ttl(key) <= 60 and int(redis_client.get(key) or 0) == 2
    redis_client.delete(key)
