"""Writes of the assessments app: publish a questionnaire version, create teams, start, answer and submit
assessments. Each is one transaction that records its audit event; submitted assessments are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments import selectors
from assessments.models import Answer, AnswerValue, Assessment, AssessmentState, QuestionnaireVersion, Team
from assessments.questionnaire import Definition, current_definition, profile_errors, profile_stage
from assessments.scoring import NA, answers_effective
from config.errors import ServiceError
from governance.permissions import user_is_read_only
from governance.services.audit import audit_event_record

MAX_TEXT = 2000


class AssessmentError(ServiceError):
    """A request the assessments services refuse; carries a stable code and the HTTP status."""

    def __init__(self, code: str, message: str, *, status: int, details: Any = None) -> None:
        super().__init__(message, code=code, status=status, details=details)


@transaction.atomic
def questionnaire_version_publish(*, definition: Definition, actor: User | str) -> QuestionnaireVersion:
    """Store a definition version once; the same id with different content is refused, never overwritten."""
    existing = (
        QuestionnaireVersion.objects.select_for_update().filter(version_id=definition.version_id).first()
    )
    if existing is not None:
        if existing.digest != definition.digest:
            raise AssessmentError(
                "DEFINITION_CHANGED",
                f"Questionnaire {definition.version_id} is already published with different content; "
                "publish the change as a new version instead of editing it in place.",
                status=409,
                details={"published_digest": existing.digest, "file_digest": definition.digest},
            )
        return existing
    version = QuestionnaireVersion.objects.create(
        version_id=definition.version_id,
        definition_id=definition.id,
        version=definition.version,
        title=definition.title,
        digest=definition.digest,
        content=dict(definition.content),
    )
    audit_event_record(
        action="assessments.questionnaire_published",
        actor=actor,
        target=version,
        data={
            "version_id": version.version_id,
            "digest": version.digest,
            "questions": len(definition.questions),
        },
    )
    return version


def _refuse_viewers(actor: User | str, action: str) -> None:
    if isinstance(actor, User) and user_is_read_only(user=actor):
        raise AssessmentError(
            "READ_ONLY_ROLE", f"Viewers only read: to {action} you need another role.", status=403
        )


@transaction.atomic
def team_create(*, name: str, lead: User, actor: User | str) -> Team:
    _refuse_viewers(actor, "create a team")
    name = name.strip()
    if not name:
        raise AssessmentError("TEAM_NAME_REQUIRED", "A team needs a name.", status=400)
    limit = Team._meta.get_field("name").max_length or 0
    if len(name) > limit or "\x00" in name:
        raise AssessmentError(
            "TEAM_NAME_INVALID",
            f"A team name is at most {limit} characters, without NUL characters.",
            status=400,
        )
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, lead=lead)
    except IntegrityError as exc:
        raise AssessmentError("TEAM_EXISTS", f"A team named {name!r} already exists.", status=409) from exc
    audit_event_record(
        action="assessments.team_created",
        actor=actor,
        target=team,
        data={"name": name, "lead": lead.get_username()},
    )
    return team


def _can_edit(assessment: Assessment, actor: User) -> bool:
    return actor.is_superuser or actor.pk in {assessment.team.lead_id, assessment.created_by_id}


def _locked_draft(*, assessment: Assessment, actor: User) -> Assessment:
    """Re-read the assessment under a row lock and refuse anything but an editable draft."""
    locked = (
        Assessment.objects.select_for_update().select_related("team", "questionnaire").get(pk=assessment.pk)
    )
    if locked.state != AssessmentState.DRAFT:
        raise AssessmentError(
            "ASSESSMENT_SUBMITTED",
            "This assessment was submitted and is immutable; start a new assessment to re-assess.",
            status=409,
        )
    if not _can_edit(locked, actor):
        raise AssessmentError(
            "ASSESSMENT_FORBIDDEN", "Only the team lead or the assessment's author can change it.", status=403
        )
    return locked


@transaction.atomic
def assessment_start(*, team: Team, actor: User) -> Assessment:
    """Resume the team's draft, or start one on the current questionnaire (profile copied from the last one)."""
    _refuse_viewers(actor, "start an assessment")
    Team.objects.select_for_update().get(pk=team.pk)
    draft = team.assessments.filter(state=AssessmentState.DRAFT).first()
    if draft is not None:
        return draft
    questionnaire = questionnaire_version_publish(definition=current_definition(), actor=actor)
    previous = selectors.team_latest_submitted(team=team)
    profile = dict(previous.profile) if previous is not None else {}
    assessment = Assessment.objects.create(
        team=team,
        questionnaire=questionnaire,
        created_by=actor,
        profile=profile,
        stage=previous.stage if previous is not None else "",
    )
    audit_event_record(
        action="assessments.assessment_started",
        actor=actor,
        target=assessment,
        data={"team": team.name, "questionnaire": questionnaire.version_id},
    )
    return assessment


