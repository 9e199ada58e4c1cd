package gates.deploy_test

import rego.v1

import data.gates.deploy

# A high-risk version with every production requirement met; each test changes one thing.
approved_high := {
	"request": {"target_stage": "production", "requested_at": "2026-11-23T10:00:00Z"},
	"model": {
		"name": "credit-scorer",
		"risk_tier": "high",
		"raci": {"responsible": ["alice"], "accountable": ["carol"], "consulted": ["dora"], "informed": []},
	},
	"version": {
		"version": 3,
		"run_id": "abc",
		"submitted_by": "alice",
		"bias_metrics": {
			"bias.demographic_parity_difference": 0.04,
			"bias.equal_opportunity_difference": -0.05,
			"accuracy": 0.91,
		},
		"bias_report": null,
	},
	"signoffs": [
		{"role": "owner", "user": "carol", "version": 3, "valid": true},
		{"role": "validator", "user": "victor", "version": 3, "valid": true},
		{"role": "compliance", "user": "cora", "version": 3, "valid": true},
		{"role": "committee", "user": "dan", "version": 3, "valid": true},
		{"role": "committee", "user": "erin", "version": 3, "valid": true},
	],
	"committee": {"quorum": 2},
}

owner_signoff := {"role": "owner", "user": "carol", "version": 3, "valid": true}

validator_signoff := {"role": "validator", "user": "victor", "version": 3, "valid": true}

decide(patch) := result if {
	result := deploy.decision with input as object.union(approved_high, patch)
}

# object.union merges nested objects, so bias metrics are replaced wholesale here instead.
decide_with_metrics(metrics, patch) := result if {
	without_metrics := json.remove(approved_high, ["version/bias_metrics"])
	doc := object.union(object.union(without_metrics, patch), {"version": {"bias_metrics": metrics}})
	result := deploy.decision with input as doc
}

decide_doc(doc) := result if {
	result := deploy.decision with input as doc
}

codes(result) := {entry.code | some entry in result.deny}

messages(result) := {entry.message | some entry in result.deny}

denied_with(result, expected_codes) if {
	result.allow == false
	result.auto_deploy == false
	codes(result) == expected_codes
}

with_signoffs(signoffs) := {"signoffs": signoffs}

# ---------------------------------------------------------------- allowed paths

test_high_production_with_all_requirements_allowed if {
	result := decide({})
	result.allow == true
	result.deny == []
	result.risk_tier == "high"
	result.auto_deploy == false
	result.required_signoffs == [
		{"role": "owner", "count": 1, "independent": false, "received": 1},
		{"role": "validator", "count": 1, "independent": true, "received": 1},
		{"role": "compliance", "count": 1, "independent": false, "received": 1},
		{"role": "committee", "count": 2, "independent": false, "received": 2},
	]
}

test_minimal_production_with_owner_auto_deploys if {
	result := decide({"model": {"risk_tier": "minimal"}, "signoffs": [owner_signoff]})
	result.allow == true
	result.auto_deploy == true
	result.required_signoffs == [{"role": "owner", "count": 1, "independent": false, "received": 1}]
}

test_limited_production_with_owner_and_validator_allowed_not_auto if {
	result := decide({"model": {"risk_tier": "limited"}, "signoffs": [owner_signoff, validator_signoff]})
	result.allow == true
	result.auto_deploy == false
}

test_limited_validator_need_not_be_independent if {
	responsible_validator := {"role": "validator", "user": "bob", "version": 3, "valid": true}
	result := decide({
		"model": {"risk_tier": "limited", "raci": {"responsible": ["alice", "bob"]}},
		"signoffs": [owner_signoff, responsible_validator],
	})
	result.allow == true
}

test_staging_needs_no_signoffs if {
	result := decide({"request": {"target_stage": "staging"}, "signoffs": []})
	result.allow == true
	result.required_signoffs == []
}

