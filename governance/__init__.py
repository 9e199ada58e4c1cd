"""Governance: model inventory views, risk tiers, RACI, sign-offs, gate decisions and the audit trail."""
