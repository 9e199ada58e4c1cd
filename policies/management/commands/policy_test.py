"""`manage.py policy_test`: runs the bundle's Rego unit tests with regorus and reports decision-rule coverage.
Exits non-zero when a test fails or decision-rule coverage is below --min-coverage (100 by default)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.rego_tests import run_rego_tests


class Command(BaseCommand):
    help = "Run every test_* rule of the policy bundle and report coverage of deny/decision rules."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--min-coverage",
            type=float,
            default=100.0,
            help="Minimum percentage of decision rules (deny, input_problems, findings) the tests must fire.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = run_rego_tests()
        for result in report.results:
            if result.passed:
                self.stdout.write(f"PASS {result.rule}")
            else:
                self.stdout.write(self.style.ERROR(f"FAIL {result.rule}: {result.detail}"))
        self.stdout.write(
            f"\n{len(report.results) - len(report.failures)} passed, {len(report.failures)} failed"
        )

        covered_rules = len(report.decision_rules) - len(report.uncovered_rules)
        self.stdout.write(
            f"decision rules fired by tests: {covered_rules}/{len(report.decision_rules)} "
            f"({report.rule_coverage_percent:.1f} %)"
        )
        for rule in report.uncovered_rules:
            self.stdout.write(self.style.WARNING(f"  not covered: {rule.file}:{rule.line} {rule.head}"))
        self.stdout.write(
            f"policy lines covered: {report.covered_lines}/{report.coverable_lines} "
            f"({report.line_coverage_percent:.1f} %)"
        )

        if report.failures:
            raise CommandError(f"{len(report.failures)} policy test(s) failed")
        if report.rule_coverage_percent < options["min_coverage"]:
            raise CommandError(
                f"decision-rule coverage {report.rule_coverage_percent:.1f} % is below {options['min_coverage']} %"
            )
        self.stdout.write(self.style.SUCCESS("policy tests OK"))
