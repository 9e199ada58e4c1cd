"""Runs the bundle's Rego unit tests (`test_*` rules in `*_test.rego`) with regorus, like `opa test`.
Also reports which decision rules (`deny contains`, `findings contains`, ...) the tests made fire."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import regorus

from policies.loader import BundleFile, build_engine, first_paragraph, read_bundle

_PACKAGE_RE = re.compile(r"^package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_TEST_RULE_RE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
# Multi-value rule heads sit alone on their line, so a covered head line means the rule produced a value.
_DECISION_RULE_RE = re.compile(r"^([a-z_][a-z0-9_]*) contains\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoTestResult:
    file: str
    package: str
    name: str
    passed: bool
    detail: str  # why it failed: "undefined", the value it produced, or the engine's error

    @property
    def rule(self) -> str:
        return f"data.{self.package}.{self.name}"


@dataclass(frozen=True)
class RuleCoverage:
    file: str
    line: int
    name: str  # the rule name, e.g. "deny" or "input_problems"
    head: str  # the head line as written
    covered: bool


@dataclass(frozen=True)
class RegoTestReport:
    results: tuple[RegoTestResult, ...]
    decision_rules: tuple[RuleCoverage, ...]
    covered_lines: int
    coverable_lines: int

    @property
    def failures(self) -> tuple[RegoTestResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    @property
    def uncovered_rules(self) -> tuple[RuleCoverage, ...]:
        return tuple(rule for rule in self.decision_rules if not rule.covered)

    @property
    def rule_coverage_percent(self) -> float:
        if not self.decision_rules:
            return 100.0
        return 100.0 * (len(self.decision_rules) - len(self.uncovered_rules)) / len(self.decision_rules)

    @property
    def line_coverage_percent(self) -> float:
        return 100.0 * self.covered_lines / self.coverable_lines if self.coverable_lines else 100.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.uncovered_rules


def run_rego_tests(*, files: Iterable[BundleFile] | None = None) -> RegoTestReport:
    """Evaluate every test rule on one engine with coverage on; a test passes only when it is exactly true."""
    bundle = tuple(read_bundle() if files is None else files)
    engine = build_engine(files=bundle, include_tests=True)
    engine.set_enable_coverage(True)
    results = [
        _run_one(engine, bundle_file=bundle_file, name=name, definitions=definitions)
        for bundle_file in bundle
        if bundle_file.is_test
        for name, definitions in Counter(_TEST_RULE_RE.findall(bundle_file.text)).items()
    ]
    reports = {report["path"]: report for report in json.loads(engine.get_coverage_report_as_json())["files"]}
    decision_rules: list[RuleCoverage] = []
    covered_lines = coverable_lines = 0
    for source in bundle:
        if not source.is_rego or source.is_test:
            continue
        # A module no test evaluated is absent from the report: all of its rules count as uncovered.
        report = reports.get(source.path, {"covered": [], "not_covered": []})
        covered = set(report["covered"])
        covered_lines += len(covered)
        coverable_lines += len(covered) + len(report["not_covered"])
        decision_rules.extend(_decision_rules(source, covered))
    return RegoTestReport(
        results=tuple(results),
        decision_rules=tuple(sorted(decision_rules, key=lambda rule: (rule.file, rule.line))),
        covered_lines=covered_lines,
        coverable_lines=coverable_lines,
    )


def _run_one(
    engine: regorus.Engine, *, bundle_file: BundleFile, name: str, definitions: int
) -> RegoTestResult:
    package_match = _PACKAGE_RE.search(bundle_file.text)
    package = package_match.group(1) if package_match else ""

    def result(passed: bool, detail: str = "") -> RegoTestResult:
        return RegoTestResult(file=bundle_file.path, package=package, name=name, passed=passed, detail=detail)

    # A complete rule with several bodies is true if any body is, which would hide a failing one.
    if definitions > 1:
        return result(False, f"defined {definitions} times; give each test a unique name")
    try:
        answer = json.loads(engine.eval_query_as_json(f"data.{package}.{name}"))
    except RuntimeError as exc:
        return result(False, first_paragraph(str(exc)))
    rows = answer.get("result") or []
    if not rows:
        return result(False, "undefined")
    value = rows[0]["expressions"][0]["value"]
    return result(True) if value is True else result(False, f"evaluated to {json.dumps(value)}")


def _decision_rules(source: BundleFile, covered: set[int]) -> list[RuleCoverage]:
    rules = []
    for match in _DECISION_RULE_RE.finditer(source.text):
        line = source.text.count("\n", 0, match.start()) + 1
        head = source.text[match.start() :].split("\n", 1)[0]
        rules.append(
            RuleCoverage(file=source.path, line=line, name=match.group(1), head=head, covered=line in covered)
        )
    return rules
