"""The assessments REST API: the full flow, error shapes (409 on submitted), and pinned query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from assessments.models import Team
from assessments.questionnaire import Definition
from tests.assessments.conftest import PROFILE, answers_up_to
from tests.assessments.factories import TeamFactory

pytestmark = pytest.mark.django_db

# Session + user, assessments with team/questionnaire/author.
LIST_MAX_QUERIES = 3
# Session + user, assessment, the eight evidence queries of the live verification, answers.
RESULT_MAX_QUERIES = 12
# Session + user, latest submitted assessment per team with its team.
HEATMAP_MAX_QUERIES = 3
# Session + user, team, its submitted assessments.
TREND_MAX_QUERIES = 4


def _url(name: str, **kwargs: Any) -> str:
    return reverse(f"assessments-api:{name}", kwargs=kwargs)


def _submit_via_api(api: APIClient, team: Team, definition: Definition, level: int = 1) -> int:
    started = api.post(_url("start"), {"team": team.pk}, format="json")
    assert started.status_code == 201, started.json()
    pk = started.json()["id"]
    assert api.put(_url("profile", pk=pk), {"profile": PROFILE}, format="json").status_code == 200
    answers = [{"question_id": q, "value": v} for q, v in answers_up_to(definition, level).items()]
    saved = api.put(_url("answers", pk=pk), {"answers": answers}, format="json")
    assert saved.json() == {"saved": len(answers)}
    submitted = api.post(_url("submit", pk=pk))
    assert submitted.status_code == 200, submitted.json()
    return int(pk)


def test_anonymous_requests_are_refused() -> None:
    response = APIClient().get(_url("list"))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_full_flow_and_result_shape(api: APIClient, team: Team, definition: Definition) -> None:
    pk = _submit_via_api(api, team, definition)

    detail = api.get(_url("detail", pk=pk)).json()
    result = api.get(_url("result", pk=pk)).json()

    assert detail["state"] == "submitted"
    assert len(detail["answers"]) == len(definition.questions)
    assert (detail["level"], detail["verified_level"]) == (1, 0)
    assert result["claimed"]["level"] == 1
    assert result["verified"]["blockers"][0]["reason"] == "NOT_MET"
    assert result["stage"] == {"id": "first_production", "label": "First production model"}
    assert {"recommended", "deferred", "milestones", "capacity"} <= set(result["roadmap"])
    assert any(row["disagrees"] for row in result["claims"])


def test_edits_to_a_submitted_assessment_are_refused_with_409(
    api: APIClient, team: Team, definition: Definition
) -> None:
    pk = _submit_via_api(api, team, definition)

    response = api.put(
        _url("answers", pk=pk),
        {"answers": [{"question_id": "data.sources_documented", "value": "no"}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ASSESSMENT_SUBMITTED"
    assert api.post(_url("submit", pk=pk)).status_code == 409


def test_invalid_answers_use_the_error_shape(api: APIClient, team: Team) -> None:
    pk = api.post(_url("start"), {"team": team.pk}, format="json").json()["id"]

    response = api.put(
        _url("answers", pk=pk),
        {"answers": [{"question_id": "data.sources_documented", "value": "na"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "ANSWER_INVALID",
            "message": "Some answers are invalid.",
            "details": {"data.sources_documented": "Not applicable needs a reason."},
        }
    }


def test_submitting_an_incomplete_assessment_lists_what_is_missing(api: APIClient, team: Team) -> None:
    pk = api.post(_url("start"), {"team": team.pk}, format="json").json()["id"]

    response = api.post(_url("submit", pk=pk))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ASSESSMENT_INCOMPLETE"
    assert "experiments.tracking_server" in response.json()["error"]["details"]["unanswered"]


def test_teams_create_list_and_duplicates(api: APIClient, lead: User) -> None:
    created = api.post(_url("team-create"), {"name": "fraud"}, format="json")
    duplicate = api.post(_url("team-create"), {"name": "fraud"}, format="json")

    assert created.status_code == 201
    assert created.json()["lead"] == lead.username
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "TEAM_EXISTS"
    assert [t["name"] for t in api.get(_url("team-list")).json()] == ["fraud"]


def test_questionnaire_endpoint(api: APIClient, definition: Definition) -> None:
    body = api.get(_url("questionnaire")).json()

    assert body["version_id"] == definition.version_id
    assert body["digest"] == definition.digest
    assert len(body["dimensions"]) == len(definition.dimensions)


def test_reads_have_pinned_query_counts(
    api: APIClient, team: Team, definition: Definition, django_assert_max_num_queries: Any
) -> None:
    pk = _submit_via_api(api, team, definition)
    for index in range(3):
        other = TeamFactory.create(name=f"team-{index}", lead=team.lead)
        _submit_via_api(api, other, definition, level=index)
    draft = api.post(_url("start"), {"team": team.pk}, format="json").json()["id"]

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        listed = api.get(_url("list"))
    with django_assert_max_num_queries(RESULT_MAX_QUERIES):
        live = api.get(_url("result", pk=draft))
    with django_assert_max_num_queries(HEATMAP_MAX_QUERIES):
        heatmap = api.get(_url("org-heatmap"))
    with django_assert_max_num_queries(TREND_MAX_QUERIES):
        trend = api.get(_url("team-trend", team_id=team.pk))

    assert len(listed.json()) == 5
    assert live.json()["claimed"]["level"] == 0
    assert [row["team"] for row in heatmap.json()["rows"]] == ["credit-risk", "team-0", "team-1", "team-2"]
    assert [point["assessment_id"] for point in trend.json()] == [pk]
