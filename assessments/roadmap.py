"""The staged roadmap as a pure function of (score, stage, answers, constraints): what to add now, what is
deferred by design (and what would un-defer it), a 90-day plan ordered by prerequisites and checked against
the team's FTE capacity, and quarterly milestones. The capability catalogue is data (roadmap-catalogue-v1.yaml).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from assessments.questionnaire import (
    DEFINITIONS_DIR,
    Definition,
    DefinitionError,
    content_digest,
    current_definition,
    data_file_read,
    schema_errors,
)
from assessments.scoring import YES, Score

CATALOGUE_SCHEMA_PATH = DEFINITIONS_DIR / "roadmap-catalogue.schema.json"
CURRENT_CATALOGUE_PATH = DEFINITIONS_DIR / "roadmap-catalogue-v1.yaml"
ON_TRIGGER = "on_trigger"
QUARTER_WEEKS = 13
PLAN_DAYS = 90


@dataclass(frozen=True)
class Capability:
    id: str
    title: str
    dimension: str
    level: int
    stage_from: str
    prerequisites: tuple[str, ...]
    satisfied_by: tuple[str, ...]
    owner_role: str
    milestone: str
    acceptance: str
    risk: str
    mitigation: str
    effort_fte_weeks: float
    requires_profile: str | None
    defer_trigger: str | None

    @property
    def deferred_by_design(self) -> bool:
        return self.defer_trigger is not None


@dataclass(frozen=True)
class Catalogue:
    id: str
    version: int
    capabilities: tuple[Capability, ...]
    digest: str


@dataclass(frozen=True)
class RoadmapConstraints:
    """The team's situation: its stage, ML/platform FTE capacity and the profile flags capabilities depend on."""

    stage: str
    fte_capacity: float
    profile: Mapping[str, Any] = field(default_factory=dict)
    horizon_weeks: int = QUARTER_WEEKS


@dataclass(frozen=True)
class PlanItem:
    id: str
    title: str
    dimension: str
    level: int
    prerequisites: tuple[str, ...]
    owner_role: str
    milestone: str
    acceptance: str
    risk: str
    mitigation: str
    effort_fte_weeks: float
    start_week: float | None
    end_week: float | None
    quarter: int | None
    in_90_day_plan: bool


@dataclass(frozen=True)
class DeferredItem:
    id: str
    title: str
    dimension: str
    recommended_from: str
    trigger: str


@dataclass(frozen=True)
class Milestone:
    quarter: int
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Capacity:
    available_fte: float
    required_fte: float
    plan_effort_fte_weeks: float
    horizon_weeks: int
    warning: str


@dataclass(frozen=True)
class Roadmap:
    stage: str
    stage_label: str
    in_place: tuple[str, ...]
    recommended: tuple[PlanItem, ...]
    deferred: tuple[DeferredItem, ...]
    milestones: tuple[Milestone, ...]
    capacity: Capacity
    uncovered_blockers: tuple[str, ...]
    next_level: int | None
    time_to_next_level: str
    fte_gap: float


# ------------------------------------------------------------------------------------------------ catalogue


def _catalogue_rule_errors(content: Mapping[str, Any], definition: Definition) -> list[str]:
    errors: list[str] = []
    items = content["capabilities"]
    by_id: dict[str, Mapping[str, Any]] = {}
    stage_ids = [stage.id for stage in definition.stages]
    dimension_ids = {d.id for d in definition.dimensions}
    question_ids = {q.id for q in definition.questions}
    profile_ids = {f.id for f in definition.profile_fields}
    for index, item in enumerate(items):
        where = f"capabilities[{index}]"
        if item["id"] in by_id:
            errors.append(f"{where}.id: duplicate capability id {item['id']!r}")
        by_id[item["id"]] = item
        if item["stage_from"] not in [*stage_ids, ON_TRIGGER]:
            errors.append(
                f"{where}.stage_from: {item['stage_from']!r} is not one of {[*stage_ids, ON_TRIGGER]}"
            )
        if item["stage_from"] == ON_TRIGGER and "deferred" not in item:
            errors.append(f"{where}.deferred: required when stage_from is {ON_TRIGGER}")
        if item["dimension"] not in dimension_ids:
            errors.append(f"{where}.dimension: {item['dimension']!r} is not a questionnaire dimension")
        if item.get("requires_profile") is not None and item["requires_profile"] not in profile_ids:
            errors.append(f"{where}.requires_profile: {item['requires_profile']!r} is not a profile field")
        for q_index, question_id in enumerate(item["satisfied_by"]):
            if question_id not in question_ids:
                errors.append(f"{where}.satisfied_by[{q_index}]: {question_id!r} is not a question")
    rank = {stage: index for index, stage in enumerate([*stage_ids, ON_TRIGGER])}
    for index, item in enumerate(items):
        for p_index, prerequisite in enumerate(item["prerequisites"]):
            where = f"capabilities[{index}].prerequisites[{p_index}]"
            required = by_id.get(prerequisite)
            if required is None:
                errors.append(f"{where}: {prerequisite!r} is not a capability")
            elif rank.get(required["stage_from"], 0) > rank.get(item["stage_from"], 0):
                errors.append(
                    f"{where}: {prerequisite!r} is recommended at a later stage than {item['id']!r}"
                )
            elif required["level"] > item["level"]:
                errors.append(f"{where}: {prerequisite!r} belongs to a higher level than {item['id']!r}")
    if not errors:
        cycle = _cycle(by_id)
        if cycle:
            errors.append(f"capabilities: prerequisite cycle {' → '.join(cycle)}")
    return errors


