"""Server-rendered pages of maturity assessments: team list, the wizard (profile, one dimension per page,
review and submit; saved on every page so it can be resumed), result, exports, team trend, organisation heatmap.

Pages call selectors to read and services to write; service refusals are shown as form errors.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from assessments import selectors, services
from assessments.charts import radar
from assessments.models import AnswerValue, Assessment, Team
from assessments.questionnaire import Definition, Dimension, dimension_applies
from assessments.results import result_csv


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _assessment_or_404(pk: int) -> Assessment:
    try:
        return selectors.assessment_get(pk=pk)
    except Assessment.DoesNotExist as exc:
        raise Http404("No such assessment.") from exc


def _team_or_404(pk: int) -> Team:
    try:
        return selectors.team_list().get(pk=pk)
    except Team.DoesNotExist as exc:
        raise Http404("No such team.") from exc


def _steps(definition: Definition, profile: dict[str, Any]) -> list[Dimension]:
    """The wizard's dimension pages: dimensions the profile rules out (e.g. LLM) are skipped."""
    return [d for d in definition.dimensions if dimension_applies(dimension=d, profile=profile)]


class AssessmentIndexView(LoginRequiredMixin, TemplateView):
    template_name = "assessments/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        latest = {a.team_id: a for a in selectors.latest_submitted_assessments()}
        drafts = {a.team_id: a for a in selectors.assessment_list(state="draft")}
        context["rows"] = [
            {"team": team, "latest": latest.get(team.pk), "draft": drafts.get(team.pk)}
            for team in selectors.team_list()
        ]
        return context


