"""The review queue: open requests oldest first, filters (state, risk tier, team, waiting time), sign-offs
and the last gate result from the latest decision, and a query count that does not grow with the rows."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import roles
from governance.models import ApprovalRequest, GateDecision, ModelGovernance
from registry_sync.models import ModelVersion
from tests.factories import ModelVersionFactory, RegisteredModelFactory, SyncRunFactory
from tests.ui.conftest import PersonMaker, approval_in_state, logged_in

pytestmark = pytest.mark.django_db

QUEUE_URL = reverse("governance:queue")
# Session + user, sync banner (2), team names, page count, the page of requests (with model, governance,
# people and the latest gate decision as subqueries).
QUEUE_MAX_QUERIES = 7


def _ids(response: Any) -> list[int]:
    """Request ids in the order the table lists them."""
    return [int(pk) for pk in re.findall(r'href="/approvals/(\d+)/"', response.content.decode())]


def _model(name: str, *, tier: str | None, team_tag: str = "", team: str = "") -> ModelVersion:
    model = RegisteredModelFactory.create(name=name, tags={"team": team_tag} if team_tag else {})
    if tier is not None:
        ModelGovernance.objects.create(registered_model=model, risk_tier=tier, team=team)
    return ModelVersionFactory.create(registered_model=model, user_id="ds-alex")


def _submitted_days_ago(request: ApprovalRequest, days: float) -> None:
    ApprovalRequest.objects.filter(pk=request.pk).update(submitted_at=timezone.now() - timedelta(days=days))


def _decision(
    version: ModelVersion, *, allow: bool, required: list[dict[str, Any]], minutes_ago: int
) -> None:
    GateDecision.objects.create(
        id=uuid.uuid4(),
        model_version=version,
        target_stage="production",
        allow=allow,
        risk_tier="limited",
        reasons=[] if allow else [{"code": "SIGNOFF_MISSING", "message": "validator missing"}],
        required_signoffs=required,
        input_document={},
        input_digest="d1" * 32,
        engine="embedded",
        latency_ms=1.0,
        caller="cleo",
        evaluated_at=timezone.now() - timedelta(minutes=minutes_ago),
        signed_document={},
        signature="sig",
        key_id="k",
    )


@pytest.fixture
def staff(person: PersonMaker) -> dict[str, User]:
    return {
        "owner": person("olivia", roles.MODEL_OWNER),
        "validator": person("vik", roles.VALIDATOR),
        "viewer": person("vera", roles.VIEWER),
    }


@pytest.fixture
def queue(staff: dict[str, User]) -> dict[str, ApprovalRequest]:
    """Requests across states, tiers, teams and waiting times."""
    owner, validator = staff["owner"], staff["validator"]
    made = {
        "fresh": approval_in_state(
            _model("fresh-limited", tier="limited", team_tag="payments"), "submitted", owner=owner
        ),
        "old": approval_in_state(
            _model("old-high", tier="high", team_tag="ignored", team="credit-risk"), "submitted", owner=owner
        ),
        "review": approval_in_state(
            _model("review-unassessed", tier=None, team_tag="payments"),
            "in_review",
            owner=owner,
            reviewer=validator,
        ),
        "approved": approval_in_state(
            _model("approved-minimal", tier="minimal"), "approved", owner=owner, reviewer=validator
        ),
        "draft": approval_in_state(_model("draft-limited", tier="limited"), "draft", owner=owner),
        "rejected": approval_in_state(
            _model("rejected-limited", tier="limited"), "rejected", owner=owner, reviewer=validator
        ),
    }
    _submitted_days_ago(made["old"], 9)
    _submitted_days_ago(made["review"], 3)
    _submitted_days_ago(made["approved"], 1)
    return made


def test_queue_needs_login(client: Client) -> None:
    response = client.get(QUEUE_URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_default_shows_open_requests_oldest_first(
    staff: dict[str, User], queue: dict[str, ApprovalRequest]
) -> None:
    response = logged_in(staff["viewer"]).get(QUEUE_URL)

    assert response.status_code == 200
    assert _ids(response) == [queue[k].pk for k in ("old", "review", "approved", "fresh")]
    html = response.content.decode()
    assert 'aria-current="page">Review queue</a>' in html
    assert "High risk" in html and "Unassessed" in html and "Minimal risk" in html
    assert "⚠</span> 1\xa0week, 2\xa0days" in html  # more than 7 days: flagged with an icon, not colour alone


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state": "draft"}, ["draft"]),
        ({"state": "rejected"}, ["rejected"]),
        ({"state": "any"}, ["old", "review", "approved", "fresh", "rejected", "draft"]),  # drafts last
        ({"risk_tier": "limited"}, ["fresh"]),
        ({"risk_tier": "unassessed"}, ["review"]),  # no governance record counts as unassessed
        ({"team": "payments"}, ["review", "fresh"]),  # from the MLflow tag
        ({"team": "credit-risk"}, ["old"]),  # the governance record's team wins over the tag
        ({"waiting": "2d"}, ["old", "review"]),
        ({"waiting": "7d"}, ["old"]),
        ({"waiting": "7d", "risk_tier": "limited"}, []),
    ],
)
def test_filters(
    staff: dict[str, User], queue: dict[str, ApprovalRequest], params: dict[str, str], expected: list[str]
) -> None:
    response = logged_in(staff["viewer"]).get(QUEUE_URL, params)

    assert response.status_code == 200
    assert _ids(response) == [queue[key].pk for key in expected]
    if not expected:
        assert "No requests match these filters" in response.content.decode()


def test_invalid_filter_is_reported_and_the_others_apply(
    staff: dict[str, User], queue: dict[str, ApprovalRequest]
) -> None:
    response = logged_in(staff["viewer"]).get(QUEUE_URL, {"team": "nobody", "risk_tier": "high"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Team:</strong>" in html and "This filter was not applied." in html
    assert _ids(response) == [queue["old"].pk]


def test_team_filter_offers_the_teams_in_the_queue(
    staff: dict[str, User], queue: dict[str, ApprovalRequest]
) -> None:
    html = logged_in(staff["viewer"]).get(QUEUE_URL).content.decode()
    assert '<option value="credit-risk">credit-risk</option>' in html
    assert '<option value="payments">payments</option>' in html
    assert 'value="ignored"' not in html


def test_signoffs_and_last_gate_come_from_the_latest_decision(
    staff: dict[str, User], queue: dict[str, ApprovalRequest]
) -> None:
    version = queue["fresh"].model_version
    _decision(version, allow=False, required=[{"role": "owner", "count": 1, "received": 0}], minutes_ago=30)
    _decision(
        version,
        allow=False,
        required=[
            {"role": "owner", "count": 1, "received": 1, "independent": False},
            {"role": "validator", "count": 1, "received": 0, "independent": True},
        ],
        minutes_ago=5,
    )

    html = logged_in(staff["viewer"]).get(QUEUE_URL, {"risk_tier": "limited"}).content.decode()

    assert "owner 1/1" in html and "validator 0/1" in html and "owner 1/0" not in html
    assert '<span class="visually-hidden"> met</span>' in html
    assert '<span class="visually-hidden"> missing</span>' in html
    assert "✕</span> DENY" in html and "5\xa0minutes ago" in html
    others = logged_in(staff["viewer"]).get(QUEUE_URL, {"risk_tier": "high"}).content.decode()
    assert "Gate not run" in others


def test_htmx_request_gets_only_the_table(staff: dict[str, User], queue: dict[str, ApprovalRequest]) -> None:
    response = logged_in(staff["viewer"]).get(QUEUE_URL, {"state": "draft"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue-table"') and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_empty_queue(staff: dict[str, User]) -> None:
    html = logged_in(staff["viewer"]).get(QUEUE_URL).content.decode()
    assert "Nothing waiting for review" in html


def test_query_count_does_not_grow_with_requests(
    staff: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    SyncRunFactory.create()
    client = logged_in(staff["viewer"])
    owner, validator = staff["owner"], staff["validator"]
    for count in (2, 25):
        while ApprovalRequest.objects.count() < count:
            index = ApprovalRequest.objects.count()
            version = _model(f"m-{index:03d}", tier="limited", team_tag=f"team-{index % 3}")
            approval_in_state(version, "in_review", owner=owner, reviewer=validator)
            _decision(
                version, allow=False, required=[{"role": "owner", "count": 1, "received": 0}], minutes_ago=1
            )
        with django_assert_max_num_queries(QUEUE_MAX_QUERIES):
            response = client.get(QUEUE_URL)
        assert response.status_code == 200 and len(_ids(response)) == count
