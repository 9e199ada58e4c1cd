package risk.tier_test

import rego.v1

import data.risk.tier

# An internal, advisory, US-only use with no risk factor; each test changes one thing.
minimal_profile := {
	"domain": "marketing",
	"sectors": ["none"],
	"decision_impact": "advisory",
	"autonomy": "human_in_loop",
	"personal_data": false,
	"special_category_data": false,
	"phi": false,
	"jurisdictions": ["US"],
	"data_residency": ["US"],
	"users_affected": 1000,
	"prohibited_practice": false,
	"interacts_with_people": false,
	"generates_content": false,
}

assess_on(as_of, patch) := result if {
	result := tier.decision with input as {"profile": object.union(minimal_profile, patch), "as_of": as_of}
}

assess(patch) := assess_on("2026-11-23", patch)

assess_doc(doc) := result if {
	result := tier.decision with input as doc
}

codes(result) := {reason.code | some reason in result.reasons}

messages(result) := {reason.message | some reason in result.reasons}

regulations(result) := {reason.regulation | some reason in result.reasons}

eu := {"jurisdictions": ["EU"], "data_residency": ["EU"]}

test_no_factor_is_minimal if {
	result := assess({})
	result.tier == "minimal"
	codes(result) == {"NO_RISK_FACTORS"}
	"no risk factor matched the intended use in domain marketing" in messages(result)
}

test_prohibited_practice_is_unacceptable if {
	result := assess({"prohibited_practice": true})
	result.tier == "unacceptable"
	codes(result) == {"PROHIBITED_PRACTICE"}
	"EU AI Act Art. 5: prohibited AI practice; obligations apply since 2025-02-02" in messages(result)
}

test_annex_iii_employment_is_high_before_application_date if {
	result := assess(object.union(eu, {"sectors": ["employment"]}))
	result.tier == "high"
	codes(result) == {"EU_AI_ACT_ANNEX_III"}
	"EU AI Act Annex III point 4 (employment, workers management)" in regulations(result)
	msg := "EU AI Act Annex III: employment; high-risk obligations apply from 2027-12-02, not yet on 2026-11-23: prepare now"
	msg in messages(result)
}

test_annex_iii_on_application_date_applies if {
	result := assess_on("2027-12-02", object.union(eu, {"sectors": ["education"]}))
	"EU AI Act Annex III: education; high-risk obligations apply since 2027-12-02" in messages(result)
}

test_annex_iii_one_reason_per_sector if {
	result := assess(object.union(eu, {"sectors": ["biometric", "migration", "health"]}))
	result.tier == "high"
	count([r | some r in result.reasons; r.code == "EU_AI_ACT_ANNEX_III"]) == 2
}

test_annex_iii_needs_eu_jurisdiction if {
	assess({"sectors": ["employment"]}).tier == "minimal"
}

test_annex_i_safety_component_is_high_from_2028 if {
	result := assess(object.union(eu, {"safety_component": true}))
	result.tier == "high"
	codes(result) == {"EU_AI_ACT_ANNEX_I"}
	msg := concat("", [
		"EU AI Act Art. 6(1) and Annex I: safety component of a product under Annex I legislation; ",
		"high-risk obligations apply from 2028-08-02, not yet on 2026-11-23: prepare now",
	])
	msg in messages(result)
}

test_chatbot_transparency_is_limited_and_in_force if {
	result := assess(object.union(eu, {"interacts_with_people": true}))
	result.tier == "limited"
	codes(result) == {"EU_AI_ACT_TRANSPARENCY"}
	some msg in messages(result)
	endswith(msg, "transparency obligations apply since 2026-08-02")
}

test_transparency_day_before_application if {
	result := assess_on("2026-08-01", object.union(eu, {"generates_content": true}))
	some msg in messages(result)
	endswith(msg, "transparency obligations apply from 2026-08-02, not yet on 2026-08-01: prepare now")
}

test_generated_content_and_chatbot_are_two_reasons if {
	result := assess(object.union(eu, {"interacts_with_people": true, "generates_content": true}))
	count(result.reasons) == 2
}

test_gdpr_solely_automated_legal_decision_is_high if {
	result := assess(object.union(eu, {
		"personal_data": true,
		"decision_impact": "legal_or_similar",
		"autonomy": "fully_automated",
	}))
	result.tier == "high"
	codes(result) == {"GDPR_AUTOMATED_DECISION", "AUTOMATED_SIGNIFICANT_DECISION"}
}

test_special_category_data_in_eu_is_limited if {
	result := assess(object.union(eu, {"special_category_data": true}))
	result.tier == "limited"
	codes(result) == {"GDPR_SPECIAL_CATEGORY"}
}

test_eu_personal_data_stored_outside_eu_is_residency_mismatch if {
	result := assess({"personal_data": true, "jurisdictions": ["EU", "US"], "data_residency": ["US"]})
	result.tier == "high"
	codes(result) == {"DATA_RESIDENCY_MISMATCH"}
	msg := "GDPR Chapter V: personal data of EU users must stay in EU or EEA, but data residency is [US]"
	msg in messages(result)
}

test_eea_residency_satisfies_eu if {
	assess({"personal_data": true, "jurisdictions": ["EU"], "data_residency": ["EEA"]}).tier == "minimal"
}

