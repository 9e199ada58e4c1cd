"""One interface to evaluate the Rego bundle (embedded regorus or an OPA server), and the fail-closed gate.
evaluate() never raises; gate_decision() turns every failure, undefined or malformed answer into a deny."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import urlsplit

import regorus
import requests
from django.conf import settings
from opa_client import OpaClient

from policies.loader import (
    BundleError,
    BundleFile,
    build_engine,
    bundle_digest,
    digest_files,
    first_paragraph,
    read_bundle,
)

GATE_ENTRYPOINT = "gates.deploy.decision"
RISK_TIER_ENTRYPOINT = "risk.tier.decision"
POLICY_ENGINE_ERROR = "POLICY_ENGINE_ERROR"
UNASSESSED = "unassessed"

_ENTRYPOINT_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class Reason(TypedDict):
    code: str
    message: str


@dataclass(frozen=True)
class PolicyResult:
    value: Any  # the entrypoint's value; None when undefined or failed (see defined / error_code)
    defined: bool
    engine: str
    bundle_digest: str
    latency_ms: float
    error_code: str | None = None  # CONFIG_ERROR, BAD_ENTRYPOINT, INPUT_NOT_JSON, TIMEOUT, ...
    error: str | None = None


@dataclass(frozen=True)
class GateOutcome:
    allow: bool
    risk_tier: str
    deny: tuple[Reason, ...]
    required_signoffs: tuple[dict[str, Any], ...]
    auto_deploy: bool
    policy: PolicyResult


@dataclass(frozen=True)
class RiskAssessment:
    tier: str
    reasons: tuple[dict[str, str], ...]
    policy: PolicyResult


class PolicyEngineError(Exception):
    """A failed evaluation; `code` becomes PolicyResult.error_code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Answer:
    defined: bool
    value: Any
    bundle_digest: str


def evaluate(entrypoint: str, input: Mapping[str, Any], *, input_json: str | None = None) -> PolicyResult:
    """Evaluate `entrypoint` (e.g. "gates.deploy.decision") on `input` with the configured backend.

    input_json: `input` already serialized by the caller (the gate digests its canonical JSON anyway), so it is
    not serialized twice; it must be the JSON of `input`."""
    started = time.perf_counter()
    engine = "unknown"
    digest = ""
    try:
        engine = str(settings.POLICY_ENGINE)
        timeout = _timeout_seconds()
        if not _ENTRYPOINT_RE.match(entrypoint):
            raise PolicyEngineError("BAD_ENTRYPOINT", f"entrypoint {entrypoint!r} is not a dotted Rego path")
        if input_json is None:
            try:
                input_json = json.dumps(input, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise PolicyEngineError("INPUT_NOT_JSON", f"input is not a JSON document: {exc}") from exc
        if engine == "embedded":
            answer = _evaluate_embedded(entrypoint, input_json)
        elif engine == "opa":
            answer = _evaluate_opa(entrypoint, input_json, timeout=timeout)
        else:
            raise PolicyEngineError("CONFIG_ERROR", f"POLICY_ENGINE {engine!r} is not 'embedded' or 'opa'")
        digest = answer.bundle_digest
        elapsed = time.perf_counter() - started
        # Neither backend can be preempted mid-call, so the deadline is checked on return: late never counts.
        if elapsed > timeout:
            raise PolicyEngineError("TIMEOUT", f"evaluation took {elapsed:.3f} s, limit {timeout} s")
        return PolicyResult(
            value=answer.value,
            defined=answer.defined,
            engine=engine,
            bundle_digest=digest,
            latency_ms=_ms_since(started),
        )
    except PolicyEngineError as exc:
        return _failed(engine, digest, started, exc.code, exc.message)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        # pyo3 panics (e.g. an engine used from the wrong thread) derive from BaseException, not Exception.
        return _failed(engine, digest, started, "ENGINE_ERROR", f"{type(exc).__name__}: {exc}")


def gate_decision(input: Mapping[str, Any], *, input_json: str | None = None) -> GateOutcome:
    """The deployment gate, fail-closed: all but a well-formed decision denies with POLICY_ENGINE_ERROR."""
    started = time.perf_counter()
    try:
        result = evaluate(GATE_ENTRYPOINT, input, input_json=input_json)
        if result.error_code is not None:
            return _engine_error_outcome(
                result, f"policy evaluation failed ({result.error_code}): {result.error}"
            )
        if not result.defined:
            return _engine_error_outcome(result, f"{GATE_ENTRYPOINT} is undefined for this input")
        problem = _decision_problem(result.value)
        if problem is not None:
            failed = dataclasses.replace(result, error_code="BAD_DECISION", error=problem)
            return _engine_error_outcome(failed, f"malformed gate decision: {problem}")
        value = result.value
        return GateOutcome(
            allow=value["allow"],
            risk_tier=value["risk_tier"],
            deny=tuple(Reason(code=entry["code"], message=entry["message"]) for entry in value["deny"]),
            required_signoffs=tuple(value["required_signoffs"]),
            auto_deploy=value["auto_deploy"],
            policy=result,
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        failed = _failed("unknown", "", started, "ENGINE_ERROR", repr(exc))
        return _engine_error_outcome(failed, f"policy evaluation failed: {exc!r}")


def risk_tier_assessment(input: Mapping[str, Any]) -> RiskAssessment:
    """The risk tier of an intended-use profile; any failure yields "unassessed", which production denies."""
    result = evaluate(RISK_TIER_ENTRYPOINT, input)
    value = result.value
    well_formed = (
        result.error_code is None
        and isinstance(value, dict)
        and isinstance(value.get("tier"), str)
        and isinstance(value.get("reasons"), list)
        and all(isinstance(reason, dict) for reason in value["reasons"])
    )
    if well_formed:
        return RiskAssessment(tier=value["tier"], reasons=tuple(value["reasons"]), policy=result)
    detail = result.error or f"{RISK_TIER_ENTRYPOINT} returned no well-formed decision"
    reason = {"code": POLICY_ENGINE_ERROR, "regulation": "", "tier": UNASSESSED, "message": detail}
    return RiskAssessment(tier=UNASSESSED, reasons=(reason,), policy=result)


def _decision_problem(value: Any) -> str | None:
    """Why a gate value is not a decision we can act on, or None when it is well-formed and consistent."""
    if not isinstance(value, dict):
        return f"expected an object, got {type(value).__name__}"
    expected_types: dict[str, type] = {
        "allow": bool,
        "risk_tier": str,
        "deny": list,
        "required_signoffs": list,
        "auto_deploy": bool,
    }
    for key, expected in expected_types.items():
        if not isinstance(value.get(key), expected):
            return f"{key!r} must be a {expected.__name__}"
    for entry in value["deny"]:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("code"), str)
            and isinstance(entry.get("message"), str)
        ):
            return "every deny entry must have string code and message"
    if not all(isinstance(status, dict) for status in value["required_signoffs"]):
        return "every required_signoffs entry must be an object"
    if value["allow"] == bool(value["deny"]):
        return "allow must be true exactly when deny is empty"
    if value["auto_deploy"] and not value["allow"]:
        return "auto_deploy without allow"
    return None


