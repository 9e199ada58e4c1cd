"""Output shapes shared by several inventory API views (a model version with its run, an alias, a dataset).

Views nest their own InputSerializer/OutputSerializer and compose these; they only read.
"""

from __future__ import annotations

from rest_framework import serializers

from registry_sync.models import MirrorState, ModelVersion


class DatasetOutputSerializer(serializers.Serializer):
    name = serializers.CharField(default="")
    digest = serializers.CharField(default="")
    source_type = serializers.CharField(default="")
    # The stubs type Field.source/.context as attributes; DRF's metaclass turns these into fields.
    source = serializers.CharField(default="")  # type: ignore[assignment]
    context = serializers.CharField(  # type: ignore[assignment]
        default="", help_text="MLflow dataset context, e.g. training, eval."
    )

    class Meta:
        ref_name = "Dataset"


class RunOutputSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    experiment_id = serializers.CharField()
    run_name = serializers.CharField()
    status = serializers.CharField()
    user_id = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    params = serializers.DictField(child=serializers.CharField())
    metrics = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Latest value of each metric key."
    )
    bias_metrics = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="The metrics whose key starts with `bias.` or `fairness.`.",
    )
    tags = serializers.DictField(child=serializers.CharField())
    datasets = DatasetOutputSerializer(many=True)

    class Meta:
        ref_name = "Run"


class ModelAliasOutputSerializer(serializers.Serializer):
    alias = serializers.CharField()
    version = serializers.IntegerField(source="model_version.version")

    class Meta:
        ref_name = "ModelAlias"


class ModelVersionOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=MirrorState.choices)
    mlflow_status = serializers.CharField()
    status_message = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field, see DatasetOutputSerializer
    user_id = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    aliases = serializers.SerializerMethodField(help_text="Aliases pointing at this version.")
    run_id = serializers.CharField(source="mlflow_run_id")
    run = RunOutputSerializer(allow_null=True, help_text="Null when the run has not been mirrored.")
    mlflow_created_at = serializers.DateTimeField(allow_null=True)
    mlflow_updated_at = serializers.DateTimeField(allow_null=True)
    archived_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "ModelVersion"

    def get_aliases(self, model_version: ModelVersion) -> list[str]:
        return [alias.alias for alias in model_version.aliases.all()]
