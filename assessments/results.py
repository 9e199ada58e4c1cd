"""The full result of an assessment as one JSON-ready dict: claimed and verified scores, the claim comparison,
and the roadmap (built on verified answers). Pure: the caller supplies the check results.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping
from typing import Any

from assessments.questionnaire import Definition, profile_stage
from assessments.roadmap import Catalogue, RoadmapConstraints, roadmap_build
from assessments.scoring import (
    UNANSWERED,
    CheckResult,
    answers_effective,
    answers_verified,
    claims_compare,
    score_compute,
)


def result_compose(
    *,
    definition: Definition,
    catalogue: Catalogue,
    team_name: str,
    profile: Mapping[str, Any],
    answers: Mapping[str, str],
    checks: Mapping[str, CheckResult],
) -> dict[str, Any]:
    stage = profile_stage(definition=definition, profile=profile)
    verified_answers = answers_verified(definition=definition, answers=answers, checks=checks)
    claimed = score_compute(definition=definition, profile=profile, answers=answers)
    verified = score_compute(definition=definition, profile=profile, answers=verified_answers)
    claims = claims_compare(definition=definition, answers=answers, checks=checks)
    roadmap = roadmap_build(
        catalogue=catalogue,
        definition=definition,
        score=verified,
        answers=answers_effective(definition=definition, profile=profile, answers=verified_answers),
        constraints=RoadmapConstraints(
            stage=stage.id, fte_capacity=float(profile.get("ml_platform_ftes") or 0), profile=profile
        ),
    )
    return {
        "questionnaire": {"version_id": definition.version_id, "digest": definition.digest},
        "catalogue": {"id": catalogue.id, "version": catalogue.version, "digest": catalogue.digest},
        "team": team_name,
        "stage": {"id": stage.id, "label": stage.label},
        "profile": dict(profile),
        "claimed": dataclasses.asdict(claimed),
        "verified": dataclasses.asdict(verified),
        "claims": [dataclasses.asdict(row) for row in claims],
        "disagreements": sum(1 for row in claims if row.disagrees),
        "checks": {name: dataclasses.asdict(check) for name, check in sorted(checks.items())},
        "roadmap": dataclasses.asdict(roadmap),
    }


CSV_COLUMNS = [
    "dimension",
    "question_id",
    "level",
    "critical",
    "question",
    "claimed",
    "verified_value",
    "check",
    "check_result",
    "evidence",
    "na_reason",
    "note",
]


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Free text that a spreadsheet would run as a formula is prefixed with a quote."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES) else value


def result_csv(
    *,
    definition: Definition,
    result: Mapping[str, Any],
    answers: Mapping[str, str],
    notes: Mapping[str, tuple[str, str]],
) -> str:
    """One row per question: the claim, what the platform verified, and the team's N/A reason and note."""
    claims = {row["question_id"]: row for row in result.get("claims", [])}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for dimension in definition.dimensions:
        for question in dimension.questions:
            claim = claims.get(question.id, {})
            verified = claim.get("verified")
            na_reason, note = notes.get(question.id, ("", ""))
            writer.writerow(
                _cell(cell)
                for cell in [
                    dimension.title,
                    question.id,
                    question.level,
                    "yes" if question.critical else "no",
                    question.text,
                    answers.get(question.id, UNANSWERED),
                    claim.get("verified_value", answers.get(question.id, UNANSWERED)),
                    question.verify or "",
                    "" if not claim else {True: "verified", False: "refuted", None: "unknown"}[verified],
                    claim.get("evidence", ""),
                    na_reason,
                    note,
                ]
            )
    return buffer.getvalue()