test_staging_allows_unassessed_tier_without_auto_deploy if {
	result := decide({"request": {"target_stage": "staging"}, "model": {"risk_tier": null}, "signoffs": []})
	result.allow == true
	result.risk_tier == "unassessed"
	result.auto_deploy == false
}

test_staging_minimal_auto_deploys if {
	result := decide({"request": {"target_stage": "staging"}, "model": {"risk_tier": "minimal"}, "signoffs": []})
	result.auto_deploy == true
}

test_bias_report_alone_is_evidence if {
	result := decide_with_metrics({"accuracy": 0.9}, {"version": {"bias_report": {"uri": "runs:/abc/bias_report.html"}}})
	result.allow == true
}

test_fairness_prefix_counts_as_bias_evidence if {
	result := decide_with_metrics({"fairness.custom_gap": 0.01}, {})
	result.allow == true
}

test_missing_committee_uses_default_quorum if {
	doc := json.remove(approved_high, ["committee"])
	result := decide_doc(doc)
	result.allow == true
	result.required_signoffs[3].count == 2
}

test_null_optional_fields_mean_absent if {
	result := decide({
		"request": {"target_stage": "staging"},
		"version": {"bias_metrics": null, "bias_report": {"uri": "s3://reports/3.html"}},
		"signoffs": null,
		"committee": null,
	})
	result.allow == true
}

test_deny_list_is_sorted if {
	result := decide_doc({})
	count(result.deny) > 1
	result.deny == sort(result.deny)
}

# ---------------------------------------------------------------- stage and risk tier

test_unknown_target_stage_denied if {
	result := decide({"request": {"target_stage": "qa"}})
	denied_with(result, {"TARGET_STAGE_UNKNOWN"})
	"target stage 'qa' is not one of: staging, production" in messages(result)
}

test_unacceptable_tier_denied_in_production if {
	result := decide({"model": {"risk_tier": "unacceptable"}})
	denied_with(result, {"RISK_TIER_UNACCEPTABLE"})
	result.required_signoffs == []
}

test_unacceptable_tier_denied_in_staging if {
	denied_with(decide({"request": {"target_stage": "staging"}, "model": {"risk_tier": "unacceptable"}}), {"RISK_TIER_UNACCEPTABLE"})
}

test_missing_risk_tier_denied_in_production if {
	doc := json.remove(approved_high, ["model/risk_tier"])
	result := decide_doc(doc)
	denied_with(result, {"RISK_TIER_UNKNOWN"})
	result.risk_tier == "unassessed"
}

test_null_risk_tier_denied_in_production if {
	denied_with(decide({"model": {"risk_tier": null}}), {"RISK_TIER_UNKNOWN"})
}

test_unassessed_risk_tier_denied_in_production if {
	denied_with(decide({"model": {"risk_tier": "unassessed"}}), {"RISK_TIER_UNKNOWN"})
}

test_unrecognised_risk_tier_is_invalid_and_unknown if {
	denied_with(decide({"model": {"risk_tier": "banana"}}), {"INPUT_INVALID", "RISK_TIER_UNKNOWN"})
}

test_non_string_risk_tier_is_invalid_and_unknown if {
	denied_with(decide({"model": {"risk_tier": 3}}), {"INPUT_INVALID", "RISK_TIER_UNKNOWN"})
}

# ---------------------------------------------------------------- bias evidence and thresholds

test_no_bias_metrics_and_no_report_denied if {
	denied_with(decide_with_metrics({"accuracy": 0.9}, {}), {"BIAS_TEST_MISSING"})
}

test_absent_bias_metrics_denied if {
	doc := json.remove(approved_high, ["version/bias_metrics"])
	denied_with(decide_doc(doc), {"BIAS_TEST_MISSING"})
}

test_bias_report_without_uri_is_invalid_and_missing if {
	result := decide_with_metrics({}, {"version": {"bias_report": {"uri": ""}}})
	denied_with(result, {"BIAS_TEST_MISSING", "INPUT_INVALID"})
}

