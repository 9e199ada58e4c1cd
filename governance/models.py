"""Governance records. For now: the append-only, hash-chained audit trail every state change writes to."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditChainHead(models.Model):
    """Singleton row locked while appending, so concurrent writers extend the chain one at a time."""

    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    prev_hash = models.CharField(
        max_length=64,
        default="0" * 64,
        help_text="The hash before last_hash (returned by the append statement).",
    )

    def __str__(self) -> str:
        return f"audit head #{self.last_sequence}"


class AuditEvent(models.Model):
    """One audit fact. hash = sha256(prev_hash + canonical JSON of the event); rows are never changed."""

    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=256, help_text="Username, or system:<component> for automation.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=128)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=128, blank=True, default="")
    object_repr = models.CharField(max_length=300, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(
        max_length=128, blank=True, default="", help_text="X-Request-ID of the request."
    )
    prev_hash = models.CharField(max_length=64)
    # Unique by a constraint rather than unique=True, which on PostgreSQL adds a second (LIKE-pattern) index that
    # no query of a hex digest uses, and every append would maintain.
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["action", "occurred_at"]),
        ]
        constraints = [models.UniqueConstraint(fields=["hash"], name="governance_auditevent_hash_unique")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_repr}"


class RiskTier(models.TextChoices):
    MINIMAL = "minimal", "Minimal"
    LIMITED = "limited", "Limited"
    HIGH = "high", "High"
    UNACCEPTABLE = "unacceptable", "Unacceptable"
    UNASSESSED = "unassessed", "Unassessed"


class TargetStage(models.TextChoices):
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class ModelGovernance(models.Model):
    """Governance record of one registered model: intended use, risk tier and committee settings."""

    registered_model = models.OneToOneField(
        "registry_sync.RegisteredModel", on_delete=models.PROTECT, related_name="governance"
    )
    team = models.CharField(max_length=128, blank=True, default="")
    intended_use = models.JSONField(
        default=dict, blank=True, help_text="Intended-use profile (risk policy input)."
    )
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, default=RiskTier.UNASSESSED)
    risk_reasons = models.JSONField(default=list, blank=True)
    risk_assessed_at = models.DateTimeField(null=True, blank=True)
    risk_bundle_digest = models.CharField(max_length=64, blank=True, default="")
    committee_quorum = models.PositiveSmallIntegerField(default=2)
    override_tier = models.CharField(max_length=16, choices=RiskTier.choices, blank=True, default="")
    override_justification = models.TextField(blank=True, default="")
    override_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    override_approved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"governance of {self.registered_model_id}"

    @property
    def override_pending(self) -> bool:
        return bool(self.override_tier) and self.override_approved_by_id is None

    @property
    def effective_tier(self) -> str:
        """The tier the gate applies: an approved manual override wins over the computed tier."""
        if self.override_tier and self.override_approved_by_id is not None:
            return self.override_tier
        return self.risk_tier


class RaciRole(models.TextChoices):
    RESPONSIBLE = "responsible", "Responsible"
    ACCOUNTABLE = "accountable", "Accountable"
    CONSULTED = "consulted", "Consulted"
    INFORMED = "informed", "Informed"


class RaciAssignment(models.Model):
    registered_model = models.ForeignKey(
        "registry_sync.RegisteredModel", on_delete=models.CASCADE, related_name="raci"
    )
    role = models.CharField(max_length=16, choices=RaciRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="raci_assignments",
        null=True,
        blank=True,
    )
    # A group entry counts for each of the group's members.
    group = models.ForeignKey(
        "auth.Group", on_delete=models.PROTECT, related_name="raci_assignments", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registered_model", "role", "user"], name="uniq_raci_assignment"),
            models.UniqueConstraint(
                fields=["registered_model", "role", "group"], name="uniq_raci_group_assignment"
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="raci_user_xor_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: group {self.group_id}" if self.group_id else f"{self.role}: {self.user_id}"


class SignOffRole(models.TextChoices):
    OWNER = "owner", "Model owner"
    VALIDATOR = "validator", "Validator"
    COMPLIANCE = "compliance", "Compliance"
    COMMITTEE = "committee", "Committee member"


class SignOff(models.Model):
    """A sign-off on one model version for one target; only valid ones reach the policy."""

    model_version = models.ForeignKey(
        "registry_sync.ModelVersion", on_delete=models.PROTECT, related_name="signoffs"
    )
    target_stage = models.CharField(max_length=16, choices=TargetStage.choices)
    role = models.CharField(max_length=16, choices=SignOffRole.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs")
    comment = models.TextField(blank=True, default="")
    evidence = models.JSONField(
        default=list, blank=True, help_text="Digests of the evidence that was reviewed."
    )
    valid = models.BooleanField(default=True)
    invalidated_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "target_stage", "role", "user"],
                condition=models.Q(valid=True),
                name="uniq_valid_signoff",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} sign-off by {self.user_id} on {self.model_version_id}"


class ApiKey(models.Model):
    """A CI credential: stored as a SHA-256 of a high-entropy secret, scoped and revocable."""

    class Scope(models.TextChoices):
        EVALUATE = "evaluate", "Evaluate gates"
        PROMOTE = "promote", "Promote (set MLflow aliases)"

    name = models.CharField(max_length=128)
    project = models.CharField(max_length=128, blank=True, default="")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_keys",
        help_text="Acts as this user.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class GateDecision(models.Model):
    """One evaluation of the deployment gate, with everything needed to re-check it later."""

    id = models.UUIDField(primary_key=True, editable=False)
    # No index of its own: both composite indexes below lead with it.
    model_version = models.ForeignKey(
        "registry_sync.ModelVersion", on_delete=models.PROTECT, related_name="gate_decisions", db_index=False
    )
    target_stage = models.CharField(max_length=16, choices=TargetStage.choices)
    allow = models.BooleanField()
    risk_tier = models.CharField(max_length=16)
    reasons = models.JSONField(default=list)
    required_signoffs = models.JSONField(default=list)
    auto_deploy = models.BooleanField(default=False)
    input_document = models.JSONField()
    input_digest = models.CharField(max_length=64)
    bundle_digest = models.CharField(max_length=64, blank=True, default="")
    engine = models.CharField(max_length=16)
    engine_error = models.CharField(max_length=300, blank=True, default="")
    latency_ms = models.FloatField()
    caller = models.CharField(max_length=256)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    evaluated_at = models.DateTimeField()
    signed_document = models.JSONField(help_text="The exact document the signature covers.")
    signature = models.CharField(max_length=128)
    key_id = models.CharField(max_length=32)

    class Meta:
        ordering = ["-evaluated_at"]
        indexes = [
            models.Index(fields=["model_version", "-evaluated_at"]),
            models.Index(fields=["evaluated_at"]),
            # The latest decision per version and target (review queue, approval page): one probe, no sort.
            models.Index(fields=["model_version", "target_stage", "-evaluated_at", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{'allow' if self.allow else 'deny'} {self.model_version_id} → {self.target_stage}"


class Deployment(models.Model):
    """A promotion the platform performed: it set the target's alias in MLflow after an allowing decision."""

    gate_decision = models.OneToOneField(GateDecision, on_delete=models.PROTECT, related_name="deployment")
    model_version = models.ForeignKey(
        "registry_sync.ModelVersion", on_delete=models.PROTECT, related_name="deployments"
    )
    target_stage = models.CharField(max_length=16, choices=TargetStage.choices)
    alias = models.CharField(max_length=256)
    previous_version = models.PositiveIntegerField(null=True, blank=True)
    deployed_by = models.CharField(max_length=256)
    deployed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-deployed_at"]

    def __str__(self) -> str:
        return f"{self.model_version_id} @{self.alias}"