def _cycle(by_id: Mapping[str, Mapping[str, Any]]) -> list[str]:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str]:
        if node in done:
            return []
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        visiting.append(node)
        for prerequisite in by_id[node]["prerequisites"]:
            found = visit(prerequisite)
            if found:
                return found
        visiting.pop()
        done.add(node)
        return []

    for node in by_id:
        found = visit(node)
        if found:
            return found
    return []


def catalogue_parse(content: Any, *, definition: Definition, source: str = "catalogue") -> Catalogue:
    errors = schema_errors(content, schema_path=CATALOGUE_SCHEMA_PATH)
    if not errors:
        errors = _catalogue_rule_errors(content, definition)
    if errors:
        raise DefinitionError(f"{source}: {errors[0]}", errors=[f"{source}: {e}" for e in errors])
    return Catalogue(
        id=content["id"],
        version=content["version"],
        digest=content_digest(content),
        capabilities=tuple(
            Capability(
                id=item["id"],
                title=item["title"],
                dimension=item["dimension"],
                level=item["level"],
                stage_from=item["stage_from"],
                prerequisites=tuple(item["prerequisites"]),
                satisfied_by=tuple(item["satisfied_by"]),
                owner_role=item["owner_role"],
                milestone=item["milestone"],
                acceptance=item["acceptance"],
                risk=item["risk"],
                mitigation=item["mitigation"],
                effort_fte_weeks=float(item["effort_fte_weeks"]),
                requires_profile=item.get("requires_profile"),
                defer_trigger=item["deferred"]["trigger"] if "deferred" in item else None,
            )
            for item in content["capabilities"]
        ),
    )


def catalogue_load(path: Path, *, definition: Definition) -> Catalogue:
    return catalogue_parse(data_file_read(path), definition=definition, source=path.name)


@lru_cache(maxsize=1)
def current_catalogue() -> Catalogue:
    return catalogue_load(CURRENT_CATALOGUE_PATH, definition=current_definition())


# ------------------------------------------------------------------------------------------------ planning


def _in_place(capability: Capability, answers: Mapping[str, str]) -> bool:
    return bool(capability.satisfied_by) and all(answers.get(q) == YES for q in capability.satisfied_by)


def _topological(items: list[Capability]) -> list[Capability]:
    """Kahn's algorithm; among ready items, lower level first, then catalogue order (stable and readable)."""
    order = {c.id: index for index, c in enumerate(items)}
    pending = {c.id: {p for p in c.prerequisites if p in order} for c in items}
    by_id = {c.id: c for c in items}
    ready = [(c.level, order[c.id], c.id) for c in items if not pending[c.id]]
    heapq.heapify(ready)
    result: list[Capability] = []
    while ready:
        _, _, current = heapq.heappop(ready)
        result.append(by_id[current])
        for other, needs in pending.items():
            if current in needs:
                needs.discard(current)
                if not needs:
                    heapq.heappush(ready, (by_id[other].level, order[other], other))
    return result


def _months_text(months: tuple[int, int] | None) -> str:
    return f"{months[0]}-{months[1]} months" if months else "At the top level: keep it there."