class TeamCreateView(LoginRequiredMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            team = services.team_create(
                name=request.POST.get("name", ""), lead=_user(request), actor=_user(request)
            )
        except services.AssessmentError as exc:
            messages.error(request, exc.message)
            return redirect("assessments:index")
        messages.success(request, f"Team {team.name} created.")
        return redirect("assessments:index")


class AssessmentStartView(LoginRequiredMixin, View):
    def post(self, request: HttpRequest, team_id: int) -> HttpResponse:
        try:
            assessment = services.assessment_start(team=_team_or_404(team_id), actor=_user(request))
        except services.AssessmentError as exc:
            messages.error(request, exc.message)
            return redirect("assessments:index")
        return redirect("assessments:profile", pk=assessment.pk)


class _WizardView(LoginRequiredMixin, TemplateView):
    """Common context of the wizard pages; a submitted assessment goes straight to its result."""

    assessment: Assessment
    definition: Definition

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.assessment = _assessment_or_404(kwargs["pk"])
        if self.assessment.is_submitted:
            return redirect("assessments:result", pk=self.assessment.pk)
        self.definition = selectors.questionnaire_definition(version=self.assessment.questionnaire)
        return super().dispatch(request, *args, **kwargs)

    def wizard_context(self, *, current: str, answers: dict[str, Any]) -> dict[str, Any]:
        steps = _steps(self.definition, self.assessment.profile)
        applicable = [q.id for d in steps for q in d.questions]
        answered = sum(1 for q in applicable if q in answers)
        return {
            "assessment": self.assessment,
            "definition": self.definition,
            "steps": [
                {
                    "number": index,
                    "title": d.title,
                    "answered": sum(1 for q in d.questions if q.id in answers),
                    "total": len(d.questions),
                }
                for index, d in enumerate(steps, start=1)
            ],
            "current": current,
            "answered": answered,
            "total": len(applicable),
            "percent": round(100 * answered / len(applicable)) if applicable else 0,
            "profile_done": bool(self.assessment.stage),
        }


class AssessmentProfileView(_WizardView):
    template_name = "assessments/profile.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        answers = selectors.assessment_answer_values(assessment=self.assessment)
        context.update(self.wizard_context(current="profile", answers=answers))
        values = kwargs.get("values", self.assessment.profile)
        context["fields"] = [
            {"field": f, "value": values.get(f.id), "error": kwargs.get("errors", {}).get(f.id)}
            for f in self.definition.profile_fields
        ]
        context["stages"] = self.definition.stages
        return context

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        values: dict[str, Any] = {}
        for spec in self.definition.profile_fields:
            raw = request.POST.get(spec.id, "").strip()
            if spec.type == "boolean":
                values[spec.id] = {"yes": True, "no": False}.get(raw)
            elif spec.type in {"integer", "number"}:
                try:
                    values[spec.id] = int(raw) if spec.type == "integer" else float(raw)
                except ValueError:
                    values[spec.id] = None
            else:
                values[spec.id] = raw or None
        try:
            services.assessment_profile_set(assessment=self.assessment, profile=values, actor=_user(request))
        except services.AssessmentError as exc:
            errors = exc.details if isinstance(exc.details, dict) else {}
            context = self.get_context_data(values=values, errors=errors)
            context["error"] = exc.message
            return self.render_to_response(context, status=400 if exc.status == 400 else exc.status)
        if request.POST.get("action") == "exit":
            return redirect("assessments:index")
        return redirect("assessments:step", pk=pk, step=1)


class AssessmentStepView(_WizardView):
    template_name = "assessments/step.html"

    def _dimension(self, step: int) -> Dimension:
        steps = _steps(self.definition, self.assessment.profile)
        if not 1 <= step <= len(steps):
            raise Http404("No such step.")
        return steps[step - 1]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        step = kwargs["step"]
        dimension = self._dimension(step)
        answers = selectors.assessment_answers(assessment=self.assessment)
        context.update(self.wizard_context(current=str(step), answers=answers))
        submitted = kwargs.get("submitted", {})
        errors = kwargs.get("errors", {})
        rows = []
        for question in dimension.questions:
            saved = answers.get(question.id)
            posted = submitted.get(question.id, {})
            rows.append(
                {
                    "question": question,
                    "value": posted.get("value", saved.value if saved else ""),
                    "na_reason": posted.get("na_reason", saved.na_reason if saved else ""),
                    "note": posted.get("note", saved.note if saved else ""),
                    "error": errors.get(question.id),
                }
            )
        context.update(
            {
                "dimension": dimension,
                "rows": rows,
                "step": step,
                "step_count": len(context["steps"]),
                "choices": AnswerValue.choices,
            }
        )
        return context

    def post(self, request: HttpRequest, pk: int, step: int) -> HttpResponse:
        dimension = self._dimension(step)
        submitted: dict[str, dict[str, str]] = {}
        for question in dimension.questions:
            value = request.POST.get(f"value-{question.id}", "")
            if value:
                submitted[question.id] = {
                    "question_id": question.id,
                    "value": value,
                    "na_reason": request.POST.get(f"na-{question.id}", ""),
                    "note": request.POST.get(f"note-{question.id}", ""),
                }
        if submitted:
            try:
                services.assessment_answers_save(
                    assessment=self.assessment, answers=list(submitted.values()), actor=_user(request)
                )
            except services.AssessmentError as exc:
                errors = exc.details if isinstance(exc.details, dict) else {}
                context = self.get_context_data(step=step, submitted=submitted, errors=errors)
                context["error"] = exc.message
                return self.render_to_response(context, status=exc.status)
        action = request.POST.get("action", "next")
        step_count = len(_steps(self.definition, self.assessment.profile))
        if action == "exit":
            messages.success(request, "Saved. Resume any time from the assessments page.")
            return redirect("assessments:index")
        if action == "previous":
            return (
                redirect("assessments:step", pk=pk, step=step - 1)
                if step > 1
                else redirect("assessments:profile", pk=pk)
            )
        if step < step_count:
            return redirect("assessments:step", pk=pk, step=step + 1)
        return redirect("assessments:review", pk=pk)


class AssessmentReviewView(_WizardView):
    template_name = "assessments/review.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        answers = selectors.assessment_answer_values(assessment=self.assessment)
        context.update(self.wizard_context(current="review", answers=answers))
        steps = _steps(self.definition, self.assessment.profile)
        context["missing"] = [
            {
                "step": index,
                "dimension": d.title,
                "questions": [q for q in d.questions if q.id not in answers],
            }
            for index, d in enumerate(steps, start=1)
            if any(q.id not in answers for q in d.questions)
        ]
        context["result"] = selectors.assessment_result(assessment=self.assessment, answers=answers)
        context["error"] = kwargs.get("error")
        return context

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            services.assessment_submit(assessment=self.assessment, actor=_user(request))
        except services.AssessmentError as exc:
            return self.render_to_response(self.get_context_data(error=exc.message), status=exc.status)
        messages.success(request, "Assessment submitted. This result is now a permanent snapshot.")
        return redirect("assessments:result", pk=pk)


class AssessmentResultView(LoginRequiredMixin, TemplateView):
    template_name = "assessments/result.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        assessment = _assessment_or_404(kwargs["pk"])
        result = selectors.assessment_result(assessment=assessment)
        claimed_dims = result["claimed"]["dimensions"]
        verified_dims = {d["dimension_id"]: d["score"] for d in result["verified"]["dimensions"]}
        context.update(
            {
                "assessment": assessment,
                "result": result,
                "radar": radar(
                    labels=[d["title"] for d in claimed_dims],
                    claimed=[d["score"] for d in claimed_dims],
                    verified=[verified_dims.get(d["dimension_id"]) for d in claimed_dims],
                ),
                "dimension_rows": [
                    {**d, "verified_score": verified_dims.get(d["dimension_id"])} for d in claimed_dims
                ],
                "plan": [item for item in result["roadmap"]["recommended"] if item["in_90_day_plan"]],
                "later": [item for item in result["roadmap"]["recommended"] if not item["in_90_day_plan"]],
                "peers": selectors.peer_comparison(assessment=assessment, result=result),
            }
        )
        return context


class AssessmentExportJsonView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        assessment = _assessment_or_404(pk)
        answers = selectors.assessment_answers(assessment=assessment)
        document = {
            "assessment": {
                "id": assessment.pk,
                "team": assessment.team.name,
                "state": assessment.state,
                "questionnaire": assessment.questionnaire.version_id,
                "created_at": assessment.created_at,
                "submitted_at": assessment.submitted_at,
            },
            "answers": [
                {"question_id": a.question_id, "value": a.value, "na_reason": a.na_reason, "note": a.note}
                for a in answers.values()
            ],
            "result": selectors.assessment_result(
                assessment=assessment, answers={k: a.value for k, a in answers.items()}
            ),
        }
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json",
        )
        response["Content-Disposition"] = f'attachment; filename="assessment-{assessment.pk}.json"'
        return response


