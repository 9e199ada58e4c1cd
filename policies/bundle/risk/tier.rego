# METADATA
# title: Risk tier
# description: >-
#   Computes a model's risk tier (minimal, limited, high, unacceptable) from its intended-use profile,
#   each factor citing the regulation behind it and, where it matters, the date its obligations apply.
package risk.tier

import rego.v1

regulations := data.config.regulations

rules := data.config.risk

# Findings read the profile only once it validated, so no builtin or comparison sees a malformed value.
profile := input.profile if count(input_problems) == 0

as_of := input.as_of

# METADATA
# title: Risk tier decision
# description: >-
#   The highest tier any factor implies ("unassessed" when the input is invalid) and the sorted
#   reasons, each with code, regulation, message and the tier it implies.
# entrypoint: true
decision := {"tier": tier, "reasons": sort(reasons)}

tier_rank := {name: rank | some rank, name in data.config.tiers}

tier := "unassessed" if {
	count(input_problems) > 0
} else := highest_tier

# Never empty: reasons always holds at least NO_RISK_FACTORS.
highest_tier := data.config.tiers[max({tier_rank[reason.tier] | some reason in reasons})]

# Comprehensions stay in body-less rules: regorus rejects them as the value of a rule with a body.
reasons := invalid_reasons if {
	count(input_problems) > 0
} else := findings if {
	count(findings) > 0
} else := {no_risk_factors}

invalid_reasons := {invalid |
	some problem in input_problems
	invalid := {
		"code": "INPUT_INVALID",
		"regulation": regulations.internal.citation,
		"tier": "unassessed",
		"message": problem,
	}
}

no_risk_factors := {
	"code": "NO_RISK_FACTORS",
	"regulation": regulations.internal.citation,
	"tier": "minimal",
	"message": sprintf("no risk factor matched the intended use in domain %v", [profile.domain]),
}

# Obligations known before their application date still raise the tier, so the committee prepares in time.
effective_note(regulation) := sprintf("obligations apply since %v", [regulation.effective]) if {
	as_of >= regulation.effective
} else := sprintf("obligations apply from %v, not yet on %v: prepare now", [regulation.effective, as_of])

in_eu if "EU" in profile.jurisdictions

in_us if "US" in profile.jurisdictions

handles_personal_data if profile.personal_data == true

handles_personal_data if profile.special_category_data == true

handles_personal_data if profile.phi == true

significant_impact if profile.decision_impact in rules.significant_impacts

# SR 26-2 replaced SR 11-7 on its effective date; an earlier as_of cites the guidance then in force.
us_model_risk_guidance := regulations.sr_26_2 if {
	as_of >= regulations.sr_26_2.effective
} else := regulations.sr_11_7

# ---------------------------------------------------------------- findings

findings contains finding if {
	profile.prohibited_practice == true
	regulation := regulations.eu_ai_act_art_5
	finding := {
		"code": "PROHIBITED_PRACTICE",
		"regulation": regulation.citation,
		"tier": "unacceptable",
		"message": sprintf("%v: prohibited AI practice; %v", [regulation.citation, effective_note(regulation)]),
	}
}

findings contains finding if {
	in_eu
	some sector in profile.sectors
	regulation := regulations.eu_ai_act_annex_iii
	point := regulation.points[sector]
	finding := {
		"code": "EU_AI_ACT_ANNEX_III",
		"regulation": sprintf("%v point %v", [regulation.citation, point]),
		"tier": "high",
		"message": sprintf("EU AI Act Annex III: %v; high-risk %v", [sector, effective_note(regulation)]),
	}
}

findings contains finding if {
	in_eu
	profile.safety_component == true
	regulation := regulations.eu_ai_act_annex_i
	finding := {
		"code": "EU_AI_ACT_ANNEX_I",
		"regulation": regulation.citation,
		"tier": "high",
		"message": sprintf(
			"%v: safety component of a product under Annex I legislation; high-risk %v",
			[regulation.citation, effective_note(regulation)],
		),
	}
}

findings contains finding if {
	in_eu
	profile.interacts_with_people == true
	regulation := regulations.eu_ai_act_art_50
	finding := {
		"code": "EU_AI_ACT_TRANSPARENCY",
		"regulation": regulation.citation,
		"tier": "limited",
		"message": sprintf(
			"%v: interacts with people, who must be told they deal with an AI system; transparency %v",
			[regulation.citation, effective_note(regulation)],
		),
	}
}

findings contains finding if {
	in_eu
	profile.generates_content == true
	regulation := regulations.eu_ai_act_art_50
	finding := {
		"code": "EU_AI_ACT_TRANSPARENCY",
		"regulation": regulation.citation,
		"tier": "limited",
		"message": sprintf(
			"%v: generates content, which must be marked as AI-generated; transparency %v",
			[regulation.citation, effective_note(regulation)],
		),
	}
}