def roadmap_build(
    *,
    catalogue: Catalogue,
    definition: Definition,
    score: Score,
    answers: Mapping[str, str],
    constraints: RoadmapConstraints,
) -> Roadmap:
    """Recommend what the stage needs next, defer what would be over-engineering, and schedule a plan."""
    stage_rank = definition.stage_rank(constraints.stage)
    applicable = [
        c
        for c in catalogue.capabilities
        if c.requires_profile is None or bool(constraints.profile.get(c.requires_profile))
    ]
    in_place = [c for c in applicable if _in_place(c, answers)]
    open_items = [c for c in applicable if c not in in_place]
    due = [
        c
        for c in open_items
        if c.stage_from != ON_TRIGGER and definition.stage_rank(c.stage_from) <= stage_rank
    ]
    deferred = [c for c in open_items if c.deferred_by_design and c not in due]

    ordered = _topological(due)
    plan_level = min(score.level + 1, 3)
    capacity = max(constraints.fte_capacity, 0.0)
    items = [
        PlanItem(
            id=capability.id,
            title=capability.title,
            dimension=capability.dimension,
            level=capability.level,
            prerequisites=capability.prerequisites,
            owner_role=capability.owner_role,
            milestone=capability.milestone,
            acceptance=capability.acceptance,
            risk=capability.risk,
            mitigation=capability.mitigation,
            effort_fte_weeks=capability.effort_fte_weeks,
            start_week=None,
            end_week=None,
            quarter=None,
            in_90_day_plan=capability.level <= plan_level,
        )
        for capability in ordered
    ]
    # Next-level work goes first in the 90-day plan; the rest follows in later quarters.
    items.sort(key=lambda item: not item.in_90_day_plan)
    items = _schedule(items, capacity=capacity, horizon=constraints.horizon_weeks)

    plan_effort = sum(item.effort_fte_weeks for item in items if item.in_90_day_plan)
    required = math.ceil(10 * plan_effort / constraints.horizon_weeks) / 10
    warning = ""
    if plan_effort and capacity <= 0:
        warning = (
            f"The 90-day plan needs {required:g} FTE of ML/platform engineering and the team has none: "
            "allocate engineering time before starting."
        )
    elif required > capacity:
        warning = (
            f"The 90-day plan needs {required:g} FTE for {PLAN_DAYS} days; the team has {capacity:g} FTE. "
            f"Add {required - capacity:.1f} FTE or move items to the next quarter."
        )

    planned_questions = {q for c in due for q in c.satisfied_by}
    uncovered = tuple(
        b.question_id for b in score.blockers if b.question_id and b.question_id not in planned_questions
    )
    next_fte = score.next_level_fte_min
    return Roadmap(
        stage=constraints.stage,
        stage_label=definition.stage(constraints.stage).label,
        in_place=tuple(c.id for c in in_place),
        recommended=tuple(items),
        deferred=tuple(
            DeferredItem(
                id=c.id,
                title=c.title,
                dimension=c.dimension,
                recommended_from=(
                    "its trigger" if c.stage_from == ON_TRIGGER else definition.stage(c.stage_from).label
                ),
                trigger=c.defer_trigger or "",
            )
            for c in deferred
        ),
        milestones=_milestones(items),
        capacity=Capacity(
            available_fte=capacity,
            required_fte=required,
            plan_effort_fte_weeks=plan_effort,
            horizon_weeks=constraints.horizon_weeks,
            warning=warning,
        ),
        uncovered_blockers=uncovered,
        next_level=score.next_level,
        time_to_next_level=_months_text(score.months_to_next),
        fte_gap=round(max(0.0, next_fte - capacity), 1) if next_fte is not None else 0.0,
    )


def _schedule(items: list[PlanItem], *, capacity: float, horizon: int) -> list[PlanItem]:
    """Lay the items end to end at the team's capacity (sequential work keeps prerequisites first)."""
    if capacity <= 0:
        return items
    week = 0.0
    result = []
    for item in items:
        end = week + item.effort_fte_weeks / capacity
        quarter = max(1, math.ceil(end / horizon - 1e-9))
        result.append(
            dataclasses.replace(item, start_week=round(week, 1), end_week=round(end, 1), quarter=quarter)
        )
        week = end
    return result


def _milestones(items: list[PlanItem]) -> tuple[Milestone, ...]:
    quarters: dict[int, list[str]] = {}
    for item in items:
        if item.quarter is not None:
            quarters.setdefault(min(item.quarter, 5), []).append(item.milestone)
    labels = {1: "Q1 (days 1-90)", 2: "Q2", 3: "Q3", 4: "Q4", 5: "Later than a year"}
    return tuple(Milestone(quarter=q, label=labels[q], items=tuple(quarters[q])) for q in sorted(quarters))
