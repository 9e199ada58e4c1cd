"""Questionnaire definitions as data: load a YAML/JSON file, validate it against the JSON Schema and the
cross-field rules, and expose it as immutable dataclasses with a content digest. No ORM here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
SCHEMA_PATH = DEFINITIONS_DIR / "schema.json"
CURRENT_DEFINITION_PATH = DEFINITIONS_DIR / "mlops-maturity-v1.yaml"


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message names the failing field path."""

    def __init__(self, message: str, *, errors: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors) or [message]


@dataclass(frozen=True)
class Question:
    id: str
    dimension_id: str
    level: int
    critical: bool
    text: str
    help: str
    evidence: str
    verify: str | None


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    applies_if: str | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class LevelInfo:
    level: int
    name: str
    description: str
    fte_min: float
    fte_max: float | None
    months_to_next: tuple[int, int] | None


@dataclass(frozen=True)
class ProfileField:
    id: str
    label: str
    type: str
    help: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    min_production_models: int


@dataclass(frozen=True)
class Definition:
    id: str
    version: int
    title: str
    description: str
    levels: tuple[LevelInfo, ...]
    profile_fields: tuple[ProfileField, ...]
    stages: tuple[Stage, ...]
    dimensions: tuple[Dimension, ...]
    digest: str
    content: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def version_id(self) -> str:
        return f"{self.id}-v{self.version}"

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for d in self.dimensions for q in d.questions)

    @cached_property
    def _questions_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def question(self, question_id: str) -> Question:
        return self._questions_by_id[question_id]

    def level_info(self, level: int) -> LevelInfo:
        return self.levels[level]

    def stage(self, stage_id: str) -> Stage:
        return next(s for s in self.stages if s.id == stage_id)

    def stage_rank(self, stage_id: str) -> int:
        return [s.id for s in self.stages].index(stage_id)


def content_digest(content: Mapping[str, Any]) -> str:
    """sha256 of canonical JSON: comments and formatting do not change a definition, content does."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def field_path(parts: Iterable[str | int]) -> str:
    """`["dimensions", 2, "questions", 4, "level"]` → `dimensions[2].questions[4].level`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(root)"


