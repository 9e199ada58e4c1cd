"""Maturity self-assessment: versioned questionnaires, scoring and staged roadmaps."""