def _engine_error_outcome(result: PolicyResult, message: str) -> GateOutcome:
    value = result.value if isinstance(result.value, dict) else {}
    risk_tier = value.get("risk_tier")
    return GateOutcome(
        allow=False,
        risk_tier=risk_tier if isinstance(risk_tier, str) else UNASSESSED,
        deny=(Reason(code=POLICY_ENGINE_ERROR, message=message),),
        required_signoffs=(),
        auto_deploy=False,
        policy=result,
    )


def _failed(engine: str, digest: str, started: float, code: str, message: str) -> PolicyResult:
    return PolicyResult(
        value=None,
        defined=False,
        engine=engine,
        bundle_digest=digest,
        latency_ms=_ms_since(started),
        error_code=code,
        error=message,
    )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _timeout_seconds() -> float:
    timeout = settings.POLICY_TIMEOUT_SECONDS
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise PolicyEngineError(
            "CONFIG_ERROR", f"POLICY_TIMEOUT_SECONDS must be a positive number, got {timeout!r}"
        )
    return float(timeout)


# ---------------------------------------------------------------- embedded backend (regorus)


@functools.cache
def _bundle_snapshot() -> tuple[tuple[BundleFile, ...], str]:
    """The bundle read once per process, so every thread's engine and digest describe the same files."""
    files = read_bundle()
    return files, digest_files(files)


_thread_state = threading.local()


def _thread_engine() -> tuple[regorus.Engine, str]:
    # regorus engines are unsendable (a pyo3 panic if used from another thread): one engine per thread.
    loaded: tuple[regorus.Engine, str] | None = getattr(_thread_state, "engine", None)
    if loaded is None:
        try:
            files, digest = _bundle_snapshot()
            loaded = (build_engine(files=files, include_tests=False), digest)
        except (BundleError, OSError, ValueError) as exc:
            raise PolicyEngineError("BUNDLE_ERROR", f"cannot load the policy bundle: {exc}") from exc
        _thread_state.engine = loaded
    return loaded