@transaction.atomic
def assessment_profile_set(*, assessment: Assessment, profile: Mapping[str, Any], actor: User) -> Assessment:
    locked = _locked_draft(assessment=assessment, actor=actor)
    definition = selectors.questionnaire_definition(version=locked.questionnaire)
    known = {field.id for field in definition.profile_fields}
    cleaned = {key: value for key, value in profile.items() if key in known}
    errors = profile_errors(definition=definition, profile=cleaned)
    if errors:
        raise AssessmentError(
            "PROFILE_INVALID", "The profile is incomplete or invalid.", status=400, details=errors
        )
    before = locked.profile
    locked.profile = cleaned
    locked.stage = profile_stage(definition=definition, profile=cleaned).id
    locked.save(update_fields=["profile", "stage", "updated_at"])
    audit_event_record(
        action="assessments.profile_set",
        actor=actor,
        target=locked,
        data={"before": before, "after": cleaned, "stage": locked.stage},
    )
    return locked


def _answer_errors(definition: Definition, answers: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    errors: dict[str, str] = {}
    question_ids = {q.id for q in definition.questions}
    for answer in answers:
        question_id = str(answer.get("question_id", ""))
        value = answer.get("value")
        if question_id not in question_ids:
            errors[question_id or "(missing)"] = "Not a question of this questionnaire."
        elif value not in AnswerValue.values:
            errors[question_id] = f"Answer must be one of {', '.join(AnswerValue.values)}."
        elif value == NA and not str(answer.get("na_reason") or "").strip():
            errors[question_id] = "Not applicable needs a reason."
        elif (
            len(str(answer.get("note") or "")) > MAX_TEXT
            or len(str(answer.get("na_reason") or "")) > MAX_TEXT
        ):
            errors[question_id] = f"Notes and reasons are limited to {MAX_TEXT} characters."
    return errors


@transaction.atomic
def assessment_answers_save(
    *, assessment: Assessment, answers: Sequence[Mapping[str, Any]], actor: User
) -> list[Answer]:
    """Upsert a batch of answers (e.g. one wizard page); the whole batch is refused if one answer is invalid."""
    locked = _locked_draft(assessment=assessment, actor=actor)
    definition = selectors.questionnaire_definition(version=locked.questionnaire)
    errors = _answer_errors(definition, answers)
    if errors:
        raise AssessmentError("ANSWER_INVALID", "Some answers are invalid.", status=400, details=errors)
    rows = [
        Answer(
            assessment=locked,
            question_id=answer["question_id"],
            value=answer["value"],
            na_reason=str(answer.get("na_reason") or "").strip() if answer["value"] == NA else "",
            note=str(answer.get("note") or "").strip(),
        )
        for answer in answers
    ]
    saved = Answer.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["assessment", "question_id"],
        update_fields=["value", "na_reason", "note", "updated_at"],
    )
    locked.save(update_fields=["updated_at"])
    audit_event_record(
        action="assessments.answers_saved",
        actor=actor,
        target=locked,
        data={"answers": {row.question_id: row.value for row in rows}},
    )
    return saved


@transaction.atomic
def assessment_submit(*, assessment: Assessment, actor: User) -> Assessment:
    """Score the assessment (claimed and verified), store the result snapshot and make it immutable."""
    locked = _locked_draft(assessment=assessment, actor=actor)
    definition = selectors.questionnaire_definition(version=locked.questionnaire)
    profile_problems = profile_errors(definition=definition, profile=locked.profile)
    answers = selectors.assessment_answer_values(assessment=locked)
    effective = answers_effective(definition=definition, profile=locked.profile, answers=answers)
    missing = [question_id for question_id, value in effective.items() if value not in AnswerValue.values]
    if profile_problems or missing:
        raise AssessmentError(
            "ASSESSMENT_INCOMPLETE",
            "Answer the profile and every applicable question (or mark it not applicable) before submitting.",
            status=400,
            details={"profile": profile_problems, "unanswered": missing},
        )
    result = selectors.assessment_result_compute(assessment=locked, definition=definition, answers=answers)
    now = timezone.now()
    updated = Assessment.objects.filter(pk=locked.pk, state=AssessmentState.DRAFT).update(
        state=AssessmentState.SUBMITTED,
        submitted_at=now,
        submitted_by=actor,
        updated_at=now,
        result=result,
        level=result["claimed"]["level"],
        verified_level=result["verified"]["level"],
    )
    if updated != 1:
        raise AssessmentError("ASSESSMENT_SUBMITTED", "This assessment was already submitted.", status=409)
    locked.refresh_from_db()
    audit_event_record(
        action="assessments.assessment_submitted",
        actor=actor,
        target=locked,
        data={
            "team": locked.team.name,
            "questionnaire": locked.questionnaire.version_id,
            "stage": locked.stage,
            "level": locked.level,
            "verified_level": locked.verified_level,
            "disagreements": result["disagreements"],
        },
    )
    return locked
