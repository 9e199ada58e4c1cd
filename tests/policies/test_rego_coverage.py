"""The bundle's Rego tests must make every decision rule fire: each deny rule, input check and risk finding.
A rule no test fires is a policy path nobody has seen produce a reason."""

from __future__ import annotations

from policies.rego_tests import run_rego_tests


def test_every_decision_rule_is_covered_by_rego_tests() -> None:
    report = run_rego_tests()
    uncovered = [f"{rule.file}:{rule.line} {rule.head}" for rule in report.uncovered_rules]
    assert not uncovered, "decision rules no Rego test fires:\n" + "\n".join(uncovered)
    assert report.rule_coverage_percent == 100.0
    names = {(rule.file, rule.name) for rule in report.decision_rules}
    assert {("gates/deploy.rego", "deny"), ("risk/tier.rego", "findings")} <= names
    assert sum(rule.name == "deny" for rule in report.decision_rules) >= 9