test_high_tier_threshold_exceeded if {
	result := decide_with_metrics({"bias.demographic_parity_difference": 0.11}, {})
	denied_with(result, {"BIAS_THRESHOLD_EXCEEDED"})
	msg := "bias.demographic_parity_difference = 0.11 exceeds the high-tier limit of 0.1 (absolute value)"
	msg in messages(result)
}

test_negative_value_compared_by_absolute_value if {
	result := decide_with_metrics({"bias.equal_opportunity_difference": -0.12}, {})
	denied_with(result, {"BIAS_THRESHOLD_EXCEEDED"})
}

test_exactly_at_high_threshold_allowed if {
	metrics := {"bias.demographic_parity_difference": 0.1, "bias.equal_opportunity_difference": -0.1}
	decide_with_metrics(metrics, {}).allow
}

test_exactly_at_limited_threshold_allowed if {
	result := decide_with_metrics(
		{"bias.demographic_parity_difference": 0.2},
		{
			"model": {"risk_tier": "limited"},
			"signoffs": [owner_signoff, validator_signoff],
		},
	)
	result.allow == true
}

test_above_limited_threshold_denied if {
	result := decide_with_metrics(
		{"bias.demographic_parity_difference": 0.21},
		{
			"model": {"risk_tier": "limited"},
			"signoffs": [owner_signoff, validator_signoff],
		},
	)
	denied_with(result, {"BIAS_THRESHOLD_EXCEEDED"})
}

test_exactly_at_minimal_threshold_allowed if {
	result := decide_with_metrics(
		{"bias.equal_opportunity_difference": 0.25},
		{
			"model": {"risk_tier": "minimal"},
			"signoffs": [owner_signoff],
		},
	)
	result.allow == true
}

test_above_minimal_threshold_denied if {
	result := decide_with_metrics(
		{"bias.equal_opportunity_difference": 0.26},
		{
			"model": {"risk_tier": "minimal"},
			"signoffs": [owner_signoff],
		},
	)
	denied_with(result, {"BIAS_THRESHOLD_EXCEEDED"})
	"bias.equal_opportunity_difference = 0.26 exceeds the minimal-tier limit of 0.25 (absolute value)" in messages(result)
}

test_unassessed_staging_held_to_strictest_threshold if {
	result := decide_with_metrics(
		{"bias.demographic_parity_difference": 0.15},
		{
			"request": {"target_stage": "staging"},
			"model": {"risk_tier": null},
		},
	)
	denied_with(result, {"BIAS_THRESHOLD_EXCEEDED"})
	"bias.demographic_parity_difference = 0.15 exceeds the high-tier limit of 0.1 (absolute value)" in messages(result)
}

test_threshold_applies_even_with_bias_report if {
	result := decide_with_metrics(
		{"bias.demographic_parity_difference": 0.3},
		{"version": {"bias_report": {"uri": "runs:/abc/bias.html"}}},
	)
	denied_with(result, {"BIAS_THRESHOLD_EXCEEDED"})
}

# ---------------------------------------------------------------- sign-offs

test_missing_owner_signoff_named if {
	result := decide(with_signoffs([s | some s in approved_high.signoffs; s.role != "owner"]))
	denied_with(result, {"SIGNOFF_MISSING"})
	"production needs 1 owner sign-off(s) for version 3; 0 counted" in messages(result)
}

test_missing_compliance_signoff_denied if {
	result := decide(with_signoffs([s | some s in approved_high.signoffs; s.role != "compliance"]))
	denied_with(result, {"SIGNOFF_MISSING"})
	"production needs 1 compliance sign-off(s) for version 3; 0 counted" in messages(result)
}

test_no_signoffs_at_all_denied if {
	doc := json.remove(approved_high, ["signoffs"])
	result := decide_doc(doc)
	denied_with(result, {"SIGNOFF_MISSING"})
	count(result.deny) == 4
}