test_residency_ignored_without_personal_data if {
	assess({"jurisdictions": ["EU"], "data_residency": ["US"]}).tier == "minimal"
}

test_credit_model_cites_sr_26_2 if {
	result := assess({"sectors": ["credit"]})
	result.tier == "high"
	codes(result) == {"MODEL_RISK_CREDIT"}
	"SR 26-2" in regulations(result)
	some msg in messages(result)
	startswith(msg, "SR 26-2: model used in credit decisions (supersedes SR 11-7 since 2026-04-17")
}

test_credit_model_before_sr_26_2_cites_sr_11_7 if {
	result := assess_on("2026-04-16", {"sectors": ["credit"]})
	"SR 11-7: model used in credit decisions (superseded by SR 26-2 from 2026-04-17)" in messages(result)
}

test_credit_model_on_sr_26_2_effective_date if {
	"SR 26-2" in regulations(assess_on("2026-04-17", {"sectors": ["credit"]}))
}

test_sr_11_7_crosswalk_in_data if {
	count(data.config.regulations.sr_26_2.crosswalk) == 4
}

test_banking_model_is_limited if {
	result := assess({"sectors": ["banking"]})
	result.tier == "limited"
	codes(result) == {"MODEL_RISK_BANKING"}
}

test_credit_in_eu_and_us_cites_both if {
	result := assess({"sectors": ["credit"], "jurisdictions": ["EU", "US"], "data_residency": ["EU"]})
	codes(result) == {"EU_AI_ACT_ANNEX_III", "MODEL_RISK_CREDIT"}
}

test_phi_is_hipaa_limited if {
	result := assess({"phi": true, "sectors": ["health"]})
	result.tier == "limited"
	codes(result) == {"HIPAA_PHI"}
	"HIPAA: PHI is used to train or run the model" in messages(result)
}

test_significant_impact_with_human_is_limited if {
	result := assess({"decision_impact": "significant", "autonomy": "human_on_loop"})
	result.tier == "limited"
	codes(result) == {"SIGNIFICANT_DECISION_IMPACT"}
}

test_fully_automated_significant_impact_is_high if {
	result := assess({"decision_impact": "significant", "autonomy": "fully_automated"})
	result.tier == "high"
	codes(result) == {"AUTOMATED_SIGNIFICANT_DECISION"}
}

test_large_user_base_at_threshold_is_limited if {
	result := assess({"users_affected": 100000})
	result.tier == "limited"
	codes(result) == {"LARGE_USER_BASE"}
}

test_user_base_below_threshold_is_minimal if {
	assess({"users_affected": 99999}).tier == "minimal"
}

test_highest_tier_wins if {
	result := assess({"prohibited_practice": true, "sectors": ["credit"], "users_affected": 500000})
	result.tier == "unacceptable"
	codes(result) == {"PROHIBITED_PRACTICE", "MODEL_RISK_CREDIT", "LARGE_USER_BASE"}
}

test_reasons_are_sorted if {
	result := assess({"sectors": ["credit", "banking"], "phi": true, "users_affected": 500000})
	count(result.reasons) == 4
	result.reasons == sort(result.reasons)
}

# ---------------------------------------------------------------- malformed or missing input

test_missing_profile_is_unassessed if {
	result := assess_doc({"as_of": "2026-11-23"})
	result.tier == "unassessed"
	codes(result) == {"INPUT_INVALID"}
	"input.profile must be an object" in messages(result)
}

test_missing_as_of_is_unassessed if {
	result := assess_doc({"profile": minimal_profile})
	result.tier == "unassessed"
	"input.as_of must be a date string YYYY-MM-DD" in messages(result)
}

test_malformed_as_of_is_unassessed if {
	assess_on("23/11/2026", {}).tier == "unassessed"
}

test_missing_required_field_is_unassessed if {
	result := assess_doc({"profile": object.remove(minimal_profile, ["phi"]), "as_of": "2026-11-23"})
	result.tier == "unassessed"
	messages(result) == {"input.profile.phi must be a boolean"}
}

test_unknown_enum_value_is_unassessed if {
	result := assess({"decision_impact": "huge"})
	messages(result) == {"input.profile.decision_impact must be one of none, advisory, significant, legal_or_similar"}
}

test_unknown_sector_is_unassessed if {
	result := assess({"sectors": ["gambling"]})
	messages(result) == {"input.profile.sectors must be an array of known sectors"}
}

test_non_integer_user_count_is_unassessed if {
	assess({"users_affected": 10.5}).tier == "unassessed"
	assess({"users_affected": -1}).tier == "unassessed"
	assess({"users_affected": "many"}).tier == "unassessed"
}

test_empty_domain_is_unassessed if {
	messages(assess({"domain": ""})) == {"input.profile.domain must be a non-empty string"}
}

test_non_string_jurisdiction_is_unassessed if {
	messages(assess({"jurisdictions": ["EU", 1]})) == {"input.profile.jurisdictions must be an array of strings"}
}

test_string_boolean_is_unassessed if {
	result := assess({"prohibited_practice": "false"})
	result.tier == "unassessed"
	messages(result) == {"input.profile.prohibited_practice must be a boolean"}
}

test_malformed_optional_field_is_unassessed if {
	messages(assess({"safety_component": "yes"})) == {"input.profile.safety_component must be a boolean when present"}
}
