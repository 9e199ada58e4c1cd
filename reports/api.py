"""REST API (v1) of reports: incident intake (Alertmanager webhook and plain API), usage/cost and outcome entry,
incident and usage/cost CSV import, KPIs of a month, the ROI worksheet and the monthly report archive. One APIView per operation.
"""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.fields import empty
from rest_framework.parsers import BaseParser, FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import request_user
from config.errors import ApiError
from config.openapi import error_responses
from registry_sync.models import RegisteredModel
from reports import selectors, services
from reports.authentication import AlertmanagerTokenAuthentication, IsAlertmanager, user_can_enter_report_data
from reports.intake import MAX_VERSION, IntakeError, alertmanager_payload_parse
from reports.models import IncidentKind, IntakeSource, MonthlyReport
from reports.periods import Month
from reports.roi import ASSUMPTION_LIMITS, HORIZONS, RoiAssumptions, assumption_value_error, roi_worksheet

TAG = "reports"


class CanEnterReportData(BasePermission):
    """Admins, model owners and compliance officers (interactive or through their API key) enter figures."""

    message = "Entering report data needs the admin, model_owner or compliance_officer role."

    def has_permission(self, request: Request, view: Any) -> bool:
        return user_can_enter_report_data(request.user)


def _month(value: str) -> Month:
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise ApiError(str(exc), code="MONTH_INVALID", details={"month": value}) from exc


class MonthField(serializers.CharField):
    def to_internal_value(self, data: Any) -> Month:  # type: ignore[override]
        try:
            return Month.parse(str(data))
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ModelNameField(serializers.CharField):
    """A registered model's name in, the model out.

    The lookup runs after CharField's own validation (NUL bytes, length), never on raw input: PostgreSQL refuses a
    NUL byte in a query parameter with a DataError, which must reach the client as a 400, not a 500.
    """

    def run_validation(self, data: Any = empty) -> RegisteredModel | None:
        name = super().run_validation(data)
        if name is None:
            return None
        model = RegisteredModel.objects.filter(name=name).first()
        if model is None:
            raise serializers.ValidationError(f"No registered model named {name!r}.")
        return model


# ------------------------------------------------------------------------------------------------ intake


class AlertmanagerWebhookApi(APIView):
    """Alertmanager webhook receiver (payload version 4): upserts incidents by fingerprint and startsAt."""

    authentication_classes = [AlertmanagerTokenAuthentication]
    permission_classes = [IsAlertmanager]

    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        unmapped_models = serializers.ListField(child=serializers.CharField())

        class Meta:
            ref_name = "AlertmanagerIngestResult"

    @extend_schema(
        tags=[TAG],
        operation_id="incidents_alertmanager",
        request=OpenApiTypes.OBJECT,
        responses={200: OutputSerializer},
        description="Alertmanager `webhook_config` target. Firing and resolved notifications of one alert "
        "episode update the same incident; duplicates are no-ops; a malformed payload writes nothing (400).",
    )
    def post(self, request: Request) -> Response:
        try:
            notices = alertmanager_payload_parse(request.data)
        except IntakeError as exc:
            raise ApiError(exc.message, code="ALERTMANAGER_PAYLOAD_INVALID", details=exc.details) from exc
        result = services.incidents_alertmanager_ingest(notices=notices, actor=services.ALERTMANAGER_ACTOR)
        return Response(self.OutputSerializer(asdict(result)).data)