test_submitter_only_owner_signoff_is_separation_of_duties if {
	others := [s | some s in approved_high.signoffs; s.role != "owner"]
	by_submitter := {"role": "owner", "user": "alice", "version": 3, "valid": true}
	result := decide(with_signoffs(array.concat(others, [by_submitter])))
	denied_with(result, {"SIGNOFF_MISSING", "SIGNOFF_SEPARATION_OF_DUTIES"})
	"owner sign-off by alice does not count: alice submitted version 3" in messages(result)
}

test_submitter_signoff_harmless_when_role_met_by_someone_else if {
	by_submitter := {"role": "owner", "user": "alice", "version": 3, "valid": true}
	result := decide(with_signoffs(array.concat(approved_high.signoffs, [by_submitter])))
	result.allow == true
}

test_submitter_cannot_fill_committee_quorum if {
	others := [s | some s in approved_high.signoffs; s.user != "erin"]
	by_submitter := {"role": "committee", "user": "alice", "version": 3, "valid": true}
	result := decide(with_signoffs(array.concat(others, [by_submitter])))
	denied_with(result, {"SIGNOFF_MISSING", "SIGNOFF_SEPARATION_OF_DUTIES"})
}

test_responsible_validator_not_independent_for_high if {
	others := [s | some s in approved_high.signoffs; s.role != "validator"]
	responsible_validator := {"role": "validator", "user": "bob", "version": 3, "valid": true}
	result := decide({
		"model": {"raci": {"responsible": ["alice", "bob"]}},
		"signoffs": array.concat(others, [responsible_validator]),
	})
	denied_with(result, {"SIGNOFF_MISSING", "SIGNOFF_NOT_INDEPENDENT"})
	"validator sign-off by bob does not count: bob is responsible for credit-scorer, so not independent" in messages(result)
}

test_committee_below_quorum_denied if {
	others := [s | some s in approved_high.signoffs; s.user != "erin"]
	result := decide(with_signoffs(others))
	denied_with(result, {"SIGNOFF_MISSING"})
	"production needs 2 committee sign-off(s) for version 3; 1 counted" in messages(result)
}

test_committee_quorum_from_input if {
	result := decide({"committee": {"quorum": 3}})
	denied_with(result, {"SIGNOFF_MISSING"})
	result.required_signoffs[3] == {"role": "committee", "count": 3, "independent": false, "received": 2}
}

test_committee_quorum_of_one_met if {
	others := [s | some s in approved_high.signoffs; s.user != "erin"]
	decide({"committee": {"quorum": 1}, "signoffs": others}).allow
}

test_same_committee_member_counts_once if {
	others := [s | some s in approved_high.signoffs; s.user != "erin"]
	again := {"role": "committee", "user": "dan", "version": 3, "valid": true}
	denied_with(decide(with_signoffs(array.concat(others, [again]))), {"SIGNOFF_MISSING"})
}

test_signoff_for_other_version_does_not_count if {
	others := [s | some s in approved_high.signoffs; s.role != "owner"]
	stale := {"role": "owner", "user": "carol", "version": 2, "valid": true}
	denied_with(decide(with_signoffs(array.concat(others, [stale]))), {"SIGNOFF_MISSING"})
}

test_invalidated_signoff_does_not_count if {
	others := [s | some s in approved_high.signoffs; s.role != "owner"]
	withdrawn := {"role": "owner", "user": "carol", "version": 3, "valid": false}
	denied_with(decide(with_signoffs(array.concat(others, [withdrawn]))), {"SIGNOFF_MISSING"})
}

test_string_true_validity_is_malformed_and_does_not_count if {
	others := [s | some s in approved_high.signoffs; s.role != "owner"]
	stringly := {"role": "owner", "user": "carol", "version": 3, "valid": "true"}
	denied_with(decide(with_signoffs(array.concat(others, [stringly]))), {"INPUT_INVALID", "SIGNOFF_MISSING"})
}

