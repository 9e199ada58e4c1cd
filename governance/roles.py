"""Role names (Django groups) used for permissions across the platform."""

VIEWER = "viewer"
MODEL_OWNER = "model_owner"
VALIDATOR = "validator"
COMPLIANCE_OFFICER = "compliance_officer"
COMMITTEE_MEMBER = "committee_member"
ADMIN = "admin"

ALL_ROLES = (VIEWER, MODEL_OWNER, VALIDATOR, COMPLIANCE_OFFICER, COMMITTEE_MEMBER, ADMIN)