class AssessmentExportCsvView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        assessment = _assessment_or_404(pk)
        answers = selectors.assessment_answers(assessment=assessment)
        values = {k: a.value for k, a in answers.items()}
        definition = selectors.questionnaire_definition(version=assessment.questionnaire)
        body = result_csv(
            definition=definition,
            result=selectors.assessment_result(assessment=assessment, answers=values),
            answers=values,
            notes={k: (a.na_reason, a.note) for k, a in answers.items()},
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="assessment-{assessment.pk}.csv"'
        return response


class TeamTrendView(LoginRequiredMixin, TemplateView):
    template_name = "assessments/team.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        team = _team_or_404(kwargs["team_id"])
        trend = selectors.team_trend(team=team)
        dimensions = [(d.id, d.title) for d in selectors.current_definition().dimensions]
        context.update(
            {
                "team": team,
                "trend": trend,
                "dimensions": dimensions,
                "rows": [
                    {"title": title, "scores": [point.dimensions.get(dimension_id) for point in trend]}
                    for dimension_id, title in dimensions
                ],
                "drafts": selectors.assessment_list(team=team, state="draft"),
                "start_url": reverse("assessments:start", kwargs={"team_id": team.pk}),
            }
        )
        return context


class OrgHeatmapView(LoginRequiredMixin, TemplateView):
    template_name = "assessments/organisation.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["heatmap"] = selectors.org_heatmap()
        return context