# ---------------------------------------------------------------- malformed or missing input

test_empty_input_denied if {
	result := decide_doc({})
	denied_with(result, {"BIAS_TEST_MISSING", "INPUT_INVALID"})
	{"input.request must be an object", "input.model must be an object", "input.version must be an object"} == {m |
		some entry in result.deny
		entry.code == "INPUT_INVALID"
		m := entry.message
	}
}

test_non_object_input_denied if {
	denied_with(decide_doc([1, 2]), {"BIAS_TEST_MISSING", "INPUT_INVALID"})
}

test_missing_target_stage_denied if {
	result := decide_doc(json.remove(approved_high, ["request/target_stage"]))
	denied_with(result, {"INPUT_INVALID"})
	"input.request.target_stage must be a string" in messages(result)
}

test_missing_model_name_denied if {
	result := decide({"model": {"name": ""}})
	denied_with(result, {"INPUT_INVALID"})
	"input.model.name must be a non-empty string" in messages(result)
}

test_missing_raci_denied if {
	result := decide_doc(json.remove(approved_high, ["model/raci"]))
	denied_with(result, {"INPUT_INVALID"})
	"input.model.raci.responsible must be an array of strings" in messages(result)
}

test_non_string_responsible_denied if {
	denied_with(decide({"model": {"raci": {"responsible": [7]}}}), {"INPUT_INVALID"})
}

test_string_version_number_denied if {
	result := decide({"version": {"version": "3"}})
	"input.version.version must be a positive integer" in messages(result)
	"INPUT_INVALID" in codes(result)
	result.allow == false
}

test_fractional_version_number_denied if {
	result := decide({"version": {"version": 2.5}})
	"input.version.version must be a positive integer" in messages(result)
	result.allow == false
}

test_missing_submitter_denied_and_no_signoff_counts if {
	result := decide_doc(json.remove(approved_high, ["version/submitted_by"]))
	denied_with(result, {"INPUT_INVALID", "SIGNOFF_MISSING"})
	"input.version.submitted_by must be a non-empty string" in messages(result)
}

test_bias_metrics_not_an_object_denied if {
	result := decide_with_metrics([0.01], {})
	denied_with(result, {"BIAS_TEST_MISSING", "INPUT_INVALID"})
	"input.version.bias_metrics must be an object or null" in messages(result)
}

test_non_numeric_bias_metric_denied if {
	result := decide_with_metrics({"bias.demographic_parity_difference": "0.01"}, {})
	denied_with(result, {"INPUT_INVALID"})
	"input.version.bias_metrics[\"bias.demographic_parity_difference\"] must be a number" in messages(result)
}

test_malformed_bias_report_denied if {
	result := decide({"version": {"bias_report": "yes"}})
	denied_with(result, {"INPUT_INVALID"})
	"input.version.bias_report must be null or an object with a non-empty uri" in messages(result)
}

test_signoffs_not_an_array_denied if {
	result := decide(with_signoffs({"owner": "carol"}))
	denied_with(result, {"INPUT_INVALID", "SIGNOFF_MISSING"})
	"input.signoffs must be an array or null" in messages(result)
}

test_malformed_signoff_entry_denied if {
	result := decide(with_signoffs(array.concat(approved_high.signoffs, ["carol"])))
	denied_with(result, {"INPUT_INVALID"})
	"input.signoffs[5] needs string role and user, a number version and a boolean valid" in messages(result)
}

test_committee_not_an_object_denied if {
	result := decide({"committee": 2})
	denied_with(result, {"INPUT_INVALID"})
	"input.committee must be an object or null" in messages(result)
}

test_zero_quorum_denied if {
	result := decide({"committee": {"quorum": 0}})
	denied_with(result, {"INPUT_INVALID"})
	"input.committee.quorum must be a positive integer or null" in messages(result)
}
