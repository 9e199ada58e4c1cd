"""REST API (v1) for the read-only model inventory and the sync passes: one APIView per operation.

Query parameters are validated by each view's InputSerializer; errors take the house shape via config.errors.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import selectors
from governance.lineage import model_version_lineage
from governance.serializers import ModelAliasOutputSerializer, ModelVersionOutputSerializer
from registry_sync.models import (
    MirrorState,
    ModelVersion,
    RegisteredModel,
    SyncKind,
    SyncStatus,
)

INVENTORY_TAG = "inventory"
PAGE_PARAMETER = OpenApiParameter(
    "page", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Page number (50 items per page)."
)
MODEL_NAME_PARAMETER = OpenApiParameter(
    "name",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Registered model name as in MLflow (URL-encoded; may contain spaces, dots and slashes).",
)


def _paginated(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The schema of a PageNumberPagination envelope around `item`."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


def _paginated_response(
    *, request: Request, view: APIView, queryset: QuerySet[Any], serializer: type[serializers.Serializer]
) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    assert page is not None, "PAGE_SIZE is set in settings"
    return paginator.get_paginated_response(serializer(page, many=True).data)


class ModelListApi(APIView):
    class InputSerializer(serializers.Serializer):
        search = serializers.CharField(
            required=False, allow_blank=True, max_length=256, help_text="Substring of name or description."
        )
        tag = serializers.CharField(
            required=False, allow_blank=True, max_length=512, help_text="Exact tag match written `key=value`."
        )
        alias = serializers.CharField(
            required=False, allow_blank=True, max_length=256, help_text="Only models that have this alias."
        )
        state = serializers.ChoiceField(choices=MirrorState.choices, required=False, allow_blank=True)

        def validate_tag(self, value: str) -> tuple[str, str] | None:
            if not value:
                return None
            try:
                return selectors.tag_filter_parse(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from exc

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        description = serializers.CharField()
        tags = serializers.DictField(child=serializers.CharField())
        state = serializers.ChoiceField(choices=MirrorState.choices)
        latest_version = serializers.IntegerField(allow_null=True)
        version_count = serializers.IntegerField()
        aliases = ModelAliasOutputSerializer(many=True)
        mlflow_created_at = serializers.DateTimeField(allow_null=True)
        mlflow_updated_at = serializers.DateTimeField(allow_null=True)
        archived_at = serializers.DateTimeField(allow_null=True)
        last_synced_at = serializers.DateTimeField()

        class Meta:
            ref_name = "RegisteredModelSummary"

    @extend_schema(
        operation_id="models_list",
        summary="List registered models",
        tags=[INVENTORY_TAG],
        parameters=[InputSerializer, PAGE_PARAMETER],
        responses=_paginated(OutputSerializer, "PaginatedRegisteredModelSummaryList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.InputSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.registered_model_list(**filters.validated_data)
        return _paginated_response(
            request=request, view=self, queryset=queryset, serializer=self.OutputSerializer
        )


class ModelDetailApi(APIView):
    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        description = serializers.CharField()
        tags = serializers.DictField(child=serializers.CharField())
        state = serializers.ChoiceField(choices=MirrorState.choices)
        aliases = ModelAliasOutputSerializer(many=True)
        versions = ModelVersionOutputSerializer(many=True, help_text="Newest first.")
        mlflow_created_at = serializers.DateTimeField(allow_null=True)
        mlflow_updated_at = serializers.DateTimeField(allow_null=True)
        archived_at = serializers.DateTimeField(allow_null=True)
        first_synced_at = serializers.DateTimeField()
        last_synced_at = serializers.DateTimeField()

        class Meta:
            ref_name = "RegisteredModelDetail"

    @extend_schema(
        operation_id="models_retrieve",
        summary="A registered model with its aliases and versions (runs, metrics, bias metrics, datasets)",
        tags=[INVENTORY_TAG],
        parameters=[MODEL_NAME_PARAMETER],
        responses=OutputSerializer,
    )
    def get(self, request: Request, name: str) -> Response:
        try:
            model = selectors.registered_model_detail(name=name)
        except RegisteredModel.DoesNotExist as exc:
            raise NotFound(f"No registered model named {name!r}.") from exc
        return Response(self.OutputSerializer(model).data)


class ModelVersionDetailApi(APIView):
    class OutputSerializer(ModelVersionOutputSerializer):
        model = serializers.CharField(source="registered_model.name")

        class Meta:
            ref_name = "ModelVersionDetail"

    @extend_schema(
        operation_id="models_versions_retrieve",
        summary="One version of a registered model with its run, metrics, bias metrics and datasets",
        tags=[INVENTORY_TAG],
        parameters=[MODEL_NAME_PARAMETER],
        responses=OutputSerializer,
    )
    def get(self, request: Request, name: str, version: int) -> Response:
        try:
            model_version = selectors.model_version_detail(name=name, version=version)
        except ModelVersion.DoesNotExist as exc:
            raise NotFound(f"No version {version} of a registered model named {name!r}.") from exc
        return Response(self.OutputSerializer(model_version).data)


class SyncRunListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=SyncKind.choices)
        status = serializers.ChoiceField(choices=SyncStatus.choices)
        target = serializers.CharField()
        started_at = serializers.DateTimeField()
        finished_at = serializers.DateTimeField(allow_null=True)
        duration_seconds = serializers.SerializerMethodField()
        models_created = serializers.IntegerField()
        models_updated = serializers.IntegerField()
        models_archived = serializers.IntegerField()
        versions_created = serializers.IntegerField()
        versions_updated = serializers.IntegerField()
        versions_archived = serializers.IntegerField()
        runs_synced = serializers.IntegerField()
        aliases_changed = serializers.IntegerField()
        versions_seen = serializers.IntegerField()
        pages = serializers.IntegerField()
        watermark_before = serializers.IntegerField(allow_null=True)
        watermark_after = serializers.IntegerField(allow_null=True)
        error = serializers.CharField()

        class Meta:
            ref_name = "SyncRun"

        def get_duration_seconds(self, sync_run: Any) -> float | None:
            duration: timedelta | None = sync_run.duration
            return None if duration is None else round(duration.total_seconds(), 3)

    @extend_schema(
        operation_id="sync_runs_list",
        summary="Recent registry sync passes, newest first",
        tags=["registry sync"],
        parameters=[PAGE_PARAMETER],
        responses=_paginated(OutputSerializer, "PaginatedSyncRunList"),
    )
    def get(self, request: Request) -> Response:
        return _paginated_response(
            request=request, view=self, queryset=selectors.sync_run_list(), serializer=self.OutputSerializer
        )


class LineageApi(APIView):
    @extend_schema(
        operation_id="lineage_model_version",
        tags=["audit & lineage"],
        summary="Lineage of a model version: datasets → run → version → decisions → sign-offs → deployments",
        parameters=[MODEL_NAME_PARAMETER],
        responses={
            200: inline_serializer(
                "Lineage",
                fields={
                    "model": serializers.CharField(),
                    "version": serializers.IntegerField(),
                    "nodes": serializers.ListField(child=serializers.DictField()),
                    "edges": serializers.ListField(child=serializers.DictField()),
                    "audit_events": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    def get(self, request: Request, name: str, version: int) -> Response:
        model_version = (
            ModelVersion.objects.select_related("registered_model", "run")
            .filter(registered_model__name=name, version=version)
            .first()
        )
        if model_version is None:
            raise NotFound(f"No version {version} of model {name!r}.")
        return Response(model_version_lineage(model_version=model_version))