class ApprovalState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    DEPLOYED = "deployed", "Deployed"
    RETIRED = "retired", "Retired"


OPEN_APPROVAL_STATES = [
    ApprovalState.DRAFT,
    ApprovalState.SUBMITTED,
    ApprovalState.IN_REVIEW,
    ApprovalState.APPROVED,
]


class ApprovalRequest(models.Model):
    """A request to deploy one model version to one target, reviewed by the committee."""

    model_version = models.ForeignKey(
        "registry_sync.ModelVersion", on_delete=models.PROTECT, related_name="approval_requests"
    )
    target_stage = models.CharField(max_length=16, choices=TargetStage.choices)
    state = models.CharField(max_length=16, choices=ApprovalState.choices, default=ApprovalState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, default="")
    gate_decision = models.ForeignKey(
        GateDecision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "target_stage"],
                condition=models.Q(state__in=["draft", "submitted", "in_review", "approved"]),
                name="uniq_open_approval_request",
            )
        ]
        indexes = [models.Index(fields=["state", "-created_at"])]

    def __str__(self) -> str:
        return f"approval #{self.pk} {self.model_version_id} → {self.target_stage} ({self.state})"


class EvidenceKind(models.TextChoices):
    VALIDATION_REPORT = "validation_report", "Validation report"
    MODEL_CARD = "model_card", "Model card"
    COMPLIANCE_MEMO = "compliance_memo", "Compliance memo"
    BIAS_REPORT = "bias_report", "Bias report"
    OTHER = "other", "Other"


class EvidenceDocument(models.Model):
    """An uploaded document reviewers rely on; identified by its SHA-256, which sign-offs cite."""

    model_version = models.ForeignKey(
        "registry_sync.ModelVersion", on_delete=models.PROTECT, related_name="evidence_documents"
    )
    kind = models.CharField(max_length=32, choices=EvidenceKind.choices)
    file = models.FileField(upload_to="evidence/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename} ({self.sha256[:12]})"


class Comment(models.Model):
    approval_request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"comment by {self.author_id} on #{self.approval_request_id}"
