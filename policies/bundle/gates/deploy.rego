# METADATA
# title: Deployment gate
# description: >-
#   Decides whether a registered model version may be deployed to a target stage, from the
#   inventory document the platform builds (schema in docs/policies.md). Every requirement is a
#   deny rule, so missing or malformed input denies instead of allowing.
package gates.deploy

import rego.v1

cfg := data.config

# METADATA
# title: Deployment gate decision
# description: >-
#   allow, the risk tier applied, the sorted deny reasons, the sign-offs the tier requires with how
#   many counted, and auto_deploy (the platform may promote without a human: allowed and minimal tier).
# entrypoint: true
decision := {
	"allow": allow,
	"risk_tier": risk_tier,
	"deny": sort(deny),
	"required_signoffs": required_signoffs,
	"auto_deploy": auto_deploy,
}

default allow := false

allow if count(deny) == 0

default auto_deploy := false

auto_deploy if {
	allow
	risk_tier == "minimal"
}

# ---------------------------------------------------------------- stage, tier and labels

stage := input.request.target_stage

production if stage == "production"

default risk_tier := "unassessed"

risk_tier := input.model.risk_tier if input.model.risk_tier in cfg.tiers

# Unknown or unassessed tiers are held to the strictest thresholds (only staging can get that far).
threshold_tier := risk_tier if {
	risk_tier in object.keys(cfg.thresholds)
} else := cfg.unassessed_threshold_tier

default model_name := "(unnamed model)"

model_name := input.model.name if non_empty_string(input.model.name)

default version_label := "(unknown)"

version_label := input.version.version if positive_integer(input.version.version)

deny contains {"code": "TARGET_STAGE_UNKNOWN", "message": msg} if {
	is_string(stage)
	not stage in cfg.stages
	msg := sprintf("target stage '%v' is not one of: %v", [stage, concat(", ", cfg.stages)])
}

deny contains {"code": "RISK_TIER_UNACCEPTABLE", "message": msg} if {
	risk_tier == "unacceptable"
	msg := sprintf("model %v is classified unacceptable risk and cannot be deployed to any stage", [model_name])
}

deny contains {"code": "RISK_TIER_UNKNOWN", "message": msg} if {
	production
	risk_tier == "unassessed"
	msg := sprintf(
		"model %v has no assessed risk tier; production needs one of: %v",
		[model_name, concat(", ", cfg.tiers)],
	)
}

# ---------------------------------------------------------------- bias evidence

bias_metrics := {name: value |
	is_object(input.version.bias_metrics)
	some name, value in input.version.bias_metrics
	is_bias_metric(name)
}

is_bias_metric(name) if {
	some prefix in cfg.bias_metric_prefixes
	startswith(name, prefix)
}

has_bias_report if non_empty_string(input.version.bias_report.uri)

deny contains {"code": "BIAS_TEST_MISSING", "message": msg} if {
	count(bias_metrics) == 0
	not has_bias_report
	msg := sprintf(
		"version %v of %v has no bias.* or fairness.* metrics and no attached bias report",
		[version_label, model_name],
	)
}

deny contains {"code": "BIAS_THRESHOLD_EXCEEDED", "message": msg} if {
	some metric, limit in cfg.thresholds[threshold_tier]
	value := bias_metrics[metric]
	is_number(value)
	abs(value) > limit
	msg := sprintf(
		"%v = %v exceeds the %v-tier limit of %v (absolute value)",
		[metric, value, threshold_tier, limit],
	)
}

# ---------------------------------------------------------------- sign-offs (production only)

default signoffs := []

signoffs := input.signoffs if is_array(input.signoffs)

default responsible := []

responsible := input.model.raci.responsible if string_array(input.model.raci.responsible)

quorum := input.committee.quorum if {
	positive_integer(input.committee.quorum)
} else := cfg.committee.default_quorum

default required := []

required := cfg.signoffs[risk_tier] if production

# Sign-offs still valid and given for the version being deployed; others never count.
current_signoffs := [signoff |
	some signoff in signoffs
	well_formed_signoff(signoff)
	signoff.valid == true
	signoff.version == input.version.version
]

required_signoffs := [status |
	some requirement in required
	independent := object.get(requirement, "independent", false)
	status := {
		"role": requirement.role,
		"count": needed_count(requirement),
		"independent": independent,
		"received": count(counted_users(requirement.role, independent)),
	}
]

needed_count(requirement) := quorum if {
	requirement.quorum == true
} else := 1

