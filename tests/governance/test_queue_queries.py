"""The review queue's SQL query count is the same for a handful of requests and for more than a page of them,
for every filter and for the htmx partial (benchmarks/queue_bench.py measures the same at 1,000 models)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import roles
from governance.models import ApprovalRequest, ApprovalState, GateDecision, ModelGovernance
from tests.factories import ModelVersionFactory, RegisteredModelFactory, SyncRunFactory, UserFactory

pytestmark = pytest.mark.django_db

# Session, user, team names, page count, the page (model, governance, people and the latest gate decision in
# one query), and for the full page the sync banner's two.
FULL_PAGE_QUERIES = 7
PARTIAL_QUERIES = 5
STATES = [ApprovalState.SUBMITTED, ApprovalState.IN_REVIEW, ApprovalState.APPROVED, ApprovalState.REJECTED]

# (query parameters, htmx partial, queries)
VARIANTS = [
    ({}, False, FULL_PAGE_QUERIES),
    ({}, True, PARTIAL_QUERIES),
    ({"state": "any"}, False, FULL_PAGE_QUERIES),
    ({"state": "in_review"}, False, FULL_PAGE_QUERIES),
    ({"risk_tier": "high"}, False, FULL_PAGE_QUERIES),
    ({"team": "team-1"}, False, FULL_PAGE_QUERIES),
    ({"waiting": "2d"}, False, FULL_PAGE_QUERIES),
    ({"state": "any", "page": "last"}, False, FULL_PAGE_QUERIES),
]


def _add_requests(total: int, owner: User) -> None:
    """Requests in every queue-relevant state until there are `total`, each with two gate decisions."""
    now = timezone.now()
    while (index := ApprovalRequest.objects.count()) < total:
        model = RegisteredModelFactory.create(tags={"team": f"team-{index % 3}"})
        ModelGovernance.objects.create(
            registered_model=model,
            risk_tier=("high", "limited")[index % 2],
            team="" if index % 4 else "team-1",
        )
        version = ModelVersionFactory.create(registered_model=model)
        submitted_at = now - timedelta(days=index % 5)
        ApprovalRequest.objects.create(
            model_version=version,
            target_stage="production",
            state=STATES[index % len(STATES)],
            created_by=owner,
            submitted_by=owner,
            submitted_at=submitted_at,
        )
        for hours in (1, 2):
            GateDecision.objects.create(
                id=uuid.uuid4(),
                model_version=version,
                target_stage="production",
                allow=hours == 2,
                risk_tier="limited",
                required_signoffs=[{"role": "owner", "count": 1, "received": hours - 1}],
                input_document={},
                input_digest="0" * 64,
                engine="embedded",
                latency_ms=1.0,
                caller="test",
                evaluated_at=submitted_at + timedelta(hours=hours),
                signed_document={},
                signature="s",
                key_id="k",
            )


def test_queue_query_count_does_not_grow_with_requests(django_assert_max_num_queries: Any) -> None:
    SyncRunFactory.create()
    owner = UserFactory.create(username="olivia")
    member = UserFactory.create(username="cora")
    member.groups.add(Group.objects.get_or_create(name=roles.COMMITTEE_MEMBER)[0])
    client = Client()
    client.force_login(member)
    counts: dict[int, list[int]] = {}
    for total in (4, 60):  # 60: more than one page (PAGE_SIZE 50) of "any state"
        _add_requests(total, owner)
        counts[total] = []
        for params, htmx, queries in VARIANTS:
            with django_assert_max_num_queries(queries) as captured:
                response = client.get(
                    reverse("governance:queue"), params, headers={"HX-Request": "true"} if htmx else {}
                )
            assert response.status_code == 200, params
            assert 'href="/approvals/' in response.content.decode(), params
            counts[total].append(len(captured.captured_queries))

    assert counts[4] == counts[60]