class IncidentCreateApi(APIView):
    permission_classes = [CanEnterReportData]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=IncidentKind.choices)
        model = ModelNameField(required=False, allow_null=True, default=None)
        version = serializers.IntegerField(
            min_value=1, max_value=MAX_VERSION, required=False, allow_null=True, default=None
        )
        started_at = serializers.DateTimeField()
        ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        summary = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
        labels = serializers.DictField(child=serializers.CharField(), required=False, default=dict)

        class Meta:
            ref_name = "IncidentCreateInput"

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        status = serializers.CharField()
        model = serializers.CharField(source="model_name")
        version = serializers.IntegerField(allow_null=True)
        started_at = serializers.DateTimeField()
        ended_at = serializers.DateTimeField(allow_null=True)
        source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source

        class Meta:
            ref_name = "Incident"

    @extend_schema(
        tags=[TAG],
        operation_id="incidents_create",
        request=InputSerializer,
        responses={201: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        incident = services.incident_record(
            kind=data["kind"],
            registered_model=data["model"],
            version=data["version"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            summary=data["summary"],
            labels=data["labels"],
            source=IntakeSource.API,
            actor=request_user(request),
        )
        return Response(self.OutputSerializer(incident).data, status=status.HTTP_201_CREATED)


class UsageCostUpsertApi(APIView):
    permission_classes = [CanEnterReportData]

    class InputSerializer(serializers.Serializer):
        model = ModelNameField()
        month = MonthField()
        requests = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False)
        predictions = serializers.IntegerField(min_value=0, max_value=2**63 - 1, required=False)
        p95_latency_ms = serializers.FloatField(min_value=0, required=False, allow_null=True)
        slo_target = serializers.FloatField(min_value=0, max_value=100, required=False, allow_null=True)
        slo_attainment = serializers.FloatField(min_value=0, max_value=100, required=False, allow_null=True)
        compute_cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
        storage_cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
        license_cost = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
        headcount_cost = serializers.DecimalField(
            max_digits=14, decimal_places=2, min_value=0, required=False
        )

        class Meta:
            ref_name = "UsageCostInput"

    class OutputSerializer(serializers.Serializer):
        model = serializers.CharField(source="registered_model.name")
        month = serializers.DateField()
        requests = serializers.IntegerField()
        predictions = serializers.IntegerField()
        p95_latency_ms = serializers.FloatField(allow_null=True)
        slo_target = serializers.FloatField(allow_null=True)
        slo_attainment = serializers.FloatField(allow_null=True)
        compute_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
        storage_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
        license_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
        headcount_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
        source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source

        class Meta:
            ref_name = "UsageCost"

    @extend_schema(
        tags=[TAG],
        operation_id="reports_usage_cost_upsert",
        request=InputSerializer,
        responses={200: OutputSerializer, 201: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        model, month = values.pop("model"), values.pop("month")
        row, created = services.usage_cost_upsert(
            registered_model=model,
            month=month,
            values=values,
            source=IntakeSource.API,
            actor=request_user(request),
        )
        return Response(self.OutputSerializer(row).data, status=201 if created else 200)


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class CsvTextParser(BaseParser):
    """A raw `text/csv` request body, decoded as UTF-8 (a BOM is dropped)."""

    media_type = "text/csv"

    # request.data is then the CSV text rather than a mapping
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> str:
        try:
            return stream.read().decode("utf-8-sig") if stream is not None else ""
        except UnicodeDecodeError as exc:
            raise ApiError("The CSV must be UTF-8.", code="CSV_ENCODING") from exc


class CsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(required=False, default=False)


CSV_IMPORT_PARAMETERS = [
    OpenApiParameter(
        "dry_run", bool, required=False, description="With a text/csv body: validate only (multipart: field)."
    )
]


def csv_import_text(request: Request) -> tuple[str, bool]:
    """The CSV text and dry-run flag of an import request: a `text/csv` body or a multipart `file`."""
    if isinstance(request.data, str):
        dry_run = serializers.BooleanField().to_internal_value(request.query_params.get("dry_run", "false"))
        return request.data, dry_run
    serializer = CsvUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        text = serializer.validated_data["file"].read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError("The CSV must be UTF-8.", code="CSV_ENCODING") from exc
    return text, serializer.validated_data["dry_run"]


def csv_import_response(report: services.ImportReport) -> dict[str, Any]:
    """The import counts, or ApiError 400 `CSV_INVALID` listing every row error (nothing was written)."""
    if not report.ok:
        raise ApiError(
            f"The CSV has {len(report.errors)} problem(s); nothing was imported.",
            code="CSV_INVALID",
            details={"errors": [e.as_dict() for e in report.errors]},
        )
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "dry_run": report.dry_run,
        "errors": [],
    }


class UsageCostImportApi(APIView):
    """CSV import (multipart `file` or a text/csv body): all rows are written, or none and a row-level error
    report (400)."""

    permission_classes = [CanEnterReportData]
    parser_classes = [MultiPartParser, FormParser, CsvTextParser]

    class InputSerializer(CsvUploadSerializer):
        class Meta:
            ref_name = "UsageCostImportInput"

    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        dry_run = serializers.BooleanField()
        errors = RowErrorSerializer(many=True)  # type: ignore[assignment]

        class Meta:
            ref_name = "UsageCostImportReport"

    @extend_schema(
        tags=[TAG],
        operation_id="reports_usage_cost_import",
        request={"multipart/form-data": InputSerializer, "text/csv": OpenApiTypes.STR},
        parameters=CSV_IMPORT_PARAMETERS,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        text, dry_run = csv_import_text(request)
        report = services.usage_costs_import_csv(text=text, actor=request_user(request), dry_run=dry_run)
        return Response(self.OutputSerializer(csv_import_response(report)).data)


class IncidentImportApi(APIView):
    """Incident CSV import (multipart `file` or a text/csv body), keyed by `external_id` so re-imports are
    idempotent: all rows are written, or none and a row-level error report (400)."""

    permission_classes = [CanEnterReportData]
    parser_classes = [MultiPartParser, FormParser, CsvTextParser]

    class InputSerializer(CsvUploadSerializer):
        class Meta:
            ref_name = "IncidentImportInput"

    class OutputSerializer(serializers.Serializer):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        dry_run = serializers.BooleanField()
        errors = RowErrorSerializer(many=True)  # type: ignore[assignment]

        class Meta:
            ref_name = "IncidentImportReport"

    @extend_schema(
        tags=[TAG],
        operation_id="incidents_import",
        request={"multipart/form-data": InputSerializer, "text/csv": OpenApiTypes.STR},
        parameters=CSV_IMPORT_PARAMETERS,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        text, dry_run = csv_import_text(request)
        report = services.incidents_import_csv(text=text, actor=request_user(request), dry_run=dry_run)
        return Response(self.OutputSerializer(csv_import_response(report)).data)


class BusinessOutcomeRecordApi(APIView):
    permission_classes = [CanEnterReportData]

    class InputSerializer(serializers.Serializer):
        model = ModelNameField()
        month = MonthField()
        revenue_uplift = serializers.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
        refunds_avoided = serializers.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
        time_to_first_value_days = serializers.FloatField(
            min_value=0, required=False, allow_null=True, default=None
        )
        source = serializers.CharField(max_length=300)  # type: ignore[assignment]

        class Meta:
            ref_name = "BusinessOutcomeInput"

    class OutputSerializer(serializers.Serializer):
        model = serializers.CharField(source="registered_model.name")
        month = serializers.DateField()
        revenue_uplift = serializers.DecimalField(max_digits=14, decimal_places=2)
        refunds_avoided = serializers.DecimalField(max_digits=14, decimal_places=2)
        time_to_first_value_days = serializers.FloatField(allow_null=True)
        source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
        owner = serializers.CharField(source="owner.username")

        class Meta:
            ref_name = "BusinessOutcome"

    @extend_schema(
        tags=[TAG],
        operation_id="reports_outcome_record",
        request=InputSerializer,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        row = services.business_outcome_record(
            registered_model=data["model"],
            month=data["month"],
            revenue_uplift=data["revenue_uplift"],
            refunds_avoided=data["refunds_avoided"],
            time_to_first_value_days=data["time_to_first_value_days"],
            source=data["source"],
            owner=request_user(request),
            actor=request_user(request),
        )
        return Response(self.OutputSerializer(row).data)


# ------------------------------------------------------------------------------------------------ reads


class CoverageSerializer(serializers.Serializer):
    have = serializers.IntegerField()
    total = serializers.IntegerField()
    text = serializers.CharField()


class KpiSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    unit = serializers.CharField(source="meta.unit")
    value = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(allow_null=True)
    trend = serializers.ChoiceField(choices=["good", "bad", "flat", "none"])
    display = serializers.CharField()
    definition = serializers.CharField()
    coverage = CoverageSerializer()


class RiskSerializer(serializers.Serializer):
    model = serializers.CharField(source="model_name")
    team = serializers.CharField()
    tier = serializers.CharField()
    open_incidents = serializers.IntegerField()
    overdue_reviews = serializers.IntegerField()
    score = serializers.IntegerField()


class KpiApi(APIView):
    class OutputSerializer(serializers.Serializer):
        month = serializers.CharField()
        models_total = serializers.IntegerField()
        narrative = serializers.CharField()
        kpis = KpiSerializer(many=True)
        top_risks = RiskSerializer(many=True)

        class Meta:
            ref_name = "MonthlyKpis"

    @extend_schema(
        tags=[TAG],
        operation_id="reports_kpis",
        parameters=[OpenApiParameter("month", str, required=True, description="YYYY-MM")],
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        month = _month(request.query_params.get("month", ""))
        data = selectors.report_data(month=month)
        body = {
            "month": str(month),
            "models_total": data.models_total,
            "narrative": data.narrative,
            "kpis": data.kpi_list(),
            "top_risks": data.top_risks,
        }
        return Response(self.OutputSerializer(body).data)


class CashFlowSerializer(serializers.Serializer):
    month = serializers.IntegerField()
    cost = serializers.FloatField()
    benefit = serializers.FloatField()
    net = serializers.FloatField()
    cumulative = serializers.FloatField()


class HorizonSerializer(serializers.Serializer):
    months = serializers.IntegerField()
    total_cost = serializers.FloatField()
    total_benefit = serializers.FloatField()
    net_benefit = serializers.FloatField()
    roi_pct = serializers.FloatField(allow_null=True)
    payback_month = serializers.IntegerField(allow_null=True, help_text="null: not reached within 24 months")


class ScenarioSerializer(serializers.Serializer):
    name = serializers.CharField()
    cash_flow = CashFlowSerializer(many=True)
    summaries = HorizonSerializer(many=True)


class _AssumptionField(serializers.Field):
    """One ROI assumption, in the range reports.roi.ASSUMPTION_LIMITS gives it, with the page's messages."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        low, high = ASSUMPTION_LIMITS[name]
        super().__init__(min_value=low, max_value=high, required=False, **kwargs)  # type: ignore[call-arg]
        self.assumption = name

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        problem = assumption_value_error(self.assumption, value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class _FloatAssumption(_AssumptionField, serializers.FloatField):
    pass


class _IntegerAssumption(_AssumptionField, serializers.IntegerField):
    pass


def _assumption_fields() -> dict[str, serializers.Field]:
    return {
        name: (_IntegerAssumption if name == "ramp_months" else _FloatAssumption)(name)
        for name in RoiAssumptions.field_names()
    }


RoiAssumptionsSerializer = type(
    "RoiAssumptionsSerializer",
    (serializers.Serializer,),
    {**_assumption_fields(), "Meta": type("Meta", (), {"ref_name": "RoiAssumptions"})},
)


class RoiApi(APIView):
    """The ROI/TCO worksheet: defaults prefilled from the month's data, overridden by any given assumption."""

    class InputSerializer(serializers.Serializer):
        month = MonthField(required=False, help_text="Prefill defaults from this month's data (YYYY-MM).")
        assumptions = RoiAssumptionsSerializer(required=False)

        class Meta:
            ref_name = "RoiInput"

    class OutputSerializer(serializers.Serializer):
        assumptions = RoiAssumptionsSerializer()
        scenarios = ScenarioSerializer(many=True)

        class Meta:
            ref_name = "RoiWorksheet"

    @extend_schema(
        tags=[TAG], operation_id="reports_roi", request=InputSerializer, responses={200: OutputSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        month = serializer.validated_data.get("month")
        base = selectors.report_data(month=month).roi_defaults if month else RoiAssumptions()
        worksheet = roi_worksheet(base.with_changes(**serializer.validated_data.get("assumptions", {})))
        body = {
            "assumptions": worksheet.assumptions.as_dict(),
            "scenarios": [
                {"name": s.name, "cash_flow": s.cash_flow, "summaries": [s.summaries[h] for h in HORIZONS]}
                for s in worksheet.scenarios.values()
            ],
        }
        return Response(self.OutputSerializer(body).data)


class MonthlyReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.DateField()
    version = serializers.IntegerField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    page_count = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    generated_by = serializers.CharField()
    download_url = serializers.SerializerMethodField()

    def get_download_url(self, obj: MonthlyReport) -> str:
        return reverse("reports:download", kwargs={"pk": obj.pk})


class MonthlyReportListApi(APIView):
    @extend_schema(
        tags=[TAG], operation_id="reports_monthly_list", responses={200: MonthlyReportSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response(MonthlyReportSerializer(selectors.monthly_report_list()[:120], many=True).data)


class MonthlyReportGenerateApi(APIView):
    permission_classes = [CanEnterReportData]

    class InputSerializer(serializers.Serializer):
        month = MonthField()

        class Meta:
            ref_name = "MonthlyReportGenerateInput"

    @extend_schema(
        tags=[TAG],
        operation_id="reports_monthly_generate",
        request=InputSerializer,
        responses={201: MonthlyReportSerializer, **error_responses(409)},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.monthly_report_generate(
            month=serializer.validated_data["month"], actor=request_user(request)
        )
        return Response(MonthlyReportSerializer(report).data, status=status.HTTP_201_CREATED)
