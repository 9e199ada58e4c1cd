"""Policy bundle (Rego) and the engine layer that evaluates it: embedded regorus or an OPA server."""
