"""Reads of the assessments app: definitions of stored versions, assessments and answers, the live or
snapshotted result, a team's trend, the organisation heatmap and same-stage peer comparison.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from assessments.models import Answer, Assessment, AssessmentState, QuestionnaireVersion, Team
from assessments.questionnaire import Definition, current_definition, definition_parse
from assessments.results import result_compose
from assessments.roadmap import CURRENT_CATALOGUE_PATH, Catalogue, catalogue_load
from assessments.verification import team_checks

PEER_GROUP_MINIMUM = 5

_definitions: dict[str, Definition] = {}
_catalogues: dict[str, Catalogue] = {}


def questionnaire_definition(*, version: QuestionnaireVersion) -> Definition:
    """The definition stored with a published version (parsed once per digest)."""
    definition = _definitions.get(version.digest)
    if definition is None:
        definition = definition_parse(version.content, source=version.version_id)
        _definitions[version.digest] = definition
    return definition


def catalogue_for(*, definition: Definition) -> Catalogue:
    catalogue = _catalogues.get(definition.digest)
    if catalogue is None:
        catalogue = catalogue_load(CURRENT_CATALOGUE_PATH, definition=definition)
        _catalogues[definition.digest] = catalogue
    return catalogue


def team_list() -> QuerySet[Team]:
    return Team.objects.select_related("lead").order_by("name")


def team_latest_submitted(*, team: Team) -> Assessment | None:
    return (
        Assessment.objects.filter(team=team, state=AssessmentState.SUBMITTED)
        .order_by("-submitted_at")
        .first()
    )


def assessment_list(*, team: Team | None = None, state: str = "") -> QuerySet[Assessment]:
    queryset = Assessment.objects.select_related("team", "questionnaire", "created_by").defer("result")
    if team is not None:
        queryset = queryset.filter(team=team)
    if state:
        queryset = queryset.filter(state=state)
    return queryset


def assessment_get(*, pk: int) -> Assessment:
    return Assessment.objects.select_related("team", "team__lead", "questionnaire", "created_by").get(pk=pk)


def assessment_answers(*, assessment: Assessment) -> dict[str, Answer]:
    return {answer.question_id: answer for answer in Answer.objects.filter(assessment=assessment)}


def assessment_answer_values(*, assessment: Assessment) -> dict[str, str]:
    return dict(Answer.objects.filter(assessment=assessment).values_list("question_id", "value"))


def assessment_result_compute(
    *, assessment: Assessment, definition: Definition, answers: dict[str, str]
) -> dict[str, Any]:
    return result_compose(
        definition=definition,
        catalogue=catalogue_for(definition=definition),
        team_name=assessment.team.name,
        profile=assessment.profile,
        answers=answers,
        checks=team_checks(team_name=assessment.team.name),
    )


def assessment_result(*, assessment: Assessment, answers: dict[str, str] | None = None) -> dict[str, Any]:
    """The stored snapshot of a submitted assessment, or the live result of a draft."""
    if assessment.is_submitted and assessment.result:
        return assessment.result
    definition = questionnaire_definition(version=assessment.questionnaire)
    if answers is None:
        answers = assessment_answer_values(assessment=assessment)
    return assessment_result_compute(assessment=assessment, definition=definition, answers=answers)


@dataclass(frozen=True)
class TrendPoint:
    assessment_id: int
    submitted_at: Any
    level: int | None
    verified_level: int | None
    stage: str
    dimensions: dict[str, int | None]


def team_trend(*, team: Team) -> list[TrendPoint]:
    """Every submitted assessment of the team, oldest first, with its levels and verified dimension scores."""
    rows = Assessment.objects.filter(team=team, state=AssessmentState.SUBMITTED).order_by(
        "submitted_at", "pk"
    )
    return [
        TrendPoint(
            assessment_id=row.pk,
            submitted_at=row.submitted_at,
            level=row.level,
            verified_level=row.verified_level,
            stage=row.stage,
            dimensions=_dimension_scores(row.result),
        )
        for row in rows
    ]


def _dimension_scores(result: dict[str, Any]) -> dict[str, int | None]:
    return {d["dimension_id"]: d["score"] for d in result.get("verified", {}).get("dimensions", [])}


def latest_submitted_assessments() -> QuerySet[Assessment]:
    """The newest submitted assessment of every team."""
    newest = (
        Assessment.objects.filter(team=OuterRef("team"), state=AssessmentState.SUBMITTED)
        .order_by("-submitted_at", "-pk")
        .values("pk")[:1]
    )
    return (
        Assessment.objects.filter(state=AssessmentState.SUBMITTED, pk=Subquery(newest))
        .select_related("team")
        .order_by("team__name")
    )


@dataclass(frozen=True)
class HeatmapRow:
    team: Team
    assessment_id: int
    stage: str
    level: int | None
    verified_level: int | None
    cells: list[int | None]


@dataclass(frozen=True)
class Heatmap:
    dimensions: list[tuple[str, str]]
    rows: list[HeatmapRow]


def org_heatmap() -> Heatmap:
    """Teams x dimensions: verified dimension scores of each team's latest submitted assessment."""
    dimensions = [(d.id, d.title) for d in current_definition().dimensions]
    rows = []
    for assessment in latest_submitted_assessments():
        scores = _dimension_scores(assessment.result)
        rows.append(
            HeatmapRow(
                team=assessment.team,
                assessment_id=assessment.pk,
                stage=assessment.stage,
                level=assessment.level,
                verified_level=assessment.verified_level,
                cells=[scores.get(dimension_id) for dimension_id, _ in dimensions],
            )
        )
    return Heatmap(dimensions=dimensions, rows=rows)


@dataclass(frozen=True)
class PeerDimension:
    dimension_id: str
    title: str
    team_score: int | None
    peer_median: float | None


@dataclass(frozen=True)
class PeerComparison:
    stage: str
    group_size: int
    minimum: int
    available: bool
    dimensions: list[PeerDimension]
    level_distribution: dict[int, int]


def peer_comparison(*, assessment: Assessment, result: dict[str, Any]) -> PeerComparison:
    """Compare with the latest assessments of teams at the same stage, only when the group has ≥5 teams."""
    peers = [
        a
        for a in latest_submitted_assessments().filter(stage=assessment.stage)
        if a.team_id != assessment.team_id
    ]
    group_size = len(peers) + 1
    available = bool(assessment.stage) and group_size >= PEER_GROUP_MINIMUM
    own = _dimension_scores(result)
    dimensions: list[PeerDimension] = []
    levels: Counter[int] = Counter()
    if available:
        peer_scores = [_dimension_scores(peer.result) for peer in peers]
        for dimension in current_definition().dimensions:
            values = [score for s in peer_scores if (score := s.get(dimension.id)) is not None]
            dimensions.append(
                PeerDimension(
                    dimension_id=dimension.id,
                    title=dimension.title,
                    team_score=own.get(dimension.id),
                    peer_median=statistics.median(values) if values else None,
                )
            )
        levels.update(peer.verified_level for peer in peers if peer.verified_level is not None)
    return PeerComparison(
        stage=assessment.stage,
        group_size=group_size if available else 0,
        minimum=PEER_GROUP_MINIMUM,
        available=available,
        dimensions=dimensions,
        level_distribution=dict(sorted(levels.items())),
    )
