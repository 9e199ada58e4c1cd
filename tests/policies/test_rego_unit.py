"""Runs every `test_*` rule of every `*_test.rego` in the bundle (one pytest case each) with regorus.
Also checks the runner itself: it must report undefined, false, erroring and duplicated tests as failures."""

from __future__ import annotations

import functools

import pytest

from policies.loader import BundleFile, read_bundle
from policies.rego_tests import RegoTestReport, run_rego_tests


@functools.cache
def bundle_report() -> RegoTestReport:
    return run_rego_tests()


def test_bundle_has_rego_tests_for_every_policy_file() -> None:
    paths = {bundle_file.path for bundle_file in read_bundle() if bundle_file.is_rego}
    policies = {path for path in paths if not path.endswith("_test.rego")}
    assert policies, "the bundle has no policy modules"
    for path in policies:
        assert path.removesuffix(".rego") + "_test.rego" in paths, f"{path} has no _test.rego beside it"


@pytest.mark.parametrize("rule", [result.rule for result in bundle_report().results])
def test_rego_rule_passes(rule: str) -> None:
    result = next(result for result in bundle_report().results if result.rule == rule)
    assert result.passed, f"{result.rule} ({result.file}) failed: {result.detail}"


def test_no_rego_test_fails() -> None:
    failing = [f"{result.rule}: {result.detail}" for result in bundle_report().failures]
    assert not failing, "failing Rego tests:\n" + "\n".join(failing)


POLICY = b"""package demo
import rego.v1

deny contains "a" if {
\tinput.a == 1
}

deny contains "b" if {
\tinput.b == 1
}
"""


def run_demo(tests: str) -> RegoTestReport:
    files = (
        BundleFile(path="demo.rego", content=POLICY),
        BundleFile(path="demo_test.rego", content=("package demo_test\nimport rego.v1\n" + tests).encode()),
    )
    return run_rego_tests(files=files)


def test_runner_reports_each_kind_of_failure() -> None:
    report = run_demo(
        'test_passes if {\n\t"a" in data.demo.deny with input as {"a": 1}\n}\n'
        "test_undefined if {\n\tinput.nothing\n}\n"
        "test_false := false\n"
        "test_not_true := 1\n"
        'test_errors if {\n\tstartswith(input.n, "x") with input as {"n": 1}\n}\n'
    )
    details = {result.name: result.detail for result in report.results if not result.passed}
    assert [result.name for result in report.results if result.passed] == ["test_passes"]
    assert details["test_undefined"] == "undefined"
    assert details["test_false"] == "evaluated to false"
    assert details["test_not_true"] == "evaluated to 1"
    assert "startswith" in details["test_errors"]


def test_runner_rejects_duplicate_test_names() -> None:
    report = run_demo("test_twice if {\n\tfalse\n}\ntest_twice if {\n\ttrue\n}\n")
    assert not report.results[0].passed
    assert report.results[0].detail == "defined 2 times; give each test a unique name"


def test_coverage_names_the_rule_no_test_fired() -> None:
    report = run_demo('test_a if {\n\t"a" in data.demo.deny with input as {"a": 1}\n}\n')
    assert not report.failures
    assert [(rule.line, rule.covered) for rule in report.decision_rules] == [(4, True), (8, False)]
    assert report.rule_coverage_percent == 50.0
    assert not report.ok


def test_module_no_test_evaluates_counts_as_uncovered() -> None:
    report = run_demo("test_trivial if {\n\ttrue\n}\n")
    assert [rule.covered for rule in report.decision_rules] == [False, False]
