"""Governance writes, one module per concern (audit, gate, records, apikeys, users); every state change
records its audit event in the same transaction. Import from the submodules: this package stays empty so the
registry sync can use the audit trail without importing the gate."""
