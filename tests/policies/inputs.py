"""Policy input documents for the tests: a high-risk production request that passes, and a minimal profile.
Tests copy one and change what the case is about, so each row states only its difference."""

from __future__ import annotations

import copy
from typing import Any

DELETE = object()  # marks a key to remove in changed()


def approved_high() -> dict[str, Any]:
    return {
        "request": {"target_stage": "production", "requested_at": "2026-11-23T10:00:00Z"},
        "model": {
            "name": "credit-scorer",
            "risk_tier": "high",
            "raci": {"responsible": ["alice"], "accountable": ["carol"], "consulted": [], "informed": []},
        },
        "version": {
            "version": 3,
            "run_id": "abc",
            "submitted_by": "alice",
            "bias_metrics": {
                "bias.demographic_parity_difference": 0.04,
                "bias.equal_opportunity_difference": -0.05,
            },
            "bias_report": None,
        },
        "signoffs": [
            signoff("owner", "carol"),
            signoff("validator", "victor"),
            signoff("compliance", "cora"),
            signoff("committee", "dan"),
            signoff("committee", "erin"),
        ],
        "committee": {"quorum": 2},
    }


def signoff(role: str, user: str, *, version: Any = 3, valid: Any = True) -> dict[str, Any]:
    return {"role": role, "user": user, "version": version, "valid": valid}


def minimal_profile(*, as_of: str = "2026-11-23") -> dict[str, Any]:
    return {
        "profile": {
            "domain": "marketing",
            "sectors": ["none"],
            "decision_impact": "advisory",
            "autonomy": "human_in_loop",
            "personal_data": False,
            "special_category_data": False,
            "phi": False,
            "jurisdictions": ["US"],
            "data_residency": ["US"],
            "users_affected": 1000,
            "prohibited_practice": False,
            "interacts_with_people": False,
            "generates_content": False,
        },
        "as_of": as_of,
    }


def changed(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with each dotted path ("version.bias_metrics") set to its value, or removed for DELETE."""
    result = copy.deepcopy(document)
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = result
        for key in parents:
            target = target.setdefault(key, {})
        if value is DELETE:
            target.pop(last, None)
        else:
            target[last] = copy.deepcopy(value)
    return result
