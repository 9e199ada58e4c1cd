"""Maturity assessments: published questionnaire versions, teams, assessments and their answers.

A submitted assessment is an immutable snapshot: its scored result (claimed and verified level, roadmap) is
stored with it, and the services refuse every change to it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class QuestionnaireVersion(models.Model):
    """A published questionnaire definition; its content never changes once stored (new content = new version)."""

    version_id = models.CharField(max_length=128, unique=True, help_text="<definition id>-v<version>.")
    definition_id = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    digest = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of the content.")
    content = models.JSONField(help_text="The validated definition, so old assessments keep their questions.")
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["definition_id", "-version"]

    def __str__(self) -> str:
        return self.version_id


class Team(models.Model):
    """A team that assesses itself; its models are those whose MLflow tag `team` equals its name."""

    name = models.CharField(max_length=128, unique=True)
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssessmentState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class Assessment(models.Model):
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="assessments")
    questionnaire = models.ForeignKey(
        QuestionnaireVersion, on_delete=models.PROTECT, related_name="assessments"
    )
    profile = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=32, blank=True, default="")
    state = models.CharField(max_length=16, choices=AssessmentState.choices, default=AssessmentState.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    level = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Claimed level at submission.")
    verified_level = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="The scored snapshot stored at submission.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "state", "-submitted_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(state="draft"), name="uniq_draft_assessment_per_team"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} assessment #{self.pk} ({self.state})"

    @property
    def is_submitted(self) -> bool:
        return self.state == AssessmentState.SUBMITTED


class AnswerValue(models.TextChoices):
    NO = "no", "No"
    PARTIAL = "partial", "Partial (manual or documented)"
    YES = "yes", "Yes (automated or enforced)"
    NA = "na", "Not applicable"


class Answer(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers")
    question_id = models.CharField(max_length=128)
    value = models.CharField(max_length=8, choices=AnswerValue.choices)
    na_reason = models.TextField(blank=True, default="")
    note = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["question_id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "question_id"], name="uniq_answer_per_question"),
            models.CheckConstraint(
                condition=~models.Q(value="na") | ~models.Q(na_reason=""), name="answer_na_needs_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}={self.value}"