@lru_cache(maxsize=4)
def _schema_validator(schema_path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def schema_errors(content: Any, *, schema_path: Path) -> list[str]:
    """Every JSON Schema violation as `field.path[i]: message`, in document order."""
    validator = _schema_validator(schema_path)
    errors = sorted(validator.iter_errors(content), key=lambda e: (list(map(str, e.path)), e.message))
    return [f"{field_path(error.absolute_path)}: {error.message}" for error in errors]


def _rule_errors(content: Mapping[str, Any], known_checks: Collection[str] | None) -> list[str]:
    """Rules a JSON Schema cannot express: unique ids, id prefixes, level order, critical coverage."""
    errors: list[str] = []
    levels = [level["level"] for level in content["levels"]]
    if levels != [0, 1, 2, 3]:
        errors.append(f"levels: levels must be listed in order 0, 1, 2, 3 (got {levels})")
    stage_minimums = [stage["min_production_models"] for stage in content["profile"]["stages"]]
    if stage_minimums[0] != 0 or stage_minimums != sorted(set(stage_minimums)):
        errors.append("profile.stages: min_production_models must start at 0 and strictly increase")
    profile_ids = {spec["id"] for spec in content["profile"]["fields"]}
    seen_dimensions: set[str] = set()
    seen_questions: set[str] = set()
    critical_levels: set[int] = set()
    for d_index, dimension in enumerate(content["dimensions"]):
        where = f"dimensions[{d_index}]"
        if dimension["id"] in seen_dimensions:
            errors.append(f"{where}.id: duplicate dimension id {dimension['id']!r}")
        seen_dimensions.add(dimension["id"])
        condition = dimension.get("applies_if")
        if condition is not None and condition not in profile_ids:
            errors.append(f"{where}.applies_if: {condition!r} is not a profile field")
        for q_index, question in enumerate(dimension["questions"]):
            q_where = f"{where}.questions[{q_index}]"
            if question["id"] in seen_questions:
                errors.append(f"{q_where}.id: duplicate question id {question['id']!r}")
            seen_questions.add(question["id"])
            if not question["id"].startswith(f"{dimension['id']}."):
                errors.append(f"{q_where}.id: {question['id']!r} must start with {dimension['id']!r}.")
            check = question.get("verify")
            if check is not None and known_checks is not None and check not in known_checks:
                errors.append(
                    f"{q_where}.verify: {check!r} is not a known check ({', '.join(sorted(known_checks))})"
                )
            if question["critical"] and condition is None:
                critical_levels.add(question["level"])
    missing = sorted({1, 2, 3} - critical_levels)
    if missing:
        errors.append(
            f"dimensions: levels {missing} have no critical question in an always-applicable dimension"
        )
    return errors


def definition_parse(
    content: Any, *, source: str = "definition", known_checks: Collection[str] | None = None
) -> Definition:
    """Validate already-decoded content and build the Definition; raise DefinitionError naming the field."""
    errors = schema_errors(content, schema_path=SCHEMA_PATH)
    if not errors:
        errors = _rule_errors(content, known_checks)
    if errors:
        raise DefinitionError(f"{source}: {errors[0]}", errors=[f"{source}: {e}" for e in errors])
    levels = tuple(
        LevelInfo(
            level=item["level"],
            name=item["name"],
            description=item["description"],
            fte_min=item["fte_min"],
            fte_max=item["fte_max"],
            months_to_next=(item["months_to_next"][0], item["months_to_next"][1])
            if item["months_to_next"]
            else None,
        )
        for item in content["levels"]
    )
    dimensions = tuple(
        Dimension(
            id=d["id"],
            title=d["title"],
            applies_if=d.get("applies_if"),
            questions=tuple(
                Question(
                    id=q["id"],
                    dimension_id=d["id"],
                    level=q["level"],
                    critical=q["critical"],
                    text=q["text"],
                    help=q["help"],
                    evidence=q["evidence"],
                    verify=q.get("verify"),
                )
                for q in d["questions"]
            ),
        )
        for d in content["dimensions"]
    )
    return Definition(
        id=content["id"],
        version=content["version"],
        title=content["title"],
        description=content.get("description", ""),
        levels=levels,
        profile_fields=tuple(
            ProfileField(
                id=f["id"],
                label=f["label"],
                type=f["type"],
                help=f["help"],
                choices=tuple(f.get("choices", ())),
            )
            for f in content["profile"]["fields"]
        ),
        stages=tuple(Stage(**stage) for stage in content["profile"]["stages"]),
        dimensions=dimensions,
        digest=content_digest(content),
        content=content,
    )


def data_file_read(path: Path) -> Any:
    """Decode a .yaml/.yml/.json data file; unreadable or undecodable files raise DefinitionError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DefinitionError(f"{path.name}: not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc


def definition_load(path: Path, *, known_checks: Collection[str] | None = None) -> Definition:
    """Read a .yaml/.yml/.json definition file and validate it."""
    return definition_parse(data_file_read(path), source=path.name, known_checks=known_checks)


# ------------------------------------------------------------------------------------------------ profile


def profile_errors(*, definition: Definition, profile: Mapping[str, Any]) -> dict[str, str]:
    """Missing or mistyped profile answers, by field id (an empty dict means the profile is complete)."""
    errors: dict[str, str] = {}
    for spec in definition.profile_fields:
        value = profile.get(spec.id)
        if value is None:
            errors[spec.id] = "This answer is required."
        elif spec.type == "boolean" and not isinstance(value, bool):
            errors[spec.id] = "Must be true or false."
        elif spec.type == "integer" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            errors[spec.id] = "Must be a whole number ≥ 0."
        elif spec.type == "number" and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            errors[spec.id] = "Must be a number ≥ 0."
        elif spec.type == "choice" and value not in spec.choices:
            errors[spec.id] = f"Must be one of {', '.join(spec.choices)}."
    return errors


def profile_stage(*, definition: Definition, profile: Mapping[str, Any]) -> Stage:
    """The last stage whose minimum number of production models the team reaches."""
    production_models = profile.get("production_models") or 0
    stage = definition.stages[0]
    for candidate in definition.stages:
        if production_models >= candidate.min_production_models:
            stage = candidate
    return stage


def dimension_applies(*, dimension: Dimension, profile: Mapping[str, Any]) -> bool:
    return dimension.applies_if is None or bool(profile.get(dimension.applies_if))


@lru_cache(maxsize=1)
def current_definition() -> Definition:
    """The definition new assessments use (the file shipped with this release)."""
    from assessments.verification import CHECKS

    return definition_load(CURRENT_DEFINITION_PATH, known_checks=CHECKS.keys())
