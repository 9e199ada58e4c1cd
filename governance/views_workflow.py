"""Pages of the approval workflow: the review queue, the approval page (actions, sign-offs, gate history,
timeline), and the model page's owner forms (request approval, intended use, RACI).

Views read through selectors and change state only through services; a refused action (GateError) is shown
as an error message on the page, never as a server error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import Group, User
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property
from django.views.generic import FormView, ListView, TemplateView, View

from config.errors import ServiceError
from governance import selectors
from governance.forms import (
    ApprovalCreateForm,
    ApproveForm,
    IntendedUseForm,
    QueueFilterForm,
    RaciAssignForm,
    RejectForm,
    SignOffForm,
)
from governance.lineage import model_version_lineage
from governance.lineage_svg import lineage_graph
from governance.models import ApprovalRequest, RaciRole, RiskTier, SignOff
from governance.permissions import (
    NOT_MODEL_STEWARD,
    ModelAction,
    model_action_allowed,
    model_action_refusal,
    model_stewardship_for_roles,
    stewardship_from_assignments,
    user_role_names,
)
from governance.services import approvals
from governance.services.gate import gate_evaluate
from governance.services.records import intended_use_set, raci_assign, signoff_record
from governance.views import PAGE_SIZE, ModelDetailView, SyncBannerMixin, VersionPanel, _is_htmx_partial
from registry_sync.models import ModelVersion, RegisteredModel

DECISION_HISTORY_SIZE = 20


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User), "LoginRequiredMixin runs first"
    return user


class ModelPermissionMixin:
    """404 for an unknown model, 403 (with the reason) unless the user may do `model_action` on it
    (governance.permissions); runs after LoginRequiredMixin sent anonymous users away."""

    model_action: ModelAction

    @cached_property
    def model(self) -> RegisteredModel:
        kwargs: dict[str, Any] = self.kwargs  # type: ignore[attr-defined]
        try:
            return selectors.registered_model_with_governance(name=kwargs["name"])
        except RegisteredModel.DoesNotExist as exc:
            raise Http404("No registered model with that name.") from exc

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        role_names = user_role_names(user=request.user)
        refusal = model_action_refusal(
            action=self.model_action,
            role_names=role_names,
            stewardship=model_stewardship_for_roles(
                user=request.user, role_names=role_names, registered_model_id=self.model.pk
            ),
            model_name=self.model.name,
        )
        if refusal is not None:
            raise PermissionDenied(refusal.message)
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


def _model_url(name: str, anchor: str = "") -> str:
    url = reverse("governance:model-detail", kwargs={"name": name})
    return f"{url}#{anchor}" if anchor else url


def _approval_url(pk: int) -> str:
    return reverse("governance:approval-detail", kwargs={"pk": pk})


# ------------------------------------------------------------------------------------------------ queue


class ApprovalQueueView(LoginRequiredMixin, SyncBannerMixin, ListView):
    template_name = "governance/approval_queue.html"
    paginate_by = PAGE_SIZE
    context_object_name = "approvals"

    def get_queryset(self) -> QuerySet[ApprovalRequest]:
        self.filter_form = QueueFilterForm(
            self.request.GET or None, team_names=selectors.approval_request_team_names()
        )
        if self.filter_form.is_bound:
            self.filter_form.is_valid()  # invalid fields are reported and left out; the valid ones apply
        cleaned = self.filter_form.cleaned_data if self.filter_form.is_bound else {}
        self.is_filtered = any(cleaned.get(key) for key in ("risk_tier", "team", "waiting")) or (
            cleaned.get("state") not in (None, "", "open")
        )
        return selectors.approval_request_queue(
            states=self.filter_form.states() if self.filter_form.is_bound else selectors.QUEUE_DEFAULT_STATES,
            risk_tier=cleaned.get("risk_tier") or "",
            team=cleaned.get("team") or "",
            waiting_over=self.filter_form.waiting_over() if self.filter_form.is_bound else None,
        )

    def get_template_names(self) -> list[str]:
        if _is_htmx_partial(self.request):
            return ["governance/_approval_queue_table.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            filter_form=self.filter_form,
            is_filtered=self.is_filtered,
            open_states=selectors.QUEUE_DEFAULT_STATES,
        )
        return context

    def render_to_response(self, context: dict[str, Any], **response_kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **response_kwargs)
        patch_vary_headers(response, ["HX-Request"])
        return response


# ------------------------------------------------------------------------------------------------ approval page

Transition = Callable[[ApprovalRequest, User, str], ApprovalRequest]

TRANSITIONS: dict[str, tuple[Transition, str]] = {
    "submit": (
        lambda a, u, c: approvals.approval_request_submit(request=a, actor=u),
        "Submitted for review.",
    ),
    "start_review": (
        lambda a, u, c: approvals.approval_request_start_review(request=a, actor=u),
        "Review started: you are the reviewer.",
    ),
    "approve": (
        lambda a, u, c: approvals.approval_request_approve(request=a, actor=u, comment=c),
        "Approved: the gate allowed this deployment.",
    ),
    "reject": (
        lambda a, u, c: approvals.approval_request_reject(request=a, actor=u, comment=c),
        "Rejected.",
    ),
    "withdraw": (
        lambda a, u, c: approvals.approval_request_withdraw(request=a, actor=u),
        "Withdrawn.",
    ),
    "retire": (
        lambda a, u, c: approvals.approval_request_retire(request=a, actor=u),
        "Retired.",
    ),
}
COMMENT_FORMS: dict[str, type[ApproveForm | RejectForm]] = {"approve": ApproveForm, "reject": RejectForm}


class ApprovalDetailView(LoginRequiredMixin, SyncBannerMixin, TemplateView):
    """GET shows the request; POST (field `action`) performs one action through its service. Success
    redirects back here; a refusal re-renders the page with the message and the typed comment kept."""

    template_name = "governance/approval_detail.html"

    def _approval(self) -> ApprovalRequest:
        try:
            return selectors.approval_request_detail(pk=self.kwargs["pk"])
        except ApprovalRequest.DoesNotExist as exc:
            raise Http404("No approval request with that id.") from exc

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        approval: ApprovalRequest = kwargs.get("approval") or self._approval()
        version = approval.model_version
        model = version.registered_model
        signoffs = list(selectors.signoff_list(model_version_id=version.pk, target=approval.target_stage))
        decisions = list(
            selectors.gate_decision_history(model_version_id=version.pk, target=approval.target_stage)[
                : DECISION_HISTORY_SIZE + 1
            ]
        )
        actions = self._actions(approval, signoffs)
        tier = selectors.model_effective_risk_tier(model=model)
        thresholds = selectors.bias_thresholds_for_tier(risk_tier=tier)
        run = version.run
        context.update(
            approval=approval,
            version=version,
            model=model,
            governance=getattr(model, "governance", None),
            risk_tier=tier,
            actions=actions,
            approve_form=kwargs.get("approve_form") or ApproveForm(prefix="approve"),
            reject_form=kwargs.get("reject_form") or RejectForm(prefix="reject"),
            signoff_form=kwargs.get("signoff_form")
            or SignOffForm(prefix="signoff", role_choices=actions.signoff_roles),
            signoffs=signoffs,
            latest_decision=decisions[0] if decisions else None,
            decisions=decisions[:DECISION_HISTORY_SIZE],
            more_decisions=len(decisions) > DECISION_HISTORY_SIZE,
            has_run=run is not None,
            bias_metrics=run.bias_metrics if run else {},
            bias_checks=selectors.bias_metric_checks(metrics=run.bias_metrics, thresholds=thresholds)
            if run
            else [],
            bias_threshold_tier=thresholds.tier,
            timeline=selectors.approval_request_timeline(approval=approval),
        )
        return context

    def _actions(
        self, approval: ApprovalRequest, signoffs: list[SignOff] | None = None
    ) -> selectors.ApprovalActions:
        user = _user(self.request)
        role_names = user_role_names(user=user)
        return selectors.approval_request_available_actions(
            approval=approval,
            user=user,
            role_names=role_names,
            stewardship=model_stewardship_for_roles(
                user=user,
                role_names=role_names,
                registered_model_id=approval.model_version.registered_model_id,
            ),
            signoffs=signoffs or (),
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        approval = self._approval()
        action = request.POST.get("action", "")
        if action in TRANSITIONS:
            return self._transition(approval, action)
        if action == "signoff":
            return self._signoff(approval)
        if action == "check_gate":
            return self._check_gate(approval)
        messages.error(request, f"Unknown action {action[:40]!r}.")
        return HttpResponseRedirect(_approval_url(approval.pk))

    def _refused(self, approval: ApprovalRequest, message: str, **forms: Any) -> HttpResponse:
        messages.error(self.request, message)
        # Re-read: a concurrent change may be why the action was refused, and the page must show it.
        return self.render_to_response(self.get_context_data(approval=self._approval(), **forms))

    def _transition(self, approval: ApprovalRequest, action: str) -> HttpResponse:
        perform, done = TRANSITIONS[action]
        comment = ""
        forms: dict[str, ApproveForm | RejectForm] = {}
        if action in COMMENT_FORMS:
            form = COMMENT_FORMS[action](self.request.POST, prefix=action)
            forms[f"{action}_form"] = form
            if not form.is_valid():
                return self._refused(approval, "Check the comment.", **forms)
            comment = form.cleaned_data["comment"]
        try:
            perform(approval, _user(self.request), comment)
        except ServiceError as exc:
            return self._refused(approval, exc.message, **forms)
        messages.success(self.request, done)
        return HttpResponseRedirect(_approval_url(approval.pk))

    def _signoff(self, approval: ApprovalRequest) -> HttpResponse:
        user = _user(self.request)
        signoffs = list(
            selectors.signoff_list(model_version_id=approval.model_version_id, target=approval.target_stage)
        )
        actions = self._actions(approval, signoffs)
        form = SignOffForm(self.request.POST, prefix="signoff", role_choices=actions.signoff_roles)
        if approval.state not in selectors.SIGNOFF_STATES:
            return self._refused(
                approval,
                f"Sign-offs are taken while a request is submitted or in review, not "
                f"{approval.get_state_display().lower()}.",
            )
        if not form.is_valid():
            message = (
                "Choose a sign-off role you hold." if "role" in form.errors else "Check the sign-off form."
            )
            return self._refused(approval, message, signoff_form=form)
        try:
            signoff = signoff_record(
                model_version=approval.model_version,
                target=approval.target_stage,
                role=form.cleaned_data["role"],
                user=user,
                comment=form.cleaned_data["comment"],
                evidence=form.cleaned_data["evidence"],
            )
        except ServiceError as exc:
            return self._refused(approval, exc.message, signoff_form=form)
        messages.success(self.request, f"Signed off as {signoff.get_role_display().lower()}.")
        return HttpResponseRedirect(_approval_url(approval.pk))

    def _check_gate(self, approval: ApprovalRequest) -> HttpResponse:
        user = _user(self.request)
        actions = self._actions(approval)
        if not actions.check_gate:
            return self._refused(
                approval,
                "Checking the gate needs a reviewer, owner or committee role, on a request that is "
                "submitted, in review or approved.",
            )
        version = approval.model_version
        try:
            decision = gate_evaluate(
                model_name=version.registered_model.name,
                version=version.version,
                target=approval.target_stage,
                caller=user,
            )
        except ServiceError as exc:
            return self._refused(approval, exc.message)
        if decision.allow:
            messages.success(self.request, "The gate allows this deployment now.")
        else:
            codes = ", ".join(sorted({str(reason["code"]) for reason in decision.reasons}))
            messages.warning(self.request, f"The gate denies this deployment now ({codes}).")
        return HttpResponseRedirect(_approval_url(approval.pk))


# ------------------------------------------------------------------------------------------------ model page


@dataclass(frozen=True)
class WorkflowPanel(VersionPanel):
    """A version panel with its approval requests, newest first."""

    approval_requests: tuple[ApprovalRequest, ...] = ()


class ModelWorkflowDetailView(ModelDetailView):
    """The model page with the workflow forms: request approval per version, intended use, RACI."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        model: RegisteredModel = context["model"]
        role_names = user_role_names(user=self.request.user)
        by_version = selectors.approval_requests_by_version(registered_model_id=model.pk)
        context["panels"] = [
            WorkflowPanel(
                **{field.name: getattr(panel, field.name) for field in dataclasses.fields(panel)},
                approval_requests=tuple(by_version.get(panel.version.pk, ())),
            )
            for panel in context["panels"]
        ]
        # The RACI is prefetched with the model: the user's stewardship costs no query here.
        stewardship = stewardship_from_assignments(
            assignments=model.raci.all(), user=self.request.user, group_names=role_names
        )

        def may(action: ModelAction) -> bool:
            return model_action_allowed(action=action, role_names=role_names, stewardship=stewardship)

        can_assign_raci = may(ModelAction.EDIT_RACI)
        refusal = model_action_refusal(
            action=ModelAction.CREATE_APPROVAL,
            role_names=role_names,
            stewardship=stewardship,
            model_name=model.name,
        )
        context.update(
            can_request_approval=refusal is None,
            # Model owners are told why the owner's forms are missing; other roles never had them.
            stewardship_note=refusal.message if refusal and refusal.code == NOT_MODEL_STEWARD else "",
            can_edit_intended_use=may(ModelAction.EDIT_INTENDED_USE),
            can_assign_raci=can_assign_raci,
            approval_create_form=ApprovalCreateForm(),
            raci_form=(
                RaciAssignForm(users=selectors.user_list_active(), groups=selectors.group_list())
                if can_assign_raci
                else None
            ),
        )
        return context


