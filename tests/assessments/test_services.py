"""Assessment services: start/resume, profile, answers, submit; submitted assessments are immutable (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from assessments import selectors, services
from assessments.models import Assessment, AssessmentState, Team
from assessments.questionnaire import Definition
from assessments.services import AssessmentError
from governance.models import AuditEvent
from tests.assessments.conftest import PROFILE, answers_up_to
from tests.factories import RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db


def _answer_all(assessment: Assessment, actor: User, definition: Definition, level: int) -> None:
    answers = answers_up_to(definition, level)
    services.assessment_answers_save(
        assessment=assessment,
        answers=[{"question_id": q, "value": v} for q, v in answers.items()],
        actor=actor,
    )


@pytest.fixture
def submitted(team: Team, lead: User, definition: Definition) -> Assessment:
    assessment = services.assessment_start(team=team, actor=lead)
    services.assessment_profile_set(assessment=assessment, profile=PROFILE, actor=lead)
    _answer_all(assessment, lead, definition, 1)
    return services.assessment_submit(assessment=assessment, actor=lead)


def test_start_publishes_the_questionnaire_and_resumes_the_draft(
    team: Team, lead: User, definition: Definition
) -> None:
    first = services.assessment_start(team=team, actor=lead)
    again = services.assessment_start(team=team, actor=lead)

    assert first.pk == again.pk
    assert first.state == AssessmentState.DRAFT
    assert first.questionnaire.digest == definition.digest
    assert AuditEvent.objects.filter(action="assessments.assessment_started").count() == 1


def test_profile_sets_the_stage_and_rejects_invalid_answers(team: Team, lead: User) -> None:
    assessment = services.assessment_start(team=team, actor=lead)

    with pytest.raises(AssessmentError) as error:
        services.assessment_profile_set(
            assessment=assessment, profile={**PROFILE, "production_models": -1, "uses_llm": None}, actor=lead
        )
    assert error.value.code == "PROFILE_INVALID"
    assert set(error.value.details) == {"production_models", "uses_llm"}

    updated = services.assessment_profile_set(
        assessment=assessment, profile={**PROFILE, "production_models": 4}, actor=lead
    )
    assert updated.stage == "few_models"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"question_id": "data.sources_documented", "value": "na"}, "Not applicable needs a reason."),
        ({"question_id": "data.sources_documented", "value": "maybe"}, "Answer must be one of"),
        ({"question_id": "data.nope", "value": "yes"}, "Not a question of this questionnaire."),
    ],
)
def test_invalid_answers_refuse_the_whole_batch(
    team: Team, lead: User, answer: dict[str, str], message: str
) -> None:
    assessment = services.assessment_start(team=team, actor=lead)
    batch = [{"question_id": "experiments.tracking_server", "value": "yes"}, answer]

    with pytest.raises(AssessmentError) as error:
        services.assessment_answers_save(assessment=assessment, answers=batch, actor=lead)

    assert error.value.code == "ANSWER_INVALID"
    assert message in error.value.details[answer["question_id"]]
    assert selectors.assessment_answer_values(assessment=assessment) == {}


def test_answers_are_upserted(team: Team, lead: User) -> None:
    assessment = services.assessment_start(team=team, actor=lead)
    question = "data.sources_documented"

    services.assessment_answers_save(
        assessment=assessment, answers=[{"question_id": question, "value": "no", "note": "wip"}], actor=lead
    )
    services.assessment_answers_save(
        assessment=assessment,
        answers=[{"question_id": question, "value": "na", "na_reason": "no external data"}],
        actor=lead,
    )

    answer = selectors.assessment_answers(assessment=assessment)[question]
    assert (answer.value, answer.na_reason, answer.note) == ("na", "no external data", "")


def test_submit_refuses_an_incomplete_assessment(team: Team, lead: User) -> None:
    assessment = services.assessment_start(team=team, actor=lead)
    services.assessment_answers_save(
        assessment=assessment,
        answers=[{"question_id": "data.sources_documented", "value": "yes"}],
        actor=lead,
    )

    with pytest.raises(AssessmentError) as error:
        services.assessment_submit(assessment=assessment, actor=lead)

    assert error.value.code == "ASSESSMENT_INCOMPLETE"
    assert "production_models" in error.value.details["profile"]
    assert "experiments.tracking_server" in error.value.details["unanswered"]


def test_submit_stores_an_immutable_scored_snapshot(submitted: Assessment, lead: User) -> None:
    assert submitted.state == AssessmentState.SUBMITTED
    assert submitted.submitted_by == lead
    # Claimed L1; the team has no models tagged in the registry, so the platform refutes registration.
    assert (submitted.level, submitted.verified_level) == (1, 0)
    assert submitted.result["disagreements"] >= 1
    assert submitted.result["roadmap"]["stage"] == "first_production"
    event = AuditEvent.objects.get(action="assessments.assessment_submitted")
    assert event.data["verified_level"] == 0

    RegisteredModelFactory.create(tags={"team": submitted.team.name})
    assert selectors.assessment_result(assessment=submitted) == submitted.result, (
        "the snapshot does not drift"
    )


EDITS: list[tuple[str, Callable[[Assessment, User], Any]]] = [
    ("profile", lambda a, u: services.assessment_profile_set(assessment=a, profile=PROFILE, actor=u)),
    (
        "answers",
        lambda a, u: services.assessment_answers_save(
            assessment=a, answers=[{"question_id": "data.sources_documented", "value": "no"}], actor=u
        ),
    ),
    ("submit", lambda a, u: services.assessment_submit(assessment=a, actor=u)),
]


@pytest.mark.parametrize(("name", "edit"), EDITS, ids=[name for name, _ in EDITS])
def test_submitted_assessments_refuse_every_edit_with_409(
    submitted: Assessment, lead: User, name: str, edit: Callable[[Assessment, User], Any]
) -> None:
    before = Assessment.objects.get(pk=submitted.pk)

    with pytest.raises(AssessmentError) as error:
        edit(submitted, lead)

    assert (error.value.code, error.value.status) == ("ASSESSMENT_SUBMITTED", 409)
    after = Assessment.objects.get(pk=submitted.pk)
    assert (after.result, after.profile, after.updated_at) == (
        before.result,
        before.profile,
        before.updated_at,
    )


def test_only_the_lead_or_author_may_edit(team: Team, lead: User) -> None:
    assessment = services.assessment_start(team=team, actor=lead)
    outsider = UserFactory.create(username="outsider")

    with pytest.raises(AssessmentError) as error:
        services.assessment_profile_set(assessment=assessment, profile=PROFILE, actor=outsider)

    assert (error.value.code, error.value.status) == ("ASSESSMENT_FORBIDDEN", 403)


def test_reassessment_starts_a_new_draft_with_the_last_profile(submitted: Assessment, lead: User) -> None:
    draft = services.assessment_start(team=submitted.team, actor=lead)

    assert draft.pk != submitted.pk
    assert draft.profile == submitted.profile
    assert draft.stage == submitted.stage


def test_team_names_are_unique(team: Team, lead: User) -> None:
    with pytest.raises(AssessmentError) as error:
        services.team_create(name=team.name, lead=lead, actor=lead)

    assert (error.value.code, error.value.status) == ("TEAM_EXISTS", 409)


@pytest.mark.parametrize(
    ("name", "code"),
    [("  ", "TEAM_NAME_REQUIRED"), ("x" * 129, "TEAM_NAME_INVALID"), ("credit\x00risk", "TEAM_NAME_INVALID")],
)
def test_team_names_are_validated_before_the_database(lead: User, name: str, code: str) -> None:
    with pytest.raises(AssessmentError) as error:
        services.team_create(name=name, lead=lead, actor=lead)

    assert (error.value.code, error.value.status) == (code, 400)
    assert not Team.objects.exists()
