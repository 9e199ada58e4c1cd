"""Maturity scoring as pure functions of (definition, profile, answers): the gated level, the blockers, the
per-dimension scores, and the claimed-vs-verified comparison. No ORM, no I/O.

Gating rule: the level is the highest N such that every applicable critical question of levels ≤ N is answered
"yes". "partial" (manual or documented) earns half a point in dimension scores but never meets a critical item,
and a level whose critical questions are all "not applicable" is not reached: N/A cannot buy a level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assessments.questionnaire import Definition, LevelInfo, dimension_applies

YES, PARTIAL, NO, NA = "yes", "partial", "no", "na"
ANSWER_VALUES = (NO, PARTIAL, YES, NA)
UNANSWERED = "unanswered"
POINTS = {NO: 0.0, PARTIAL: 0.5, YES: 1.0, UNANSWERED: 0.0}
MAX_LEVEL = 3

# Why a critical question blocks a level.
NOT_MET = "NOT_MET"
PARTIAL_ONLY = "PARTIAL_ONLY"
UNANSWERED_CRITICAL = "UNANSWERED"
ALL_NOT_APPLICABLE = "ALL_NOT_APPLICABLE"
_REASON_BY_VALUE = {NO: NOT_MET, PARTIAL: PARTIAL_ONLY, UNANSWERED: UNANSWERED_CRITICAL}


@dataclass(frozen=True)
class Blocker:
    level: int
    reason: str
    question_id: str
    dimension_id: str
    text: str
    value: str


@dataclass(frozen=True)
class DimensionScore:
    dimension_id: str
    title: str
    score: int | None
    applicable: int
    yes: int
    partial: int
    no: int
    na: int
    unanswered: int


@dataclass(frozen=True)
class Score:
    level: int
    level_name: str
    level_description: str
    fte_band: str
    next_level: int | None
    next_level_name: str
    next_level_fte_min: float | None
    months_to_next: tuple[int, int] | None
    blockers: tuple[Blocker, ...]
    gaps_above: tuple[Blocker, ...]
    dimensions: tuple[DimensionScore, ...]
    overall: int | None


@dataclass(frozen=True)
class CheckResult:
    """What the platform's own data says about one claim: True/False, or None when it cannot tell."""

    verified: bool | None
    evidence: str


@dataclass(frozen=True)
class ClaimComparison:
    question_id: str
    dimension_id: str
    text: str
    check: str
    claimed: str
    verified: bool | None
    evidence: str
    verified_value: str
    disagrees: bool


def fte_band_text(info: LevelInfo) -> str:
    low = f"{info.fte_min:g}"
    return f"{low}+ FTE" if info.fte_max is None else f"{low}-{info.fte_max:g} FTE"


def answers_effective(
    *, definition: Definition, profile: Mapping[str, Any], answers: Mapping[str, str]
) -> dict[str, str]:
    """Every question's value: dimensions the profile rules out are "na", missing answers "unanswered"."""
    effective: dict[str, str] = {}
    for dimension in definition.dimensions:
        applies = dimension_applies(dimension=dimension, profile=profile)
        for question in dimension.questions:
            value = answers.get(question.id) if applies else NA
            effective[question.id] = value if value in ANSWER_VALUES else UNANSWERED
    return effective


def _dimension_score(title: str, dimension_id: str, values: list[str]) -> DimensionScore:
    applicable = [v for v in values if v != NA]
    score = round(100 * sum(POINTS[v] for v in applicable) / len(applicable)) if applicable else None
    return DimensionScore(
        dimension_id=dimension_id,
        title=title,
        score=score,
        applicable=len(applicable),
        yes=values.count(YES),
        partial=values.count(PARTIAL),
        no=values.count(NO),
        na=values.count(NA),
        unanswered=values.count(UNANSWERED),
    )


