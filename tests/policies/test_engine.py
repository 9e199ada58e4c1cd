"""The engine layer with the embedded backend: results, digests, thread use, and fail-closed gate semantics.
Every failure path (error, exception, panic, timeout, undefined, malformed value) must deny, never allow."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
from typing import Any

import pytest
import regorus

from policies import engine
from policies.engine import (
    GATE_ENTRYPOINT,
    RISK_TIER_ENTRYPOINT,
    PolicyResult,
    evaluate,
    gate_decision,
    risk_tier_assessment,
)
from policies.loader import (
    BundleError,
    BundleFile,
    build_engine,
    bundle_digest,
    data_document,
    digest_files,
    read_bundle,
)
from tests.policies.inputs import approved_high, changed, minimal_profile


def assert_engine_error(outcome: engine.GateOutcome, fragment: str) -> None:
    assert outcome.allow is False
    assert outcome.auto_deploy is False
    assert [reason["code"] for reason in outcome.deny] == ["POLICY_ENGINE_ERROR"]
    assert fragment in outcome.deny[0]["message"]


def test_evaluate_reports_value_engine_digest_and_latency() -> None:
    result = evaluate(GATE_ENTRYPOINT, approved_high())
    assert result.error_code is None
    assert result.defined is True
    assert result.value["allow"] is True
    assert result.engine == "embedded"
    assert result.bundle_digest == bundle_digest()
    assert len(result.bundle_digest) == 64
    assert result.latency_ms > 0


def test_undefined_entrypoint_is_undefined_not_an_error() -> None:
    result = evaluate("gates.deploy.no_such_rule", {})
    assert (result.defined, result.value, result.error_code) == (False, None, None)


def test_undefined_gate_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "GATE_ENTRYPOINT", "gates.deploy.no_such_rule")
    assert_engine_error(gate_decision(approved_high()), "undefined")


@pytest.mark.parametrize("entrypoint", ["", "gates/deploy/decision", "data.x; true", "gates..deploy"])
def test_malformed_entrypoint_is_an_error(entrypoint: str) -> None:
    assert evaluate(entrypoint, {}).error_code == "BAD_ENTRYPOINT"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "allow",
        [],
        {"allow": "true", "risk_tier": "high", "deny": [], "required_signoffs": [], "auto_deploy": False},
        {"allow": True, "risk_tier": "high", "deny": [], "required_signoffs": []},
        {"allow": True, "risk_tier": None, "deny": [], "required_signoffs": [], "auto_deploy": False},
        {
            "allow": True,
            "risk_tier": "high",
            "deny": [{"code": "X"}],
            "required_signoffs": [],
            "auto_deploy": False,
        },
        {
            "allow": False,
            "risk_tier": "high",
            "deny": [{"code": 1, "message": "m"}],
            "required_signoffs": [],
            "auto_deploy": False,
        },
        {
            "allow": True,
            "risk_tier": "high",
            "deny": [{"code": "X", "message": "m"}],
            "required_signoffs": [],
            "auto_deploy": False,
        },
        {"allow": False, "risk_tier": "high", "deny": [], "required_signoffs": [], "auto_deploy": False},
        {
            "allow": True,
            "risk_tier": "high",
            "deny": [],
            "required_signoffs": ["owner"],
            "auto_deploy": False,
        },
        {
            "allow": False,
            "risk_tier": "minimal",
            "deny": [{"code": "X", "message": "m"}],
            "required_signoffs": [],
            "auto_deploy": True,
        },
    ],
)
def test_malformed_decision_denies(monkeypatch: pytest.MonkeyPatch, value: Any) -> None:
    def fake_evaluate(entrypoint: str, input: Any, *, input_json: str | None = None) -> PolicyResult:
        return PolicyResult(value=value, defined=True, engine="embedded", bundle_digest="d", latency_ms=0.1)

    monkeypatch.setattr(engine, "evaluate", fake_evaluate)
    outcome = gate_decision(approved_high())
    assert_engine_error(outcome, "malformed gate decision")
    assert outcome.policy.error_code == "BAD_DECISION"


class FakePanic(BaseException):
    """Stands in for pyo3's PanicException, which does not derive from Exception."""


