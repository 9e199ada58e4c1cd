"""Scoring table: one profile per level, gating edge cases, N/A and partial handling, claimed vs verified."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from assessments.questionnaire import Definition
from assessments.scoring import (
    ALL_NOT_APPLICABLE,
    NOT_MET,
    PARTIAL_ONLY,
    UNANSWERED_CRITICAL,
    CheckResult,
    answers_verified,
    claims_compare,
    score_compute,
)
from tests.assessments.conftest import PROFILE, answers_up_to

L1_CRITICAL = "registry.models_registered"
L2_CRITICAL = "cicd.gate_in_ci"
L3_CRITICALS = ("monitoring.drift_triggers_action", "retraining.automated_retraining")


@dataclass(frozen=True)
class Case:
    name: str
    base_level: int
    overrides: dict[str, str | None] = field(default_factory=dict)
    expected_level: int = 0
    expected_blockers: tuple[tuple[str, str], ...] | None = None


CASES = [
    Case("nothing in place", 0, expected_level=0),
    Case("level 1 profile", 1, expected_level=1),
    Case("level 2 profile", 2, expected_level=2),
    Case("level 3 profile", 3, expected_level=3, expected_blockers=()),
    # Gating: strong automation does not buy a level while a basic is missing.
    Case(
        "all L2 and L3 yes, one L2 critical missing -> L1 with that blocker",
        3,
        {L2_CRITICAL: "no"},
        expected_level=1,
        expected_blockers=((L2_CRITICAL, NOT_MET),),
    ),
    Case(
        "all L2 yes, one L1 critical missing -> L0 with that blocker",
        2,
        {L1_CRITICAL: "no"},
        expected_level=0,
        expected_blockers=((L1_CRITICAL, NOT_MET),),
    ),
    Case(
        "partial never meets a critical item",
        3,
        {L1_CRITICAL: "partial"},
        expected_level=0,
        expected_blockers=((L1_CRITICAL, PARTIAL_ONLY),),
    ),
    Case(
        "unanswered critical item blocks",
        1,
        {L1_CRITICAL: None},
        expected_level=0,
        expected_blockers=((L1_CRITICAL, UNANSWERED_CRITICAL),),
    ),
    Case("N/A critical item is excluded, not failed", 1, {L1_CRITICAL: "na"}, expected_level=1),
    Case(
        "a level cannot be reached through N/A alone",
        3,
        dict.fromkeys(L3_CRITICALS, "na"),
        expected_level=2,
        expected_blockers=(("", ALL_NOT_APPLICABLE),),
    ),
    Case(
        "partial on non-critical items does not gate",
        2,
        {"data.validation_checks": "partial"},
        expected_level=2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_level_and_blockers(definition: Definition, case: Case) -> None:
    answers = answers_up_to(definition, case.base_level)
    for question_id, value in case.overrides.items():
        if value is None:
            answers.pop(question_id)
        else:
            answers[question_id] = value

    score = score_compute(definition=definition, profile=PROFILE, answers=answers)

    assert score.level == case.expected_level
    assert score.level_name == definition.level_info(case.expected_level).name
    if case.expected_blockers is not None:
        assert tuple((b.question_id, b.reason) for b in score.blockers) == case.expected_blockers
    else:
        expected = {q.id for q in definition.questions if q.critical and q.level == case.expected_level + 1}
        assert {b.question_id for b in score.blockers} == expected


def test_blockers_name_the_question_and_higher_gaps_are_listed(definition: Definition) -> None:
    answers = answers_up_to(definition, 0)

    score = score_compute(definition=definition, profile=PROFILE, answers=answers)

    blocker = next(b for b in score.blockers if b.question_id == L1_CRITICAL)
    assert blocker.text == definition.question(L1_CRITICAL).text
    assert blocker.dimension_id == "registry"
    assert {b.level for b in score.gaps_above} == {2, 3}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["yes"] * 6, 100),
        (["no"] * 6, 0),
        (["partial"] * 6, 50),
        (["yes", "yes", "yes", "partial", "no", "na"], 70),  # N/A excluded: 3.5 / 5
        (["na"] * 6, None),
    ],
)
def test_dimension_score(definition: Definition, values: list[str], expected: int | None) -> None:
    questions = next(d for d in definition.dimensions if d.id == "experiments").questions
    answers = {q.id: v for q, v in zip(questions, values, strict=True)}

    score = score_compute(definition=definition, profile=PROFILE, answers=answers)

    dimension = next(d for d in score.dimensions if d.dimension_id == "experiments")
    assert dimension.score == expected


def test_llm_dimension_only_applies_when_the_profile_uses_llms(definition: Definition) -> None:
    answers = answers_up_to(definition, 3)
    without = score_compute(definition=definition, profile={**PROFILE, "uses_llm": False}, answers=answers)
    with_llm = score_compute(definition=definition, profile={**PROFILE, "uses_llm": True}, answers=answers)

    assert next(d for d in without.dimensions if d.dimension_id == "llm").score is None
    assert next(d for d in with_llm.dimensions if d.dimension_id == "llm").score == 100


def test_level_reference_data(definition: Definition) -> None:
    score = score_compute(definition=definition, profile=PROFILE, answers=answers_up_to(definition, 1))

    assert score.fte_band == "1-2 FTE"
    assert score.months_to_next == (6, 12)
    assert score.next_level == 2
    assert score.next_level_fte_min == 2


@pytest.mark.parametrize(
    ("claimed", "check", "expected_value", "disagrees"),
    [
        ("yes", CheckResult(True, "ok"), "yes", False),
        ("yes", CheckResult(False, "none found"), "no", True),
        ("no", CheckResult(True, "found"), "yes", True),
        ("partial", CheckResult(None, "cannot tell"), "partial", False),
        ("na", CheckResult(False, "none found"), "na", False),
    ],
)
def test_claims_compare(
    definition: Definition, claimed: str, check: CheckResult, expected_value: str, disagrees: bool
) -> None:
    answers = {"cicd.gate_in_ci": claimed}

    rows = claims_compare(definition=definition, answers=answers, checks={"ci_gate_calls": check})

    row = next(r for r in rows if r.question_id == "cicd.gate_in_ci")
    assert (row.verified_value, row.disagrees) == (expected_value, disagrees)
    assert row.evidence == check.evidence


def test_verified_level_uses_the_platform_data(definition: Definition) -> None:
    answers = answers_up_to(definition, 2)
    checks = {"ci_gate_calls": CheckResult(False, "No gate decision has been recorded.")}

    claimed = score_compute(definition=definition, profile=PROFILE, answers=answers)
    verified = score_compute(
        definition=definition,
        profile=PROFILE,
        answers=answers_verified(definition=definition, answers=answers, checks=checks),
    )

    assert (claimed.level, verified.level) == (2, 1)
    assert [b.question_id for b in verified.blockers] == [L2_CRITICAL]