findings contains finding if {
	in_eu
	profile.personal_data == true
	profile.decision_impact == "legal_or_similar"
	profile.autonomy == "fully_automated"
	regulation := regulations.gdpr_art_22
	finding := {
		"code": "GDPR_AUTOMATED_DECISION",
		"regulation": regulation.citation,
		"tier": "high",
		"message": sprintf(
			"%v: solely automated decisions with legal or similarly significant effects on people",
			[regulation.citation],
		),
	}
}

findings contains finding if {
	in_eu
	profile.special_category_data == true
	regulation := regulations.gdpr_art_9
	finding := {
		"code": "GDPR_SPECIAL_CATEGORY",
		"regulation": regulation.citation,
		"tier": "limited",
		"message": sprintf("%v: processes special category personal data", [regulation.citation]),
	}
}

findings contains finding if {
	handles_personal_data
	some jurisdiction in profile.jurisdictions
	residency := rules.residency[jurisdiction]
	count({place | some place in profile.data_residency; place in residency.accepted}) == 0
	finding := {
		"code": "DATA_RESIDENCY_MISMATCH",
		"regulation": residency.citation,
		"tier": "high",
		"message": sprintf(
			"%v: personal data of %v users must stay in %v, but data residency is [%v]",
			[
				residency.citation, jurisdiction,
				concat(" or ", residency.accepted), concat(", ", profile.data_residency),
			],
		),
	}
}

findings contains finding if {
	in_us
	"credit" in profile.sectors
	guidance := us_model_risk_guidance
	finding := {
		"code": "MODEL_RISK_CREDIT",
		"regulation": guidance.citation,
		"tier": "high",
		"message": sprintf("%v: model used in credit decisions (%v)", [guidance.citation, guidance.note]),
	}
}

findings contains finding if {
	in_us
	"banking" in profile.sectors
	guidance := us_model_risk_guidance
	finding := {
		"code": "MODEL_RISK_BANKING",
		"regulation": guidance.citation,
		"tier": "limited",
		"message": sprintf("%v: model used by a banking organisation (%v)", [guidance.citation, guidance.note]),
	}
}

findings contains finding if {
	profile.phi == true
	regulation := regulations.hipaa
	finding := {
		"code": "HIPAA_PHI",
		"regulation": regulation.citation,
		"tier": "limited",
		"message": "HIPAA: PHI is used to train or run the model",
	}
}

findings contains finding if {
	significant_impact
	profile.autonomy != "fully_automated"
	finding := {
		"code": "SIGNIFICANT_DECISION_IMPACT",
		"regulation": regulations.internal.citation,
		"tier": "limited",
		"message": sprintf("decisions with %v impact (autonomy: %v)", [profile.decision_impact, profile.autonomy]),
	}
}

findings contains finding if {
	significant_impact
	profile.autonomy == "fully_automated"
	finding := {
		"code": "AUTOMATED_SIGNIFICANT_DECISION",
		"regulation": regulations.internal.citation,
		"tier": "high",
		"message": sprintf("fully automated decisions with %v impact", [profile.decision_impact]),
	}
}

findings contains finding if {
	profile.users_affected >= rules.large_user_base
	finding := {
		"code": "LARGE_USER_BASE",
		"regulation": regulations.internal.citation,
		"tier": "limited",
		"message": sprintf(
			"%v people affected (threshold %v)",
			[profile.users_affected, rules.large_user_base],
		),
	}
}

# ---------------------------------------------------------------- input validation

input_problems contains "input.profile must be an object" if {
	not is_object(input.profile)
}

input_problems contains "input.as_of must be a date string YYYY-MM-DD" if {
	not iso_date(input.as_of)
}

input_problems contains msg if {
	is_object(input.profile)
	some field, spec in rules.profile_schema
	spec.required == true
	not valid_field(spec, input.profile[field])
	msg := sprintf("input.profile.%v must be %v", [field, spec.expected])
}

input_problems contains msg if {
	is_object(input.profile)
	some field, spec in rules.profile_schema
	spec.required == false
	value := input.profile[field]
	not valid_field(spec, value)
	msg := sprintf("input.profile.%v must be %v when present", [field, spec.expected])
}

iso_date(value) if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, value)
}

valid_field(spec, value) if {
	spec.type == "string"
	is_string(value)
	value != ""
}

valid_field(spec, value) if {
	spec.type == "boolean"
	is_boolean(value)
}

valid_field(spec, value) if {
	spec.type == "count"
	is_number(value)
	value >= 0
	floor(value) == value
}

valid_field(spec, value) if {
	spec.type == "string_array"
	is_array(value)
	every item in value {
		is_string(item)
	}
}

valid_field(spec, value) if {
	spec.type == "enum"
	value in spec.values
}

valid_field(spec, value) if {
	spec.type == "enum_array"
	is_array(value)
	every item in value {
		item in spec.values
	}
}
