"""Forms of the approval workflow pages: queue filters, approval actions, sign-offs, the intended-use profile
and RACI. They validate shape only; the services decide whether an action is allowed."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet

from governance.models import ApprovalState, RaciRole, RiskTier, TargetStage
from governance.selectors import QUEUE_DEFAULT_STATES

DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")
MAX_EVIDENCE = 50


class WorkflowForm(forms.Form):
    """House rendering (templates/governance/_form_field.html): no colon after labels, required marked."""

    required_css_class = "required"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# ------------------------------------------------------------------------------------------------ queue

OPEN = "open"
ANY = "any"
WAITING_BUCKETS = {"2d": 2, "7d": 7}


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(
        required=False,
        choices=[
            (OPEN, "Open"),
            (ANY, "Any state"),
            *ApprovalState.choices,
        ],
    )
    risk_tier = forms.ChoiceField(required=False, choices=[("", "Any tier"), *RiskTier.choices])
    team = forms.ChoiceField(required=False)
    waiting = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any time"),
            *((key, f"More than {days} days") for key, days in WAITING_BUCKETS.items()),
        ],
        help_text="Time since the request was submitted.",
    )

    def __init__(self, *args: Any, team_names: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ChoiceField)
        team_field.choices = [("", "Any team"), *((name, name) for name in team_names)]

    def states(self) -> Sequence[str]:
        value = self.cleaned_data.get("state") or OPEN
        if value == ANY:
            return ApprovalState.values
        if value == OPEN:
            return QUEUE_DEFAULT_STATES
        return [value]

    def waiting_over(self) -> timedelta | None:
        days = WAITING_BUCKETS.get(self.cleaned_data.get("waiting") or "")
        return timedelta(days=days) if days else None


# ------------------------------------------------------------------------------------------------ approvals


class ApprovalCreateForm(WorkflowForm):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    target = forms.ChoiceField(
        choices=TargetStage.choices,
        initial=TargetStage.PRODUCTION,
        help_text="Where the version should be deployed once approved.",
    )


class ApproveForm(WorkflowForm):
    comment = forms.CharField(
        required=False,
        max_length=4000,
        label="Approval comment",
        help_text="Optional: what the decision relied on.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RejectForm(WorkflowForm):
    # Not required here: the service owns the rule and its message; the browser is asked to check first.
    comment = forms.CharField(
        required=False,
        max_length=4000,
        label="Reason for rejection (required)",
        help_text="Why the request is rejected; the owner sees it.",
        widget=forms.Textarea(attrs={"rows": 3, "required": True}),
    )


def _evidence_digests(value: str) -> list[str]:
    digests = [item.strip().lower() for item in re.split(r"[\s,]+", value) if item.strip()]
    bad = [item for item in digests if not DIGEST_RE.match(item)]
    if bad:
        raise forms.ValidationError(
            "Each digest must be 64 hexadecimal characters (a SHA-256); not: %(bad)s.",
            params={"bad": ", ".join(item[:20] for item in bad[:3])},
            code="digest",
        )
    if len(digests) > MAX_EVIDENCE:
        raise forms.ValidationError(f"At most {MAX_EVIDENCE} digests.", code="too_many")
    return list(dict.fromkeys(digests))


class SignOffForm(WorkflowForm):
    role = forms.ChoiceField(help_text="Only roles you hold and have not yet signed for this version.")
    comment = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you reviewed and concluded.",
    )
    evidence = forms.CharField(
        required=False,
        label="Evidence digests",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "class": "mono"}),
        help_text="Optional: SHA-256 digests of the documents you reviewed, one per line or comma-separated.",
    )

    def __init__(self, *args: Any, role_choices: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = list(role_choices)
        if len(role_choices) == 1:
            role_field.initial = role_choices[0][0]

    def clean_evidence(self) -> list[str]:
        return _evidence_digests(self.cleaned_data["evidence"])


# ------------------------------------------------------------------------------------------------ RACI


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.username})" if full_name else str(obj.username)


class RaciAssignForm(WorkflowForm):
    """A RACI role for a person or for a group (exactly one); a group counts for each of its members."""

    role = forms.ChoiceField(choices=RaciRole.choices, label="RACI role")
    user = PersonChoiceField(
        queryset=User.objects.none(),
        label="Person",
        to_field_name="username",
        empty_label="Choose a person…",
        required=False,
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.none(),
        label="Or a group",
        to_field_name="name",
        empty_label="Choose a group…",
        required=False,
    )

    def __init__(self, *args: Any, users: QuerySet[User], groups: QuerySet[Group], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user_field = self.fields["user"]
        group_field = self.fields["group"]
        assert isinstance(user_field, PersonChoiceField)
        assert isinstance(group_field, forms.ModelChoiceField)
        user_field.queryset = users
        group_field.queryset = groups

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        has_user = cleaned.get("user") is not None
        has_group = cleaned.get("group") is not None
        if has_user and has_group:
            raise forms.ValidationError("Choose a person or a group, not both.", code="both")
        if not has_user and not has_group and not self.has_error("user") and not self.has_error("group"):
            raise forms.ValidationError("Choose a person or a group.", code="neither")
        return cleaned


# ------------------------------------------------------------------------------------------------ intended use

YES_NO = [("true", "Yes"), ("false", "No")]

# Question and help text per profile field; choices come from the policy's profile_schema.
PROFILE_QUESTIONS: dict[str, tuple[str, str]] = {
    "domain": (
        "Business domain",
        "What the model is used for, in a few words, e.g. consumer lending or claims triage.",
    ),
    "sectors": (
        "Sectors",
        "Every sector the model's outputs touch. Where the EU AI Act applies, the Annex III sectors "
        "(biometric, critical infrastructure, education, employment, credit, insurance, law enforcement, "
        "migration) make the model high risk. Choose None if no listed sector applies.",
    ),
    "decision_impact": (
        "Decision impact",
        "How much the output affects people: none; advisory (informs a person who decides); significant "
        "(shapes an outcome for someone); legal or similar effect (e.g. grants or refuses credit, a job, "
        "a benefit).",
    ),
    "autonomy": (
        "Autonomy",
        "Human in the loop: a person decides every case. Human on the loop: a person supervises and can "
        "step in. Fully automated: nobody reviews individual outcomes.",
    ),
    "personal_data": (
        "Personal data",
        "Does the model process data about identifiable people (personal data under the GDPR)?",
    ),
    "special_category_data": (
        "Special category data",
        "Health, biometric or genetic data, racial or ethnic origin, political opinions, religion, trade "
        "union membership, sex life or sexual orientation (GDPR Art. 9).",
    ),
    "phi": ("Protected health information (PHI)", "Health information covered by HIPAA."),
    "jurisdictions": (
        "Jurisdictions",
        "Where the model is used or affects people: comma-separated codes, e.g. EU, US, UK.",
    ),
    "data_residency": (
        "Data residency",
        "Where the data is stored: comma-separated codes, e.g. EU, EEA, US. For EU personal data, EU or "
        "EEA storage avoids a residency finding.",
    ),
    "users_affected": (
        "People affected",
        "Approximately how many people the model's outputs affect.",
    ),
    "prohibited_practice": (
        "Prohibited practice",
        "Is the use a prohibited practice under EU AI Act Art. 5 (e.g. social scoring, manipulative "
        "techniques, untargeted scraping of facial images)? The platform never deploys such a model.",
    ),
    "interacts_with_people": (
        "Interacts with people",
        "Do people interact with the system directly, e.g. a chatbot? (EU AI Act Art. 50 transparency.)",
    ),
    "generates_content": (
        "Generates content",
        "Does the system generate synthetic text, images, audio or video? (EU AI Act Art. 50.)",
    ),
    "safety_component": (
        "Safety component",
        "Is the model a safety component of a product under EU AI Act Annex I legislation, e.g. a "
        "medical device? Leave unanswered if unsure.",
    ),
}

CHOICE_LABELS = {
    "none": "None",
    "advisory": "Advisory",
    "significant": "Significant",
    "legal_or_similar": "Legal or similar effect",
    "human_in_loop": "Human in the loop",
    "human_on_loop": "Human on the loop",
    "fully_automated": "Fully automated",
}


def _choice_label(value: str) -> str:
    return CHOICE_LABELS.get(value, value.replace("_", " ").capitalize())


def _codes(value: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    bad = [item for item in items if not CODE_RE.match(item.upper())]
    codes = [item.upper() for item in items]
    if bad:
        raise forms.ValidationError(
            "Use short codes of letters, digits and hyphens, e.g. EU, US, US-CA; not: %(bad)s.",
            params={"bad": ", ".join(bad[:3])},
            code="code",
        )
    return list(dict.fromkeys(codes))


class CodeListField(forms.CharField):
    """Comma-separated jurisdiction codes, upper-cased (the policy compares them exactly)."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return _codes(super().to_python(value) or "")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


