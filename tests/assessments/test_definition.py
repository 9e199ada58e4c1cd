"""Definitions as data: the shipped files are valid; malformed files are refused with the failing field path;
published versions are never edited in place."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from assessments.models import QuestionnaireVersion
from assessments.questionnaire import (
    CURRENT_DEFINITION_PATH,
    Definition,
    DefinitionError,
    definition_load,
    definition_parse,
)
from assessments.roadmap import CURRENT_CATALOGUE_PATH, catalogue_parse
from assessments.services import AssessmentError, questionnaire_version_publish
from assessments.verification import CHECKS
from governance.models import AuditEvent

Mutation = Callable[[dict[str, Any]], None]


def _raw() -> dict[str, Any]:
    return yaml.safe_load(CURRENT_DEFINITION_PATH.read_text(encoding="utf-8"))


def test_shipped_definition_is_valid(definition: Definition) -> None:
    assert 40 <= len(definition.questions) <= 60
    assert {d.id for d in definition.dimensions} >= {
        "data",
        "experiments",
        "registry",
        "cicd",
        "monitoring",
        "retraining",
        "governance",
        "team",
        "llm",
    }
    assert [s.id for s in definition.stages] == ["first_poc", "first_production", "few_models", "many_models"]
    for level in (1, 2, 3):
        assert any(q.critical and q.level == level for q in definition.questions)
    assert {q.verify for q in definition.questions if q.verify} <= set(CHECKS)


def _set(path: list[str | int], value: Any) -> Mutation:
    def mutate(content: dict[str, Any]) -> None:
        target: Any = content
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _duplicate_question(content: dict[str, Any]) -> None:
    content["dimensions"][0]["questions"][1]["id"] = content["dimensions"][0]["questions"][0]["id"]


def _drop_text(content: dict[str, Any]) -> None:
    del content["dimensions"][0]["questions"][0]["text"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _set(["dimensions", 2, "questions", 4, "level"], 5),
            "dimensions[2].questions[4].level: 5 is not one of [1, 2, 3]",
        ),
        (
            _set(["dimensions", 0, "questions", 0, "critical"], "yes"),
            "dimensions[0].questions[0].critical: 'yes' is not of type 'boolean'",
        ),
        (_drop_text, "dimensions[0].questions[0]: 'text' is a required property"),
        (
            _set(["dimensions", 1, "colour"], "red"),
            "dimensions[1]: Additional properties are not allowed ('colour' was unexpected)",
        ),
        (
            _duplicate_question,
            "dimensions[0].questions[1].id: duplicate question id 'data.sources_documented'",
        ),
        (
            _set(["dimensions", 0, "questions", 1, "verify"], "crystal_ball"),
            "dimensions[0].questions[1].verify: 'crystal_ball' is not a known check",
        ),
        (
            _set(["dimensions", 8, "applies_if"], "uses_quantum"),
            "dimensions[8].applies_if: 'uses_quantum' is not a profile field",
        ),
        (
            _set(["profile", "stages", 2, "min_production_models"], 1),
            "profile.stages: min_production_models must start at 0 and strictly increase",
        ),
    ],
)
def test_malformed_definition_names_the_field(tmp_path: Path, mutate: Mutation, message: str) -> None:
    content = _raw()
    mutate(content)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")

    with pytest.raises(DefinitionError) as error:
        definition_load(path, known_checks=CHECKS.keys())

    assert str(error.value).startswith(f"broken.yaml: {message}")


def test_all_schema_errors_are_collected() -> None:
    content = _raw()
    content["dimensions"][0]["questions"][0]["level"] = 7
    content["dimensions"][3]["questions"][1]["critical"] = "maybe"

    with pytest.raises(DefinitionError) as error:
        definition_parse(content, source="x")

    assert len(error.value.errors) == 2


def test_unparseable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")

    with pytest.raises(DefinitionError, match=r"^broken.yaml: not valid YAML"):
        definition_load(path)


def test_json_definitions_load_too_and_formatting_does_not_change_the_digest(
    tmp_path: Path, definition: Definition
) -> None:
    path = tmp_path / "same.json"
    path.write_text(json.dumps(_raw(), indent=4), encoding="utf-8")

    assert definition_load(path).digest == definition.digest


def _catalogue_raw() -> dict[str, Any]:
    return yaml.safe_load(CURRENT_CATALOGUE_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _set(["capabilities", 1, "prerequisites"], ["nope"]),
            "capabilities[1].prerequisites[0]: 'nope' is not a capability",
        ),
        (
            _set(["capabilities", 0, "effort_fte_weeks"], 0),
            "capabilities[0].effort_fte_weeks: 0 is less than or equal to the minimum of 0",
        ),
        (
            _set(["capabilities", 0, "stage_from"], "someday"),
            "capabilities[0].stage_from: 'someday' is not one of",
        ),
        (_set(["capabilities", 0, "prerequisites"], ["artifact_store"]), "capabilities: prerequisite cycle"),
        (
            _set(["capabilities", 0, "satisfied_by"], ["data.nope"]),
            "capabilities[0].satisfied_by[0]: 'data.nope' is not a question",
        ),
    ],
)
def test_malformed_catalogue_names_the_field(definition: Definition, mutate: Mutation, message: str) -> None:
    content = _catalogue_raw()
    mutate(content)

    with pytest.raises(DefinitionError) as error:
        catalogue_parse(content, definition=definition, source="catalogue.yaml")

    assert str(error.value).startswith(f"catalogue.yaml: {message}")


@pytest.mark.django_db
def test_publishing_is_idempotent_and_audited(definition: Definition) -> None:
    first = questionnaire_version_publish(definition=definition, actor="system:test")
    again = questionnaire_version_publish(definition=definition, actor="system:test")

    assert first.pk == again.pk
    assert first.digest == definition.digest
    assert QuestionnaireVersion.objects.count() == 1
    assert AuditEvent.objects.filter(action="assessments.questionnaire_published").count() == 1


@pytest.mark.django_db
def test_a_published_definition_is_never_edited_in_place(definition: Definition) -> None:
    questionnaire_version_publish(definition=definition, actor="system:test")
    content = copy.deepcopy(_raw())
    content["dimensions"][0]["questions"][0]["text"] = "Reworded question."
    changed = definition_parse(content)

    with pytest.raises(AssessmentError) as error:
        questionnaire_version_publish(definition=changed, actor="system:test")

    assert (error.value.code, error.value.status) == ("DEFINITION_CHANGED", 409)
    assert QuestionnaireVersion.objects.get().digest == definition.digest
