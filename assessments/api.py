"""REST API (v1) of maturity assessments, mounted at /api/v1/assessments/: one APIView per operation.

Service refusals (AssessmentError, a ServiceError) take the house error shape in the API exception handler.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assessments import selectors, services
from assessments.models import AnswerValue, Assessment, AssessmentState, Team
from assessments.questionnaire import current_definition
from config.api import request_user
from config.errors import ApiError
from config.openapi import error_responses

TAG = "assessments"


def _assessment(pk: int) -> Assessment:
    try:
        return selectors.assessment_get(pk=pk)
    except Assessment.DoesNotExist as exc:
        raise NotFound(f"No assessment #{pk}.") from exc


def _team(pk: int) -> Team:
    try:
        return selectors.team_list().get(pk=pk)
    except Team.DoesNotExist as exc:
        raise NotFound(f"No team #{pk}.") from exc


# ------------------------------------------------------------------------------------------------ shapes


# A pattern, not an enum: spectacular's enum components named "state" would collide with the registry's.
@extend_schema_field(
    {"type": "string", "pattern": "^(draft|submitted)$", "description": "draft or submitted"}
)
class AssessmentStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=AssessmentState.choices, **kwargs)


class TeamOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    lead = serializers.CharField(source="lead.username")
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AssessmentTeam"


class AssessmentSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.CharField(source="team.name")
    team_id = serializers.IntegerField()
    questionnaire = serializers.CharField(source="questionnaire.version_id")
    state = AssessmentStateField()
    stage = serializers.CharField()
    level = serializers.IntegerField(allow_null=True, help_text="Claimed level (submitted assessments).")
    verified_level = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "AssessmentSummary"


class AnswerOutputSerializer(serializers.Serializer):
    question_id = serializers.CharField()
    value = serializers.ChoiceField(choices=AnswerValue.choices)
    na_reason = serializers.CharField()
    note = serializers.CharField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AssessmentAnswer"


class AssessmentDetailSerializer(AssessmentSummarySerializer):
    profile = serializers.DictField()
    answers = AnswerOutputSerializer(many=True)

    class Meta:
        ref_name = "AssessmentDetail"


class BlockerSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=["NOT_MET", "PARTIAL_ONLY", "UNANSWERED", "ALL_NOT_APPLICABLE"])
    question_id = serializers.CharField()
    dimension_id = serializers.CharField()
    text = serializers.CharField()
    value = serializers.CharField()


class DimensionScoreSerializer(serializers.Serializer):
    dimension_id = serializers.CharField()
    title = serializers.CharField()
    score = serializers.IntegerField(allow_null=True, help_text="0-100; null when every question is N/A.")
    applicable = serializers.IntegerField()
    yes = serializers.IntegerField()
    partial = serializers.IntegerField()  # type: ignore[assignment]  # the JSON key, not DRF's `partial`
    no = serializers.IntegerField()
    na = serializers.IntegerField()
    unanswered = serializers.IntegerField()


class ScoreSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    level_name = serializers.CharField()
    level_description = serializers.CharField()
    fte_band = serializers.CharField()
    next_level = serializers.IntegerField(allow_null=True)
    next_level_name = serializers.CharField()
    next_level_fte_min = serializers.FloatField(allow_null=True)
    months_to_next = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    blockers = BlockerSerializer(many=True, help_text="Unmet critical questions of the next level.")
    gaps_above = BlockerSerializer(many=True, help_text="Unmet critical questions above the next level.")
    dimensions = DimensionScoreSerializer(many=True)
    overall = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "MaturityScore"


class ClaimSerializer(serializers.Serializer):
    question_id = serializers.CharField()
    dimension_id = serializers.CharField()
    text = serializers.CharField()
    check = serializers.CharField()
    claimed = serializers.CharField()
    verified = serializers.BooleanField(allow_null=True, help_text="null: the platform cannot tell.")
    evidence = serializers.CharField()
    verified_value = serializers.CharField()
    disagrees = serializers.BooleanField()


class PlanItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    dimension = serializers.CharField()
    level = serializers.IntegerField()
    prerequisites = serializers.ListField(child=serializers.CharField())
    owner_role = serializers.CharField()
    milestone = serializers.CharField()
    acceptance = serializers.CharField()
    risk = serializers.CharField()
    mitigation = serializers.CharField()
    effort_fte_weeks = serializers.FloatField()
    start_week = serializers.FloatField(allow_null=True)
    end_week = serializers.FloatField(allow_null=True)
    quarter = serializers.IntegerField(allow_null=True)
    in_90_day_plan = serializers.BooleanField()


class DeferredItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    dimension = serializers.CharField()
    recommended_from = serializers.CharField()
    trigger = serializers.CharField(help_text="What would un-defer it.")


class MilestoneSerializer(serializers.Serializer):
    quarter = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # the JSON key, not DRF's field label
    items = serializers.ListField(child=serializers.CharField())


class CapacitySerializer(serializers.Serializer):
    available_fte = serializers.FloatField()
    required_fte = serializers.FloatField()
    plan_effort_fte_weeks = serializers.FloatField()
    horizon_weeks = serializers.IntegerField()
    warning = serializers.CharField()


class RoadmapSerializer(serializers.Serializer):
    stage = serializers.CharField()
    stage_label = serializers.CharField()
    in_place = serializers.ListField(child=serializers.CharField())
    recommended = PlanItemSerializer(many=True, help_text="In plan order: prerequisites first.")
    deferred = DeferredItemSerializer(many=True, help_text="Deferred by design at this stage.")
    milestones = MilestoneSerializer(many=True)
    capacity = CapacitySerializer()
    uncovered_blockers = serializers.ListField(child=serializers.CharField())
    next_level = serializers.IntegerField(allow_null=True)
    time_to_next_level = serializers.CharField()
    fte_gap = serializers.FloatField()


class StageSerializer(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the JSON key, not DRF's field label


class ResultSerializer(serializers.Serializer):
    questionnaire = serializers.DictField(help_text="version_id and digest.")
    catalogue = serializers.DictField(help_text="Roadmap catalogue id, version and digest.")
    team = serializers.CharField()
    stage = StageSerializer()
    profile = serializers.DictField()
    claimed = ScoreSerializer()
    verified = ScoreSerializer(
        help_text="The score with checkable claims replaced by what the platform verified."
    )
    claims = ClaimSerializer(many=True)
    disagreements = serializers.IntegerField()
    checks = serializers.DictField(child=serializers.DictField())
    roadmap = RoadmapSerializer()

    class Meta:
        ref_name = "AssessmentResult"


# ------------------------------------------------------------------------------------------------ views


class QuestionnaireApi(APIView):
    @extend_schema(
        operation_id="assessments_questionnaire_retrieve",
        summary="The current questionnaire definition (dimensions, questions, profile, stages, levels)",
        tags=[TAG],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        definition = current_definition()
        return Response(
            {"version_id": definition.version_id, "digest": definition.digest, **definition.content}
        )


class TeamListApi(APIView):
    @extend_schema(
        operation_id="assessments_teams_list",
        summary="Teams that assess themselves",
        tags=[TAG],
        responses=TeamOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return Response(TeamOutputSerializer(selectors.team_list(), many=True).data)


class TeamCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(
            max_length=128, help_text="Equal to the MLflow tag `team` of its models."
        )
        lead = serializers.CharField(
            required=False, help_text="Username of the lead; defaults to the caller."
        )

        class Meta:
            ref_name = "AssessmentTeamCreateRequest"

    @extend_schema(
        operation_id="assessments_teams_create",
        summary="Create a team",
        tags=[TAG],
        request=InputSerializer,
        responses={201: TeamOutputSerializer, **error_responses(409)},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lead: User | None = request_user(request)
        if payload.validated_data.get("lead"):
            lead = User.objects.filter(username=payload.validated_data["lead"]).first()
        if lead is None:
            raise ApiError("No user with that username.", code="USER_NOT_FOUND", status_code=400)
        team = services.team_create(
            name=payload.validated_data["name"], lead=lead, actor=request_user(request)
        )
        return Response(TeamOutputSerializer(team).data, status=status.HTTP_201_CREATED)


class TeamTrendApi(APIView):
    class OutputSerializer(serializers.Serializer):
        assessment_id = serializers.IntegerField()
        submitted_at = serializers.DateTimeField()
        level = serializers.IntegerField(allow_null=True)
        verified_level = serializers.IntegerField(allow_null=True)
        stage = serializers.CharField()
        dimensions = serializers.DictField(child=serializers.IntegerField(allow_null=True))

        class Meta:
            ref_name = "AssessmentTrendPoint"

    @extend_schema(
        operation_id="assessments_teams_trend",
        summary="A team's submitted assessments over time, oldest first",
        tags=[TAG],
        responses=OutputSerializer(many=True),
    )
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(team_id)
        return Response(self.OutputSerializer(selectors.team_trend(team=team), many=True).data)


class AssessmentListApi(APIView):
    class InputSerializer(serializers.Serializer):
        team = serializers.IntegerField(required=False, help_text="Team id.")
        state = AssessmentStateField(required=False)

    @extend_schema(
        operation_id="assessments_list",
        summary="Assessments, newest first",
        tags=[TAG],
        parameters=[InputSerializer],
        responses={200: AssessmentSummarySerializer(many=True), **error_responses(404)},
    )
    def get(self, request: Request) -> Response:
        filters = self.InputSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        team = _team(filters.validated_data["team"]) if "team" in filters.validated_data else None
        rows = selectors.assessment_list(team=team, state=filters.validated_data.get("state", ""))
        return Response(AssessmentSummarySerializer(rows, many=True).data)


class AssessmentStartApi(APIView):
    class InputSerializer(serializers.Serializer):
        team = serializers.IntegerField(help_text="Team id.")

        class Meta:
            ref_name = "AssessmentStartRequest"

    @extend_schema(
        operation_id="assessments_start",
        summary="Start (or resume) the team's draft assessment on the current questionnaire",
        tags=[TAG],
        request=InputSerializer,
        responses={201: AssessmentSummarySerializer, **error_responses(404)},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        team = _team(payload.validated_data["team"])
        assessment = services.assessment_start(team=team, actor=request_user(request))
        return Response(AssessmentSummarySerializer(assessment).data, status=status.HTTP_201_CREATED)


class AssessmentDetailApi(APIView):
    @extend_schema(
        operation_id="assessments_retrieve",
        summary="An assessment with its profile and answers",
        tags=[TAG],
        responses=AssessmentDetailSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        assessment = _assessment(pk)
        data: dict[str, Any] = dict(AssessmentSummarySerializer(assessment).data)
        data["profile"] = assessment.profile
        answers = selectors.assessment_answers(assessment=assessment).values()
        data["answers"] = AnswerOutputSerializer(answers, many=True).data
        return Response(data)


class AssessmentProfileApi(APIView):
    class InputSerializer(serializers.Serializer):
        profile = serializers.DictField(help_text="Answers to the profile fields of the questionnaire.")

        class Meta:
            ref_name = "AssessmentProfileRequest"

    @extend_schema(
        operation_id="assessments_profile_update",
        summary="Set the profile (and with it the stage) of a draft",
        tags=[TAG],
        request=InputSerializer,
        responses={200: AssessmentSummarySerializer, **error_responses(409)},
    )
    def put(self, request: Request, pk: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assessment = services.assessment_profile_set(
            assessment=_assessment(pk), profile=payload.validated_data["profile"], actor=request_user(request)
        )
        return Response(AssessmentSummarySerializer(assessment).data)


class AssessmentAnswersApi(APIView):
    class InputSerializer(serializers.Serializer):
        class AnswerInputSerializer(serializers.Serializer):
            question_id = serializers.CharField(max_length=128)
            value = serializers.ChoiceField(choices=AnswerValue.choices)
            na_reason = serializers.CharField(required=False, allow_blank=True, default="")
            note = serializers.CharField(required=False, allow_blank=True, default="")

            class Meta:
                ref_name = "AssessmentAnswerInput"

        answers = AnswerInputSerializer(many=True)

        class Meta:
            ref_name = "AssessmentAnswersRequest"

    class OutputSerializer(serializers.Serializer):
        saved = serializers.IntegerField()

        class Meta:
            ref_name = "AssessmentAnswersSaved"

    @extend_schema(
        operation_id="assessments_answers_update",
        summary="Save a batch of answers to a draft (all or nothing)",
        tags=[TAG],
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(409)},
    )
    def put(self, request: Request, pk: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        saved = services.assessment_answers_save(
            assessment=_assessment(pk), answers=payload.validated_data["answers"], actor=request_user(request)
        )
        return Response({"saved": len(saved)})


class AssessmentSubmitApi(APIView):
    @extend_schema(
        operation_id="assessments_submit",
        summary="Submit a draft: score it (claimed and verified), store the snapshot, make it immutable",
        tags=[TAG],
        request=None,
        responses={200: AssessmentSummarySerializer, **error_responses(400, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        assessment = services.assessment_submit(assessment=_assessment(pk), actor=request_user(request))
        return Response(AssessmentSummarySerializer(assessment).data)


class AssessmentResultApi(APIView):
    @extend_schema(
        operation_id="assessments_result",
        summary="The scored result: stored snapshot when submitted, computed live for a draft",
        tags=[TAG],
        responses=ResultSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        assessment = _assessment(pk)
        return Response(selectors.assessment_result(assessment=assessment))


class OrgHeatmapApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class RowSerializer(serializers.Serializer):
            team = serializers.CharField(source="team.name")
            assessment_id = serializers.IntegerField()
            stage = serializers.CharField()
            level = serializers.IntegerField(allow_null=True)
            verified_level = serializers.IntegerField(allow_null=True)
            cells = serializers.ListField(child=serializers.IntegerField(allow_null=True))

            class Meta:
                ref_name = "AssessmentHeatmapRow"

        dimensions = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
        rows = RowSerializer(many=True)

        class Meta:
            ref_name = "AssessmentHeatmap"

    @extend_schema(
        operation_id="assessments_org_heatmap",
        summary="Teams x dimensions: verified scores of each team's latest submitted assessment",
        tags=[TAG],
        responses=OutputSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.org_heatmap()).data)