def _profile_field(name: str, spec: Mapping[str, Any], *, large_user_base: int | None) -> forms.Field:
    label, help_text = PROFILE_QUESTIONS.get(name, (name.replace("_", " ").capitalize(), ""))
    help_text = help_text or str(spec.get("expected", ""))
    required = bool(spec.get("required", False))
    kind = spec.get("type")
    values = [str(value) for value in spec.get("values", [])]
    if kind == "enum_array":
        return forms.MultipleChoiceField(
            label=label,
            help_text=help_text,
            required=required,
            choices=[(value, _choice_label(value)) for value in values],
            widget=forms.CheckboxSelectMultiple,
        )
    if kind == "enum":
        return forms.ChoiceField(
            label=label,
            help_text=help_text,
            required=required,
            choices=[("", "Choose…"), *((value, _choice_label(value)) for value in values)],
        )
    if kind == "boolean":
        return forms.TypedChoiceField(
            label=label,
            help_text=help_text,
            required=required,
            choices=YES_NO if required else [*YES_NO, ("", "Not answered")],
            coerce=lambda value: value == "true",
            empty_value=None,
            widget=forms.RadioSelect,
        )
    if kind == "string_array":
        return CodeListField(label=label, help_text=help_text, required=required, max_length=300)
    if kind == "count":
        if name == "users_affected" and large_user_base:
            help_text = f"{help_text} {large_user_base:,} or more makes the model at least limited risk."
        return forms.IntegerField(
            label=label, help_text=help_text, required=required, min_value=0, max_value=10**12
        )
    return forms.CharField(label=label, help_text=help_text, required=required, max_length=300)


def _initial_value(value: Any, spec: Mapping[str, Any]) -> Any:
    if spec.get("type") == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    return value


class IntendedUseForm(WorkflowForm):
    """One field per question of the risk policy's profile schema, in the schema's order."""

    def __init__(
        self,
        *args: Any,
        schema: Mapping[str, Mapping[str, Any]],
        profile: Mapping[str, Any],
        large_user_base: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["initial"] = {
            **{name: _initial_value(profile[name], spec) for name, spec in schema.items() if name in profile},
            **(kwargs.get("initial") or {}),
        }
        super().__init__(*args, **kwargs)
        self.schema = schema
        for name, spec in schema.items():
            self.fields[name] = _profile_field(name, spec, large_user_base=large_user_base)

    def profile(self) -> dict[str, Any]:
        """The profile to store: every answered field (an unanswered optional question is left out)."""
        return {name: value for name, value in self.cleaned_data.items() if value is not None}