@pytest.mark.parametrize("exception", [RuntimeError("engine blew up"), FakePanic("panicked"), MemoryError()])
def test_backend_exception_denies(monkeypatch: pytest.MonkeyPatch, exception: BaseException) -> None:
    def explode(entrypoint: str, input_json: str) -> None:
        raise exception

    monkeypatch.setattr(engine, "_evaluate_embedded", explode)
    outcome = gate_decision(approved_high())
    assert_engine_error(outcome, "ENGINE_ERROR")
    assert outcome.policy.error_code == "ENGINE_ERROR"


def test_exception_escaping_evaluate_still_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(entrypoint: str, input: Any, *, input_json: str | None = None) -> None:
        raise FakePanic("outside evaluate")

    monkeypatch.setattr(engine, "evaluate", explode)
    assert_engine_error(gate_decision(approved_high()), "outside evaluate")


def test_keyboard_interrupt_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(entrypoint: str, input_json: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_evaluate_embedded", interrupt)
    with pytest.raises(KeyboardInterrupt):
        gate_decision(approved_high())


def use_bundle(monkeypatch: pytest.MonkeyPatch, *files: BundleFile) -> None:
    """Swap the embedded engine's bundle for `files`, with a fresh per-thread engine cache."""
    monkeypatch.setattr(engine, "_bundle_snapshot", lambda: (files, digest_files(files)))
    monkeypatch.setattr(engine, "_thread_state", type(engine._thread_state)())


def test_regorus_runtime_error_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    source = b'package gates.deploy\n\nimport rego.v1\n\ndecision := startswith(input.model, "a")\n'
    use_bundle(monkeypatch, BundleFile(path="gates/deploy.rego", content=source))
    outcome = gate_decision(approved_high())
    assert_engine_error(outcome, "ENGINE_ERROR")
    assert "startswith" in (outcome.policy.error or "")


def test_slow_embedded_evaluation_times_out(settings: Any) -> None:
    settings.POLICY_TIMEOUT_SECONDS = 1e-9
    outcome = gate_decision(approved_high())
    assert_engine_error(outcome, "TIMEOUT")


@pytest.mark.parametrize("timeout", [0, -1, "2", True])
def test_bad_timeout_setting_denies(settings: Any, timeout: Any) -> None:
    settings.POLICY_TIMEOUT_SECONDS = timeout
    assert_engine_error(gate_decision(approved_high()), "CONFIG_ERROR")


def test_unknown_engine_setting_denies(settings: Any) -> None:
    settings.POLICY_ENGINE = "wasm"
    outcome = gate_decision(approved_high())
    assert_engine_error(outcome, "CONFIG_ERROR")
    assert outcome.policy.engine == "wasm"


def test_unloadable_bundle_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    use_bundle(
        monkeypatch, BundleFile(path="gates/deploy.rego", content=b"package gates.deploy\n\ndecision := {\n")
    )
    assert_engine_error(gate_decision(approved_high()), "BUNDLE_ERROR")


def test_concurrent_threads_each_get_an_engine() -> None:
    documents = [changed(approved_high(), {"committee.quorum": quorum}) for quorum in (1, 2, 3, 4) * 8]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(gate_decision, documents))
    assert [outcome.allow for outcome in outcomes] == [quorum <= 2 for quorum in (1, 2, 3, 4) * 8]
    assert all(outcome.policy.error_code is None for outcome in outcomes)


def test_risk_tier_assessment_failure_is_unassessed(settings: Any) -> None:
    settings.POLICY_ENGINE = "wasm"
    assessment = risk_tier_assessment(minimal_profile())
    assert assessment.tier == "unassessed"
    assert [reason["code"] for reason in assessment.reasons] == ["POLICY_ENGINE_ERROR"]


def test_bundle_digest_changes_with_any_byte_and_with_path_boundaries() -> None:
    files = read_bundle()
    digest = digest_files(files)
    assert digest == bundle_digest() == digest_files(reversed(files))
    first = files[0]
    edited = (dataclasses.replace(first, content=first.content + b" "), *files[1:])
    assert digest_files(edited) != digest
    moved = (BundleFile(path="ab", content=b"c"),)
    assert digest_files(moved) != digest_files((BundleFile(path="a", content=b"bc"),))


def test_digest_covers_rego_tests_and_data() -> None:
    paths = [bundle_file.path for bundle_file in read_bundle()]
    assert "config/data.json" in paths
    assert "gates/deploy_test.rego" in paths
    assert paths == sorted(paths)


