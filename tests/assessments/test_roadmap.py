"""Roadmap: stage-aware add/defer, prerequisite order, FTE capacity warning, time and FTE gap to next level."""

from __future__ import annotations

import random
from typing import Any

import pytest

from assessments.questionnaire import Definition
from assessments.roadmap import Catalogue, Roadmap, RoadmapConstraints, roadmap_build
from assessments.scoring import ANSWER_VALUES, score_compute
from tests.assessments.conftest import PROFILE, answers_up_to

DEFERRED_BY_DESIGN = {
    "online_feature_store",
    "kubernetes",
    "canary_ab",
    "automated_retraining",
    "custom_drift_framework",
    "build_platform",
}
STAGE_MODELS = {"first_poc": 0, "first_production": 1, "few_models": 4, "many_models": 12}


def _build(
    definition: Definition,
    catalogue: Catalogue,
    *,
    stage: str,
    answers: dict[str, str],
    fte: float = 2.0,
    **profile: Any,
) -> Roadmap:
    full_profile = {**PROFILE, "production_models": STAGE_MODELS[stage], "ml_platform_ftes": fte, **profile}
    score = score_compute(definition=definition, profile=full_profile, answers=answers)
    return roadmap_build(
        catalogue=catalogue,
        definition=definition,
        score=score,
        answers=answers,
        constraints=RoadmapConstraints(stage=stage, fte_capacity=fte, profile=full_profile),
    )


def _answer_patterns(definition: Definition) -> list[dict[str, str]]:
    patterns = [answers_up_to(definition, level) for level in range(4)]
    rng = random.Random(6)
    patterns += [{q.id: rng.choice(ANSWER_VALUES) for q in definition.questions} for _ in range(25)]
    return patterns


def test_catalogue_marks_the_over_engineering_items_as_deferred_by_design(catalogue: Catalogue) -> None:
    assert {c.id for c in catalogue.capabilities if c.deferred_by_design} == DEFERRED_BY_DESIGN


@pytest.mark.parametrize("uses_llm", [False, True])
def test_never_recommends_a_deferred_by_design_item_to_a_first_poc_team(
    definition: Definition, catalogue: Catalogue, uses_llm: bool
) -> None:
    for answers in _answer_patterns(definition):
        for fte in (0, 0.5, 3):
            roadmap = _build(
                definition, catalogue, stage="first_poc", answers=answers, fte=fte, uses_llm=uses_llm
            )

            assert not {item.id for item in roadmap.recommended} & DEFERRED_BY_DESIGN
            deferred = {item.id: item.trigger for item in roadmap.deferred}
            open_items = DEFERRED_BY_DESIGN - set(roadmap.in_place)
            assert set(deferred) == open_items
            assert all(deferred.values()), "every deferred item names the trigger that would un-defer it"


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("first_poc", {"experiment_tracking", "artifact_store"}),
        ("first_production", {"model_serving", "model_registry", "basic_dashboard"}),
        ("few_models", {"orchestration", "drift_monitoring"}),
        ("many_models", {"online_feature_store", "platform_team", "automated_retraining"}),
    ],
)
def test_each_stage_gets_what_it_needs_next(
    definition: Definition, catalogue: Catalogue, stage: str, expected: set[str]
) -> None:
    roadmap = _build(definition, catalogue, stage=stage, answers=answers_up_to(definition, 0))

    assert expected <= {item.id for item in roadmap.recommended}


def test_capabilities_in_place_are_not_recommended(definition: Definition, catalogue: Catalogue) -> None:
    answers = answers_up_to(definition, 0)
    answers["experiments.tracking_server"] = answers["experiments.params_metrics_logged"] = "yes"

    roadmap = _build(definition, catalogue, stage="first_poc", answers=answers)

    assert "experiment_tracking" in roadmap.in_place
    assert "experiment_tracking" not in {item.id for item in roadmap.recommended}


@pytest.mark.parametrize("stage", list(STAGE_MODELS))
def test_plan_order_respects_prerequisites(definition: Definition, catalogue: Catalogue, stage: str) -> None:
    for answers in _answer_patterns(definition):
        roadmap = _build(definition, catalogue, stage=stage, answers=answers, uses_llm=True)

        seen = set(roadmap.in_place)
        for item in roadmap.recommended:
            assert set(item.prerequisites) <= seen, (
                f"{item.id} planned before {set(item.prerequisites) - seen}"
            )
            seen.add(item.id)
        starts = [item.start_week or 0.0 for item in roadmap.recommended]
        assert starts == sorted(starts)
        plan_flags = [item.in_90_day_plan for item in roadmap.recommended]
        assert plan_flags == sorted(plan_flags, reverse=True), "the 90-day plan comes first"


@pytest.mark.parametrize(
    ("fte", "warns", "fragment"),
    [
        (0.25, True, "the team has 0.25 FTE"),
        (0, True, "the team has none"),
        (10, False, ""),
    ],
)
def test_capacity_warning(
    definition: Definition, catalogue: Catalogue, fte: float, warns: bool, fragment: str
) -> None:
    roadmap = _build(
        definition, catalogue, stage="first_production", answers=answers_up_to(definition, 0), fte=fte
    )

    assert bool(roadmap.capacity.warning) is warns
    assert fragment in roadmap.capacity.warning
    expected_effort = sum(item.effort_fte_weeks for item in roadmap.recommended if item.in_90_day_plan)
    assert roadmap.capacity.plan_effort_fte_weeks == pytest.approx(expected_effort)
    assert roadmap.capacity.required_fte >= expected_effort / 13


def test_plan_is_scheduled_into_quarters_at_team_capacity(
    definition: Definition, catalogue: Catalogue
) -> None:
    roadmap = _build(definition, catalogue, stage="many_models", answers=answers_up_to(definition, 0), fte=1)

    last = roadmap.recommended[-1]
    total = sum(item.effort_fte_weeks for item in roadmap.recommended)
    assert last.end_week == pytest.approx(total, abs=0.1)
    assert [m.quarter for m in roadmap.milestones] == sorted(
        {min(i.quarter or 0, 5) for i in roadmap.recommended}
    )
    assert roadmap.milestones[0].label.startswith("Q1")


@pytest.mark.parametrize(
    ("level", "fte", "time_text", "gap"),
    [
        (0, 0.5, "3-6 months", 0.5),
        (1, 1.0, "6-12 months", 1.0),
        (2, 5.0, "12-18 months", 0.0),
        (3, 5.0, "At the top level: keep it there.", 0.0),
    ],
)
def test_time_and_fte_gap_to_next_level(
    definition: Definition, catalogue: Catalogue, level: int, fte: float, time_text: str, gap: float
) -> None:
    roadmap = _build(
        definition, catalogue, stage="few_models", answers=answers_up_to(definition, level), fte=fte
    )

    assert roadmap.time_to_next_level == time_text
    assert roadmap.fte_gap == gap


def test_llm_capabilities_only_for_llm_teams(definition: Definition, catalogue: Catalogue) -> None:
    answers = answers_up_to(definition, 0)
    without = _build(definition, catalogue, stage="first_production", answers=answers, uses_llm=False)
    with_llm = _build(definition, catalogue, stage="first_production", answers=answers, uses_llm=True)

    assert "prompt_versioning" not in {i.id for i in without.recommended}
    assert "prompt_versioning" in {i.id for i in with_llm.recommended}