def _level_blockers(definition: Definition, effective: Mapping[str, str], level: int) -> list[Blocker]:
    critical = [q for q in definition.questions if q.level == level and q.critical]
    applicable = [q for q in critical if effective[q.id] != NA]
    if not applicable:
        return [
            Blocker(
                level=level,
                reason=ALL_NOT_APPLICABLE,
                question_id="",
                dimension_id="",
                text=f"Every critical question of level {level} is marked not applicable.",
                value=NA,
            )
        ]
    return [
        Blocker(
            level=level,
            reason=_REASON_BY_VALUE[effective[q.id]],
            question_id=q.id,
            dimension_id=q.dimension_id,
            text=q.text,
            value=effective[q.id],
        )
        for q in applicable
        if effective[q.id] != YES
    ]


def score_compute(*, definition: Definition, profile: Mapping[str, Any], answers: Mapping[str, str]) -> Score:
    """The gated level, the blockers of the next level, unmet critical items above it, dimension scores."""
    effective = answers_effective(definition=definition, profile=profile, answers=answers)
    blockers_by_level = {n: _level_blockers(definition, effective, n) for n in range(1, MAX_LEVEL + 1)}
    level = 0
    while level < MAX_LEVEL and not blockers_by_level[level + 1]:
        level += 1
    next_level = level + 1 if level < MAX_LEVEL else None
    info = definition.level_info(level)
    next_info = definition.level_info(next_level) if next_level is not None else None
    dimensions = tuple(
        _dimension_score(d.title, d.id, [effective[q.id] for q in d.questions]) for d in definition.dimensions
    )
    applicable = [v for v in effective.values() if v != NA]
    overall = round(100 * sum(POINTS[v] for v in applicable) / len(applicable)) if applicable else None
    return Score(
        level=level,
        level_name=info.name,
        level_description=info.description,
        fte_band=fte_band_text(info),
        next_level=next_level,
        next_level_name=next_info.name if next_info else "",
        next_level_fte_min=next_info.fte_min if next_info else None,
        months_to_next=info.months_to_next,
        blockers=tuple(blockers_by_level[next_level]) if next_level is not None else (),
        gaps_above=tuple(b for n in range(level + 2, MAX_LEVEL + 1) for b in blockers_by_level[n]),
        dimensions=dimensions,
        overall=overall,
    )


def verified_value(*, claimed: str, check: CheckResult | None) -> str:
    """The answer the platform's data supports: evidence found → yes, refuted → no, unknown → the claim."""
    if check is None or check.verified is None or claimed == NA:
        return claimed
    return YES if check.verified else NO


def answers_verified(
    *, definition: Definition, answers: Mapping[str, str], checks: Mapping[str, CheckResult]
) -> dict[str, str]:
    """The answers with every checkable claim replaced by what the platform verified."""
    verified = dict(answers)
    for question in definition.questions:
        if question.verify is not None:
            claimed = answers.get(question.id, UNANSWERED)
            value = verified_value(claimed=claimed, check=checks.get(question.verify))
            if value != UNANSWERED:
                verified[question.id] = value
    return verified


def claims_compare(
    *, definition: Definition, answers: Mapping[str, str], checks: Mapping[str, CheckResult]
) -> list[ClaimComparison]:
    """One row per checkable question; `disagrees` when the platform's data contradicts the claim."""
    rows = []
    for question in definition.questions:
        if question.verify is None:
            continue
        check = checks.get(question.verify) or CheckResult(verified=None, evidence="No check result.")
        claimed = answers.get(question.id, UNANSWERED)
        value = verified_value(claimed=claimed, check=check)
        rows.append(
            ClaimComparison(
                question_id=question.id,
                dimension_id=question.dimension_id,
                text=question.text,
                check=question.verify,
                claimed=claimed,
                verified=check.verified,
                evidence=check.evidence,
                verified_value=value,
                disagrees=check.verified is not None and claimed != NA and value != claimed,
            )
        )
    return rows