def test_data_files_mount_at_their_directory() -> None:
    files = (
        BundleFile(path="config/data.json", content=b'{"a": 1}'),
        BundleFile(path="config/regulations/data.json", content=b'{"b": 2}'),
    )
    assert data_document(files) == {"config": {"a": 1, "regulations": {"b": 2}}}


def test_conflicting_data_files_are_rejected() -> None:
    files = (
        BundleFile(path="config/data.json", content=b'{"regulations": 1}'),
        BundleFile(path="config/regulations/data.json", content=b'{"b": 2}'),
    )
    with pytest.raises(BundleError, match="regulations"):
        data_document(files)


_FAST_PATH_POLICY = """package t

import rego.v1

literal := "<undefined>"

never if false

f(x) := x

obj := {"k": [1, 2], "set": {"b", "a"}}

members contains {"role": role} if some role in input.roles
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("t.literal", (True, "<undefined>")),  # the string eval_rule also uses for "undefined"
        ("t.never", (False, None)),
        ("t.f", (False, None)),  # a function is no document
        ("t.obj.k", (True, [1, 2])),  # inside a rule's value: no rule path
        ("t.members", (True, [{"role": "a"}, {"role": "b"}])),
        ("t.obj", (True, {"k": [1, 2], "set": ["a", "b"]})),
        ("t.nothing", (False, None)),
    ],
)
def test_rule_fast_path_answers_as_the_query(
    monkeypatch: pytest.MonkeyPatch, path: str, expected: tuple[bool, Any]
) -> None:
    """The embedded backend reads a rule's value with eval_rule and goes back to the query where eval_rule cannot
    tell; either way the answer is the query's (OPA's)."""
    policy = regorus.Engine()
    policy.add_policy("t.rego", _FAST_PATH_POLICY)
    monkeypatch.setattr(engine, "_thread_engine", lambda: (policy, "digest"))
    answer = engine._evaluate_embedded(path, json.dumps({"roles": ["b", "a"]}))
    assert (answer.defined, answer.value) == expected
    rows = json.loads(policy.eval_query_as_json(f"data.{path}")).get("result") or []
    assert (bool(rows), rows[0]["expressions"][0]["value"] if rows else None) == expected
    package = engine._evaluate_embedded("t", "{}")
    assert package.defined and package.value["literal"] == "<undefined>"


def test_invalid_rego_is_a_bundle_error() -> None:
    with pytest.raises(BundleError, match=r"bad\.rego"):
        build_engine(
            files=(BundleFile(path="bad.rego", content=b"package bad\n\nx := {\n"),), include_tests=False
        )


def _fresh_engine_value(entrypoint: str, document: dict[str, Any]) -> Any:
    files, _ = engine._bundle_snapshot()
    fresh = build_engine(files=files, include_tests=False)
    fresh.set_input_json(json.dumps(document))
    rows = json.loads(fresh.eval_query_as_json(f"data.{entrypoint}"))["result"]
    return rows[0]["expressions"][0]["value"]


def test_reused_thread_engine_decides_as_fresh_engines() -> None:
    """The embedded backend reuses one engine per thread; nothing from one evaluation may leak into the next."""
    cases = [
        (GATE_ENTRYPOINT, approved_high()),
        (GATE_ENTRYPOINT, changed(approved_high(), {"committee.quorum": 3})),
        (RISK_TIER_ENTRYPOINT, minimal_profile()),
        (GATE_ENTRYPOINT, changed(approved_high(), {"version.bias_metrics": {}})),
        (GATE_ENTRYPOINT, changed(approved_high(), {"model.risk_tier": "unacceptable"})),
        (GATE_ENTRYPOINT, {}),
    ]
    expected = [_fresh_engine_value(entrypoint, document) for entrypoint, document in cases]
    assert len({json.dumps(value, sort_keys=True) for value in expected}) == len(cases)  # all different
    for _ in range(3):  # forwards and backwards, so every case follows a different one
        for (entrypoint, document), value in [
            *zip(cases, expected, strict=True),
            *reversed(list(zip(cases, expected, strict=True))),
        ]:
            result = evaluate(entrypoint, document)
            assert result.defined and result.value == value, entrypoint


def test_engine_is_rebuilt_after_a_failed_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = b'package gates.deploy\n\nimport rego.v1\n\ndecision := startswith(input.model, "a")\n'
    use_bundle(monkeypatch, BundleFile(path="gates/deploy.rego", content=broken))
    gate_decision(approved_high())
    assert getattr(engine._thread_state, "engine", None) is None
