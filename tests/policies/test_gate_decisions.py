"""Table-driven decisions through the engine layer: one row per case with the reason codes it must produce.
Covers every gate deny code (POLICY_ENGINE_ERROR included) and the risk-tier computation."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest

from policies.engine import GateOutcome, gate_decision, risk_tier_assessment
from policies.loader import BUNDLE_DIR
from tests.policies.inputs import DELETE, approved_high, changed, minimal_profile, signoff

OTHER_SIGNOFFS = [signoff("validator", "victor"), signoff("compliance", "cora")]
COMMITTEE = [signoff("committee", "dan"), signoff("committee", "erin")]

# (id, changes to approved_high(), allow, deny codes, auto_deploy)
GATE_CASES: list[tuple[str, dict[str, Any], bool, set[str], bool]] = [
    ("high-production-all-requirements", {}, True, set(), False),
    (
        "minimal-production-owner-only-auto-deploys",
        {"model.risk_tier": "minimal", "signoffs": [signoff("owner", "carol")]},
        True,
        set(),
        True,
    ),
    (
        "limited-production-owner-and-validator",
        {
            "model.risk_tier": "limited",
            "signoffs": [signoff("owner", "carol"), signoff("validator", "victor")],
        },
        True,
        set(),
        False,
    ),
    ("staging-needs-no-signoffs", {"request.target_stage": "staging", "signoffs": []}, True, set(), False),
    (
        "staging-unassessed-tier-allowed",
        {"request.target_stage": "staging", "model.risk_tier": None, "signoffs": []},
        True,
        set(),
        False,
    ),
    ("unknown-stage", {"request.target_stage": "qa"}, False, {"TARGET_STAGE_UNKNOWN"}, False),
    (
        "unacceptable-production",
        {"model.risk_tier": "unacceptable"},
        False,
        {"RISK_TIER_UNACCEPTABLE"},
        False,
    ),
    (
        "unacceptable-staging",
        {"request.target_stage": "staging", "model.risk_tier": "unacceptable"},
        False,
        {"RISK_TIER_UNACCEPTABLE"},
        False,
    ),
    ("tier-null-production", {"model.risk_tier": None}, False, {"RISK_TIER_UNKNOWN"}, False),
    ("tier-missing-production", {"model.risk_tier": DELETE}, False, {"RISK_TIER_UNKNOWN"}, False),
    ("tier-unassessed-production", {"model.risk_tier": "unassessed"}, False, {"RISK_TIER_UNKNOWN"}, False),
    ("tier-garbage", {"model.risk_tier": "severe"}, False, {"INPUT_INVALID", "RISK_TIER_UNKNOWN"}, False),
    ("no-bias-evidence", {"version.bias_metrics": {"accuracy": 0.9}}, False, {"BIAS_TEST_MISSING"}, False),
    ("bias-metrics-absent", {"version.bias_metrics": DELETE}, False, {"BIAS_TEST_MISSING"}, False),
    (
        "bias-report-is-evidence",
        {"version.bias_metrics": {}, "version.bias_report": {"uri": "runs:/abc/bias.html"}},
        True,
        set(),
        False,
    ),
    (
        "high-threshold-exceeded",
        {"version.bias_metrics": {"bias.demographic_parity_difference": 0.11}},
        False,
        {"BIAS_THRESHOLD_EXCEEDED"},
        False,
    ),
    (
        "high-threshold-exactly-at-limit",
        {"version.bias_metrics": {"bias.demographic_parity_difference": 0.1}},
        True,
        set(),
        False,
    ),
    (
        "negative-beyond-limit",
        {"version.bias_metrics": {"bias.equal_opportunity_difference": -0.1000001}},
        False,
        {"BIAS_THRESHOLD_EXCEEDED"},
        False,
    ),
    (
        "minimal-threshold-exactly-at-limit",
        {
            "model.risk_tier": "minimal",
            "version.bias_metrics": {"bias.demographic_parity_difference": -0.25},
            "signoffs": [signoff("owner", "carol")],
        },
        True,
        set(),
        True,
    ),
    ("owner-missing", {"signoffs": OTHER_SIGNOFFS + COMMITTEE}, False, {"SIGNOFF_MISSING"}, False),
    (
        "owner-only-by-submitter",
        {"signoffs": [signoff("owner", "alice"), *OTHER_SIGNOFFS, *COMMITTEE]},
        False,
        {"SIGNOFF_MISSING", "SIGNOFF_SEPARATION_OF_DUTIES"},
        False,
    ),
    (
        "validator-is-responsible",
        {
            "model.raci": {"responsible": ["alice", "victor"]},
        },
        False,
        {"SIGNOFF_MISSING", "SIGNOFF_NOT_INDEPENDENT"},
        False,
    ),
    ("quorum-not-met", {"committee.quorum": 3}, False, {"SIGNOFF_MISSING"}, False),
    ("quorum-default-when-absent", {"committee": DELETE}, True, set(), False),
    (
        "stale-owner-signoff",
        {"signoffs": [signoff("owner", "carol", version=2), *OTHER_SIGNOFFS, *COMMITTEE]},
        False,
        {"SIGNOFF_MISSING"},
        False,
    ),
    (
        "withdrawn-owner-signoff",
        {"signoffs": [signoff("owner", "carol", valid=False), *OTHER_SIGNOFFS, *COMMITTEE]},
        False,
        {"SIGNOFF_MISSING"},
        False,
    ),
    (
        "stringly-valid-signoff",
        {"signoffs": [signoff("owner", "carol", valid="true"), *OTHER_SIGNOFFS, *COMMITTEE]},
        False,
        {"INPUT_INVALID", "SIGNOFF_MISSING"},
        False,
    ),
    ("version-as-string", {"version.version": "3"}, False, {"INPUT_INVALID", "SIGNOFF_MISSING"}, False),
    (
        "bias-metric-as-string",
        {"version.bias_metrics": {"bias.demographic_parity_difference": "0.01"}},
        False,
        {"INPUT_INVALID"},
        False,
    ),
    (
        "submitter-missing",
        {"version.submitted_by": DELETE},
        False,
        {"INPUT_INVALID", "SIGNOFF_MISSING"},
        False,
    ),
    ("request-missing", {"request": DELETE}, False, {"INPUT_INVALID"}, False),
    (
        "input-not-json-nan",
        {"version.bias_metrics": {"bias.x": float("nan")}},
        False,
        {"POLICY_ENGINE_ERROR"},
        False,
    ),
    (
        "input-not-json-datetime",
        {"request.requested_at": datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)},
        False,
        {"POLICY_ENGINE_ERROR"},
        False,
    ),
]


def codes(outcome: GateOutcome) -> set[str]:
    return {reason["code"] for reason in outcome.deny}


@pytest.mark.parametrize(
    ("changes", "allow", "expected_codes", "auto_deploy"),
    [case[1:] for case in GATE_CASES],
    ids=[case[0] for case in GATE_CASES],
)
def test_gate_decision(
    changes: dict[str, Any], allow: bool, expected_codes: set[str], auto_deploy: bool
) -> None:
    outcome = gate_decision(changed(approved_high(), changes))
    assert (outcome.allow, codes(outcome), outcome.auto_deploy) == (allow, expected_codes, auto_deploy)


def test_empty_input_denies() -> None:
    outcome = gate_decision({})
    assert not outcome.allow
    assert codes(outcome) == {"INPUT_INVALID", "BIAS_TEST_MISSING"}
    assert outcome.risk_tier == "unassessed"


def test_messages_name_role_metric_value_and_limit() -> None:
    outcome = gate_decision(
        changed(
            approved_high(),
            {
                "version.bias_metrics": {"bias.equal_opportunity_difference": 0.13},
                "signoffs": OTHER_SIGNOFFS + COMMITTEE,
            },
        )
    )
    assert {reason["message"] for reason in outcome.deny} == {
        "bias.equal_opportunity_difference = 0.13 exceeds the high-tier limit of 0.1 (absolute value)",
        "production needs 1 owner sign-off(s) for version 3; 0 counted",
    }
    assert [reason["code"] for reason in outcome.deny] == ["BIAS_THRESHOLD_EXCEEDED", "SIGNOFF_MISSING"]


def test_required_signoffs_report_counts() -> None:
    outcome = gate_decision(changed(approved_high(), {"committee.quorum": 3}))
    assert outcome.required_signoffs == (
        {"role": "owner", "count": 1, "independent": False, "received": 1},
        {"role": "validator", "count": 1, "independent": True, "received": 1},
        {"role": "compliance", "count": 1, "independent": False, "received": 1},
        {"role": "committee", "count": 3, "independent": False, "received": 2},
    )


def bundle_codes(path: str) -> set[str]:
    return set(re.findall(r'"code": "([A-Z_0-9]+)"', (BUNDLE_DIR / path).read_text()))


def test_table_exercises_every_gate_code() -> None:
    exercised = set().union(*(case[3] for case in GATE_CASES))
    assert bundle_codes("gates/deploy.rego") | {"POLICY_ENGINE_ERROR"} == exercised


# (id, changes to minimal_profile(), tier, reason codes)
RISK_CASES: list[tuple[str, dict[str, Any], str, set[str]]] = [
    ("no-factor", {}, "minimal", {"NO_RISK_FACTORS"}),
    ("prohibited", {"profile.prohibited_practice": True}, "unacceptable", {"PROHIBITED_PRACTICE"}),
    (
        "eu-employment",
        {
            "profile.jurisdictions": ["EU"],
            "profile.data_residency": ["EU"],
            "profile.sectors": ["employment"],
        },
        "high",
        {"EU_AI_ACT_ANNEX_III"},
    ),
    ("us-employment-not-annex-iii", {"profile.sectors": ["employment"]}, "minimal", {"NO_RISK_FACTORS"}),
    (
        "eu-safety-component",
        {"profile.jurisdictions": ["EU"], "profile.data_residency": ["EU"], "profile.safety_component": True},
        "high",
        {"EU_AI_ACT_ANNEX_I"},
    ),
    (
        "eu-chatbot",
        {
            "profile.jurisdictions": ["EU"],
            "profile.data_residency": ["EU"],
            "profile.interacts_with_people": True,
        },
        "limited",
        {"EU_AI_ACT_TRANSPARENCY"},
    ),
    (
        "eu-automated-legal-decision",
        {
            "profile.jurisdictions": ["EU"],
            "profile.data_residency": ["EU"],
            "profile.personal_data": True,
            "profile.decision_impact": "legal_or_similar",
            "profile.autonomy": "fully_automated",
        },
        "high",
        {"GDPR_AUTOMATED_DECISION", "AUTOMATED_SIGNIFICANT_DECISION"},
    ),
    (
        "eu-special-category",
        {
            "profile.jurisdictions": ["EU"],
            "profile.data_residency": ["EU"],
            "profile.special_category_data": True,
        },
        "limited",
        {"GDPR_SPECIAL_CATEGORY"},
    ),
    (
        "eu-data-in-us",
        {"profile.jurisdictions": ["EU"], "profile.personal_data": True},
        "high",
        {"DATA_RESIDENCY_MISMATCH"},
    ),
    ("us-credit", {"profile.sectors": ["credit"]}, "high", {"MODEL_RISK_CREDIT"}),
    ("us-banking", {"profile.sectors": ["banking"]}, "limited", {"MODEL_RISK_BANKING"}),
    ("phi", {"profile.phi": True}, "limited", {"HIPAA_PHI"}),
    (
        "significant-with-human",
        {"profile.decision_impact": "significant"},
        "limited",
        {"SIGNIFICANT_DECISION_IMPACT"},
    ),
    (
        "significant-automated",
        {"profile.decision_impact": "significant", "profile.autonomy": "fully_automated"},
        "high",
        {"AUTOMATED_SIGNIFICANT_DECISION"},
    ),
    ("large-user-base", {"profile.users_affected": 100000}, "limited", {"LARGE_USER_BASE"}),
    ("profile-missing", {"profile": DELETE}, "unassessed", {"INPUT_INVALID"}),
    ("as-of-malformed", {"as_of": "2026/11/23"}, "unassessed", {"INPUT_INVALID"}),
    ("field-missing", {"profile.autonomy": DELETE}, "unassessed", {"INPUT_INVALID"}),
]


@pytest.mark.parametrize(
    ("changes", "tier", "expected_codes"),
    [case[1:] for case in RISK_CASES],
    ids=[case[0] for case in RISK_CASES],
)
def test_risk_tier(changes: dict[str, Any], tier: str, expected_codes: set[str]) -> None:
    assessment = risk_tier_assessment(changed(minimal_profile(), changes))
    assert (assessment.tier, {reason["code"] for reason in assessment.reasons}) == (tier, expected_codes)


def test_risk_table_exercises_every_risk_code() -> None:
    exercised = set().union(*(case[3] for case in RISK_CASES))
    assert bundle_codes("risk/tier.rego") == exercised


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (
            "2027-12-01",
            "EU AI Act Annex III: employment; high-risk obligations apply from 2027-12-02, not yet on "
            "2027-12-01: prepare now",
        ),
        ("2027-12-02", "EU AI Act Annex III: employment; high-risk obligations apply since 2027-12-02"),
    ],
)
def test_annex_iii_reason_states_application_date(as_of: str, expected: str) -> None:
    document = changed(
        minimal_profile(as_of=as_of),
        {
            "profile.jurisdictions": ["EU"],
            "profile.data_residency": ["EU"],
            "profile.sectors": ["employment"],
        },
    )
    assessment = risk_tier_assessment(document)
    assert assessment.tier == "high"
    assert [reason["message"] for reason in assessment.reasons] == [expected]


@pytest.mark.parametrize(("as_of", "citation"), [("2026-04-16", "SR 11-7"), ("2026-04-17", "SR 26-2")])
def test_credit_reason_cites_guidance_in_force(as_of: str, citation: str) -> None:
    assessment = risk_tier_assessment(changed(minimal_profile(as_of=as_of), {"profile.sectors": ["credit"]}))
    assert [reason["regulation"] for reason in assessment.reasons] == [citation]


def test_every_reason_code_is_documented() -> None:
    documentation = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    all_codes = bundle_codes("gates/deploy.rego") | bundle_codes("risk/tier.rego") | {"POLICY_ENGINE_ERROR"}
    assert sorted(code for code in all_codes if f"`{code}`" not in documentation) == []