def _evaluate_embedded(entrypoint: str, input_json: str) -> _Answer:
    # The thread's engine is reused: regorus clears its evaluation state on every query, and a reused engine
    # keeps the analysis it prepares on its first query (a fresh clone() pays that again: ~1.1 ms of the gate's
    # ~1.6 ms). tests/policies checks that alternating inputs on one engine decide as fresh engines do.
    engine, digest = _thread_engine()
    path = f"data.{entrypoint}"
    try:
        engine.set_input_json(input_json)
        value = _rule_value(engine, path)
        if value is _NOT_A_RULE:
            # A package, a data document, an undefined answer or a rule whose value is the string
            # "<undefined>": the query answers all of them as OPA does (undefined = an empty result).
            rows = json.loads(engine.eval_query_as_json(path)).get("result") or []
            if not rows:
                return _Answer(defined=False, value=None, bundle_digest=digest)
            value = rows[0]["expressions"][0]["value"]
    except BaseException as exc:
        _thread_state.engine = None  # never reuse an engine whose evaluation failed half-way
        if isinstance(exc, RuntimeError):
            raise PolicyEngineError("ENGINE_ERROR", first_paragraph(str(exc))) from exc
        raise
    return _Answer(defined=True, value=value, bundle_digest=digest)


_NOT_A_RULE = object()
_UNDEFINED_RULE_JSON = '"<undefined>"'


def _rule_value(engine: regorus.Engine, path: str) -> Any:
    """The value of the rule at path, or _NOT_A_RULE when only a query can tell. eval_rule skips what eval_query
    costs on every call (parsing and analysing the query text: ~12 % of a gate evaluation), but it answers an
    undefined rule with the string "<undefined>", indistinguishable from a rule of that value, and refuses
    paths that name no rule; both go back to the query."""
    try:
        answer = engine.eval_rule_as_json(path)
    except RuntimeError as exc:
        if str(exc).startswith("not a valid rule path"):
            return _NOT_A_RULE
        raise
    return _NOT_A_RULE if answer == _UNDEFINED_RULE_JSON else json.loads(answer)


# ---------------------------------------------------------------- OPA server backend


def _evaluate_opa(entrypoint: str, input_json: str, *, timeout: float) -> _Answer:
    # OPA watches the same directory, so the digest is read from disk now, not from the process snapshot.
    digest = bundle_digest()
    client = _opa_client(str(settings.OPA_URL), timeout)
    try:
        body = client.query_rule(input_data=json.loads(input_json), package_path=entrypoint)
    except requests.Timeout as exc:
        raise PolicyEngineError("TIMEOUT", f"OPA did not answer within {timeout} s: {exc}") from exc
    except requests.ConnectionError as exc:
        raise PolicyEngineError("CONNECTION_ERROR", f"OPA unreachable at {settings.OPA_URL}: {exc}") from exc
    except requests.HTTPError as exc:
        raise PolicyEngineError("HTTP_ERROR", _http_error_detail(exc)) from exc
    except ValueError as exc:
        raise PolicyEngineError("BAD_RESPONSE", f"OPA answered with invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise PolicyEngineError("BAD_RESPONSE", f"OPA answered with a {type(body).__name__}, not an object")
    # Data API: an undefined document is a 200 without "result".
    if "result" not in body:
        return _Answer(defined=False, value=None, bundle_digest=digest)
    return _Answer(defined=True, value=body["result"], bundle_digest=digest)


def _opa_client(url: str, timeout: float) -> OpaClient:
    """A client per thread (requests sessions are not shared across threads), rebuilt when settings change."""
    cached: tuple[tuple[str, float], OpaClient] | None = getattr(_thread_state, "opa", None)
    if cached is not None and cached[0] == (url, timeout):
        return cached[1]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"}:
        raise PolicyEngineError("CONFIG_ERROR", f"OPA_URL must look like http://host:8181, got {url!r}")
    https = parts.scheme == "https"
    # opa-python-client passes timeout to every requests call (connect and read) and retries=0 stops its retries.
    client = OpaClient(
        host=parts.hostname,
        port=parts.port or (443 if https else 80),
        ssl=https,
        timeout=timeout,
        retries=0,
    )
    if cached is not None:
        cached[1].close_connection()
    _thread_state.opa = ((url, timeout), client)
    return client


def _http_error_detail(exc: requests.HTTPError) -> str:
    response = exc.response
    if response is None:
        return str(exc)
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        return f"OPA answered HTTP {response.status_code}: {body.get('code')}: {body.get('message', '')}"
    return f"OPA answered HTTP {response.status_code}"
