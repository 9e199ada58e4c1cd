"""The assessment pages: login, the wizard (save & resume, progress), result, exports, trend, heatmap, peers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from assessments import services
from assessments.models import Assessment, Team
from assessments.questionnaire import Definition
from tests.assessments.conftest import PROFILE, answers_up_to
from tests.assessments.factories import TeamFactory

pytestmark = pytest.mark.django_db

# Session + user, teams, drafts, latest submitted per team.
INDEX_MAX_QUERIES = 5
# Session + user, assessment, snapshot peers (latest submitted per team at the stage).
RESULT_MAX_QUERIES = 5
# Session + user, latest submitted assessment per team.
HEATMAP_MAX_QUERIES = 3


def _submitted(
    team: Team, lead: User, definition: Definition, *, level: int = 1, **profile: Any
) -> Assessment:
    assessment = services.assessment_start(team=team, actor=lead)
    services.assessment_profile_set(assessment=assessment, profile={**PROFILE, **profile}, actor=lead)
    services.assessment_answers_save(
        assessment=assessment,
        answers=[{"question_id": q, "value": v} for q, v in answers_up_to(definition, level).items()],
        actor=lead,
    )
    return services.assessment_submit(assessment=assessment, actor=lead)


@pytest.mark.parametrize(
    "url",
    [
        reverse("assessments:index"),
        reverse("assessments:org-heatmap"),
        reverse("assessments:result", kwargs={"pk": 1}),
        reverse("assessments:step", kwargs={"pk": 1, "step": 1}),
    ],
)
def test_pages_need_a_login(client: Client, url: str) -> None:
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_wizard_saves_resumes_and_submits(lead_client: Client, definition: Definition) -> None:
    created = lead_client.post(reverse("assessments:team-create"), {"name": "credit-risk"})
    assert created.status_code == 302
    team = Team.objects.get(name="credit-risk")
    started = lead_client.post(reverse("assessments:start", kwargs={"team_id": team.pk}))
    pk = Assessment.objects.get(team=team).pk
    assert started["Location"] == reverse("assessments:profile", kwargs={"pk": pk})

    profile = {**PROFILE, "regulated_sector": "yes", "uses_llm": "no"}
    to_step_1 = lead_client.post(reverse("assessments:profile", kwargs={"pk": pk}), profile)
    assert to_step_1["Location"] == reverse("assessments:step", kwargs={"pk": pk, "step": 1})

    step_1 = lead_client.get(to_step_1["Location"])
    html = step_1.content.decode()
    assert "Data management &amp; versioning" in html
    assert "0 of 45 questions answered" in html, "LLM questions are skipped for a team without LLMs"

    first = definition.dimensions[0]
    form = {f"value-{q.id}": "yes" for q in first.questions}
    form["value-data.pii_controls"] = "na"
    refused = lead_client.post(to_step_1["Location"], {**form, "action": "next"})
    assert refused.status_code == 400
    assert "Not applicable needs a reason." in refused.content.decode()

    form["na-data.pii_controls"] = "no personal data"
    exited = lead_client.post(to_step_1["Location"], {**form, "action": "exit"})
    assert exited["Location"] == reverse("assessments:index")
    resumed = lead_client.post(reverse("assessments:start", kwargs={"team_id": team.pk}))
    assert resumed["Location"] == reverse("assessments:profile", kwargs={"pk": pk})
    assert "6 of 45 questions answered" in lead_client.get(to_step_1["Location"]).content.decode()

    answers = answers_up_to(definition, 1)
    steps = [d for d in definition.dimensions if d.id != "llm"]
    for number, dimension in enumerate(steps, start=1):
        page = {f"value-{q.id}": answers[q.id] for q in dimension.questions}
        response = lead_client.post(reverse("assessments:step", kwargs={"pk": pk, "step": number}), page)
        assert response.status_code == 302
    assert response["Location"] == reverse("assessments:review", kwargs={"pk": pk})

    review = lead_client.get(response["Location"])
    assert "Unanswered questions" not in review.content.decode()
    done = lead_client.post(response["Location"])
    assert done["Location"] == reverse("assessments:result", kwargs={"pk": pk})
    assert lead_client.get(to_step_1["Location"])["Location"] == done["Location"], (
        "submitted: no more editing"
    )


def test_result_page(
    lead_client: Client, team: Team, lead: User, definition: Definition, django_assert_max_num_queries: Any
) -> None:
    assessment = _submitted(team, lead, definition)

    with django_assert_max_num_queries(RESULT_MAX_QUERIES):
        response = lead_client.get(reverse("assessments:result", kwargs={"pk": assessment.pk}))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="badge badge--level badge--level-0"' in html
    assert "differs from claim" in html
    assert 'class="row--disagree"' in html
    assert "Deferred by design" in html and "Online feature store" in html
    assert "<svg" in html and "radar__claimed" in html
    assert "groups of at least 5 teams" in html


def test_peer_comparison_needs_five_teams_at_the_same_stage(
    lead_client: Client, lead: User, definition: Definition
) -> None:
    teams = [TeamFactory.create(name=f"peer-{i}", lead=lead) for i in range(5)]
    assessments = [_submitted(t, lead, definition, level=i % 3) for i, t in enumerate(teams)]
    _submitted(TeamFactory.create(name="bigger", lead=lead), lead, definition, production_models=20)

    html = lead_client.get(reverse("assessments:result", kwargs={"pk": assessments[0].pk})).content.decode()

    assert "5 teams at this stage" in html
    assert "Peer median" in html


def test_exports(lead_client: Client, team: Team, lead: User, definition: Definition) -> None:
    assessment = _submitted(team, lead, definition)

    as_json = lead_client.get(reverse("assessments:export-json", kwargs={"pk": assessment.pk}))
    as_csv = lead_client.get(reverse("assessments:export-csv", kwargs={"pk": assessment.pk}))

    assert as_json.json()["result"]["claimed"]["level"] == 1
    assert as_json["Content-Disposition"] == f'attachment; filename="assessment-{assessment.pk}.json"'
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert len(rows) == len(definition.questions)
    registered = next(r for r in rows if r["question_id"] == "registry.models_registered")
    assert (registered["claimed"], registered["verified_value"], registered["check_result"]) == (
        "yes",
        "no",
        "refuted",
    )


def test_index_trend_and_heatmap(
    lead_client: Client, team: Team, lead: User, definition: Definition, django_assert_max_num_queries: Any
) -> None:
    _submitted(team, lead, definition, level=0)
    _submitted(team, lead, definition, level=1)
    _submitted(TeamFactory.create(name="fraud", lead=lead), lead, definition, level=2)

    with django_assert_max_num_queries(INDEX_MAX_QUERIES):
        index = lead_client.get(reverse("assessments:index"))
    trend = lead_client.get(reverse("assessments:team-trend", kwargs={"team_id": team.pk}))
    with django_assert_max_num_queries(HEATMAP_MAX_QUERIES):
        heatmap = lead_client.get(reverse("assessments:org-heatmap"))

    assert "credit-risk" in index.content.decode() and "fraud" in index.content.decode()
    assert trend.content.decode().count("L1 / L0") == 1
    assert heatmap.content.decode().count('class="num heat heat--') == 2 * len(definition.dimensions)