def _version_or_404(name: str, version: int) -> ModelVersion:
    try:
        return selectors.model_version_detail(name=name, version=version)
    except ModelVersion.DoesNotExist as exc:
        raise Http404("No such model version.") from exc


class ModelVersionLineageView(LoginRequiredMixin, TemplateView):
    """The lineage graph of one version, an htmx fragment loaded when its section scrolls into view: the
    model page would otherwise run the lineage queries once per version."""

    template_name = "governance/_lineage.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        version = _version_or_404(kwargs["name"], kwargs["version"])
        context.update(
            model=version.registered_model,
            mv=version,
            graph=lineage_graph(lineage=model_version_lineage(model_version=version)),
        )
        return context


class ApprovalCreateView(LoginRequiredMixin, View):
    """POST from the model page: open a draft approval request for one version and target."""

    def post(self, request: HttpRequest, name: str) -> HttpResponse:
        form = ApprovalCreateForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a version and a target to request an approval.")
            return HttpResponseRedirect(_model_url(name))
        version = _version_or_404(name, form.cleaned_data["version"])
        try:
            created = approvals.approval_request_create(
                model_version=version, target=form.cleaned_data["target"], actor=_user(request)
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(_model_url(name, f"v{version.version}"))
        messages.success(
            request,
            f"Approval request #{created.pk} opened as a draft. Submit it when the evidence is ready.",
        )
        return HttpResponseRedirect(_approval_url(created.pk))


class RaciAssignView(LoginRequiredMixin, ModelPermissionMixin, View):
    """POST from the model page: add a person or a group to a RACI role (stewards, or anyone claiming an
    unclaimed model)."""

    model_action = ModelAction.EDIT_RACI

    def post(self, request: HttpRequest, name: str) -> HttpResponse:
        model = self.model
        form = RaciAssignForm(request.POST, users=selectors.user_list_active(), groups=selectors.group_list())
        if not form.is_valid():
            errors = "; ".join(
                " ".join(str(e) for e in errs)
                if field == NON_FIELD_ERRORS
                else f"{form[field].label}: {' '.join(str(e) for e in errs)}"
                for field, errs in form.errors.items()
            )
            messages.error(request, f"Nobody was assigned. {errors}")
            return HttpResponseRedirect(_model_url(name, "raci-title"))
        person: User | None = form.cleaned_data["user"]
        group: Group | None = form.cleaned_data["group"]
        try:
            raci_assign(
                registered_model=model,
                role=form.cleaned_data["role"],
                user=person,
                group=group,
                actor=_user(request),
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            assignee = (
                (person.get_full_name() or person.username)
                if person
                else f"Group {group.name if group else ''}"
            )
            messages.success(
                request, f"{assignee} is {RaciRole(form.cleaned_data['role']).label} for {model.name}."
            )
        return HttpResponseRedirect(_model_url(name, "raci-title"))


class IntendedUseView(LoginRequiredMixin, ModelPermissionMixin, SyncBannerMixin, FormView):
    """The intended-use questionnaire; saving it computes the risk tier through the Rego policy."""

    template_name = "governance/intended_use_form.html"
    model_action = ModelAction.EDIT_INTENDED_USE

    def get_form(self, form_class: Any = None) -> IntendedUseForm:
        governance = getattr(self.model, "governance", None)
        return IntendedUseForm(
            **self.get_form_kwargs(),
            schema=selectors.intended_use_profile_schema(),
            profile=governance.intended_use if governance else {},
            large_user_base=selectors.intended_use_large_user_base(),
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        governance = getattr(self.model, "governance", None)
        context.update(
            model=self.model,
            governance=governance,
            risk_tier=governance.risk_tier if governance else RiskTier.UNASSESSED.value,
        )
        return context

    def form_valid(self, form: IntendedUseForm) -> HttpResponse:
        try:
            governance = intended_use_set(
                registered_model=self.model, profile=form.profile(), actor=_user(self.request)
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            cause = exc.__cause__
            # The service puts the policy's findings (which field is wrong) on the cause.
            if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], list):
                for detail in cause.args[0]:
                    if detail:
                        form.add_error(None, str(detail))
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Intended use saved. Risk tier: {RiskTier(governance.risk_tier).label.lower()}.",
        )
        return HttpResponseRedirect(_model_url(self.model.name, "governance-title"))