# Distinct users whose sign-off counts: never the submitter; for independent roles, never a RACI responsible.
counted_users(role, independent) := {signoff.user |
	some signoff in current_signoffs
	signoff.role == role
	signoff.user != input.version.submitted_by
	not dependent(independent, signoff.user)
}

dependent(independent, user) if {
	independent == true
	user in responsible
}

unmet_signoffs := [status |
	some status in required_signoffs
	status.received < status.count
]

deny contains {"code": "SIGNOFF_MISSING", "message": msg} if {
	some status in unmet_signoffs
	msg := sprintf(
		"production needs %v %v sign-off(s) for version %v; %v counted",
		[status.count, status.role, version_label, status.received],
	)
}

deny contains {"code": "SIGNOFF_SEPARATION_OF_DUTIES", "message": msg} if {
	some status in unmet_signoffs
	some signoff in current_signoffs
	signoff.role == status.role
	signoff.user == input.version.submitted_by
	msg := sprintf(
		"%v sign-off by %v does not count: %v submitted version %v",
		[signoff.role, signoff.user, signoff.user, version_label],
	)
}

deny contains {"code": "SIGNOFF_NOT_INDEPENDENT", "message": msg} if {
	some status in unmet_signoffs
	status.independent == true
	some signoff in current_signoffs
	signoff.role == status.role
	signoff.user != input.version.submitted_by
	signoff.user in responsible
	msg := sprintf(
		"%v sign-off by %v does not count: %v is responsible for %v, so not independent",
		[signoff.role, signoff.user, signoff.user, model_name],
	)
}

# ---------------------------------------------------------------- input validation

deny contains {"code": "INPUT_INVALID", "message": problem} if {
	some problem in input_problems
}

input_problems contains "input.request must be an object" if {
	not is_object(input.request)
}

input_problems contains "input.request.target_stage must be a string" if {
	is_object(input.request)
	not is_string(input.request.target_stage)
}

input_problems contains "input.model must be an object" if {
	not is_object(input.model)
}

input_problems contains "input.model.name must be a non-empty string" if {
	is_object(input.model)
	not non_empty_string(input.model.name)
}

input_problems contains msg if {
	tier := input.model.risk_tier
	tier != null
	not known_tier_value(tier)
	msg := sprintf("input.model.risk_tier must be null, unassessed or one of: %v", [concat(", ", cfg.tiers)])
}

input_problems contains "input.model.raci.responsible must be an array of strings" if {
	is_object(input.model)
	not string_array(input.model.raci.responsible)
}

input_problems contains "input.version must be an object" if {
	not is_object(input.version)
}

input_problems contains "input.version.version must be a positive integer" if {
	is_object(input.version)
	not positive_integer(input.version.version)
}

input_problems contains "input.version.submitted_by must be a non-empty string" if {
	is_object(input.version)
	not non_empty_string(input.version.submitted_by)
}

input_problems contains "input.version.bias_metrics must be an object or null" if {
	metrics := input.version.bias_metrics
	metrics != null
	not is_object(metrics)
}

input_problems contains msg if {
	some name, value in bias_metrics
	not is_number(value)
	msg := sprintf("input.version.bias_metrics[\"%v\"] must be a number", [name])
}

input_problems contains "input.version.bias_report must be null or an object with a non-empty uri" if {
	report := input.version.bias_report
	report != null
	not non_empty_string(report.uri)
}

input_problems contains "input.signoffs must be an array or null" if {
	value := input.signoffs
	value != null
	not is_array(value)
}

input_problems contains msg if {
	some index, signoff in signoffs
	not well_formed_signoff(signoff)
	msg := sprintf(
		"input.signoffs[%v] needs string role and user, a number version and a boolean valid",
		[index],
	)
}

input_problems contains "input.committee must be an object or null" if {
	value := input.committee
	value != null
	not is_object(value)
}

input_problems contains "input.committee.quorum must be a positive integer or null" if {
	value := input.committee.quorum
	value != null
	not positive_integer(value)
}

# ---------------------------------------------------------------- type helpers

non_empty_string(value) if {
	is_string(value)
	value != ""
}

positive_integer(value) if {
	is_number(value)
	value >= 1
	floor(value) == value
}

string_array(value) if {
	is_array(value)
	every item in value {
		is_string(item)
	}
}

known_tier_value(value) if value in cfg.tiers

known_tier_value(value) if value == "unassessed"

well_formed_signoff(signoff) if {
	is_string(signoff.role)
	is_string(signoff.user)
	is_number(signoff.version)
	is_boolean(signoff.valid)
}
