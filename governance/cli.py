"""`mlgov gate`: the approval-gate client that CI pipelines run before deploying a model version.

    mlgov gate --model credit-scorer --version 3 --target production [--promote] [--json]

It asks the platform for a decision (`POST /api/v1/gates/evaluate`), verifies the decision's Ed25519
signature offline (with a pinned public key, or the one the platform publishes), checks that the signed
document is the decision for exactly this model, version and target and is fresh, and exits:

    0  allow (and, with --promote, the platform set the MLflow alias)
    1  deny (the reasons and the sign-offs still missing are printed)
    2  anything else: configuration error, platform unreachable, timeout, 401/403/5xx, unexpected response,
       invalid signature, promotion refused. The gate fails closed: only a verified allow exits 0.

Configuration: MLGOV_URL (or --url), MLGOV_API_KEY (environment only, so it never appears in process
lists), MLGOV_PUBLIC_KEY_FILE (or --public-key) to pin the gate's public key. Requests are not retried.

This module must stay importable on a CI runner without Django settings: it imports only the standard
library, `requests` and `governance.signing` (which needs only `cryptography`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import ipaddress
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from governance import signing

EXIT_ALLOW = 0
EXIT_DENY = 1
EXIT_ERROR = 2

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_AGE = 3600.0
TARGETS = ("production", "staging")

EVALUATE_PATH = "/api/v1/gates/evaluate"
PROMOTE_PATH = "/api/v1/gates/promote"
PUBLIC_KEY_PATH = "/api/v1/gates/public-key"

# Fields the platform returns at the top level and also signs; both copies must agree.
_SIGNED_FIELDS = (
    "decision_id",
    "model",
    "version",
    "target",
    "allow",
    "risk_tier",
    "reasons",
    "required_signoffs",
    "auto_deploy",
    "bundle_digest",
    "input_digest",
    "engine",
    "key_id",
)


class GateCliError(Exception):
    """Anything that stops the gate from producing a verified decision; always exit 2."""

    def __init__(self, code: str, message: str, *, stage: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.stage = stage
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "stage": self.stage, "http_status": self.status}


@dataclass
class Verification:
    verified: bool = False
    key_id: str | None = None
    key_source: str | None = None  # "pinned:<path>" or "server"

    def as_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "key_id": self.key_id, "key_source": self.key_source}


@dataclass
class Outcome:
    exit_code: int = EXIT_ERROR
    decision: dict[str, Any] | None = None
    verification: Verification = field(default_factory=Verification)
    deployment: dict[str, Any] | None = None
    error: GateCliError | None = None


# ------------------------------------------------------------------------------------------------ HTTP


def _user_agent() -> str:
    try:
        return f"mlgov-cli/{importlib.metadata.version('mlgov')}"
    except importlib.metadata.PackageNotFoundError:
        return "mlgov-cli"


def _error_from_body(response: requests.Response) -> tuple[str, str]:
    """The platform's `{"error": {"code", "message"}}`, or a generic code for other bodies."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code") or f"HTTP_{response.status_code}")
        message = str(error.get("message") or response.reason or "")
        details = error.get("details")
        if details:
            message = f"{message} {json.dumps(details, sort_keys=True)}"
        return code, message
    return f"HTTP_{response.status_code}", f"{response.status_code} {response.reason or ''}".strip()


def _request(
    method: str,
    url: str,
    *,
    stage: str,
    timeout: float,
    api_key: str | None = None,
    body: dict[str, Any] | None = None,
) -> requests.Response:
    headers = {"Accept": "application/json", "User-Agent": _user_agent()}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        # No redirects: a redirected POST loses its body, and the credential must not follow to another host.
        return requests.request(
            method, url, headers=headers, json=body, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        raise GateCliError(
            "TIMEOUT", f"{method} {url} got no answer within {timeout:g} s", stage=stage
        ) from None
    except requests.ConnectionError as exc:
        raise GateCliError("UNREACHABLE", f"cannot reach {url}: {_short(exc)}", stage=stage) from None
    except requests.RequestException as exc:
        raise GateCliError("REQUEST_FAILED", f"{method} {url} failed: {_short(exc)}", stage=stage) from None


def _short(exc: BaseException) -> str:
    # requests wraps urllib3's MaxRetryError (even with no retries); its reason is the informative part.
    inner = exc.args[0] if exc.args else None
    text = str(getattr(inner, "reason", None) or exc)
    return text if len(text) <= 300 else text[:297] + "..."


def _expect(response: requests.Response, status: int, *, stage: str) -> dict[str, Any]:
    """The JSON object of a response with the expected status; any other answer is an error."""
    if response.is_redirect or 300 <= response.status_code < 400:
        location = response.headers.get("Location", "?")
        raise GateCliError(
            "REDIRECTED",
            f"the platform answered {response.status_code} redirecting to {location}; "
            "set MLGOV_URL to the final address (redirects are not followed)",
            stage=stage,
            status=response.status_code,
        )
    if response.status_code != status:
        code, message = _error_from_body(response)
        raise GateCliError(code, message, stage=stage, status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GateCliError(
            "BAD_RESPONSE",
            f"expected a JSON object from {response.url}, got {response.headers.get('Content-Type', '?')}",
            stage=stage,
            status=response.status_code,
        )
    return body


# ------------------------------------------------------------------------------------------------ verify


def _load_public_key(pem: str | bytes, *, source: str) -> Ed25519PublicKey:
    try:
        return signing.public_key_from_pem(pem)
    except (ValueError, TypeError) as exc:
        raise GateCliError(
            "PUBLIC_KEY_INVALID", f"{source} is not an Ed25519 public key in PEM: {exc}", stage="verify"
        ) from None


def _pinned_key(path: str) -> Ed25519PublicKey:
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise GateCliError(
            "PUBLIC_KEY_UNREADABLE", f"cannot read the pinned public key {path}: {exc}", stage="verify"
        ) from None
    return _load_public_key(pem, source=path)


def _server_key(base_url: str, *, timeout: float) -> Ed25519PublicKey:
    stage = "public-key"
    body = _expect(
        _request("GET", base_url + PUBLIC_KEY_PATH, stage=stage, timeout=timeout), 200, stage=stage
    )
    pem = body.get("public_key_pem")
    if not isinstance(pem, str) or body.get("algorithm") != signing.ALGORITHM:
        raise GateCliError(
            "BAD_RESPONSE", "the public-key endpoint did not return an Ed25519 PEM key", stage=stage
        )
    key = _load_public_key(pem, source="the published key")
    if body.get("key_id") != signing.key_id(key):
        raise GateCliError(
            "KEY_ID_MISMATCH",
            f"the published key_id {body.get('key_id')!r} does not match the published key",
            stage=stage,
        )
    return key


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _check_shape(decision: dict[str, Any]) -> None:
    expected: dict[str, type | tuple[type, ...]] = {
        "decision_id": str,
        "model": str,
        "version": int,
        "target": str,
        "allow": bool,
        "risk_tier": str,
        "reasons": list,
        "required_signoffs": list,
        "auto_deploy": bool,
        "signed_document": dict,
        "signature": str,
        "key_id": str,
    }
    wrong = [
        name
        for name, kind in expected.items()
        if not isinstance(decision.get(name), kind) or (kind is int and isinstance(decision.get(name), bool))
    ]
    if wrong:
        raise GateCliError(
            "BAD_RESPONSE",
            f"the decision is missing or has malformed fields: {', '.join(wrong)}",
            stage="evaluate",
        )


def verify_decision(
    decision: dict[str, Any],
    public_key: Ed25519PublicKey,
    *,
    model: str,
    version: int,
    target: str,
    max_age: float,
    now: datetime | None = None,
) -> str:
    """Raise GateCliError unless the decision is signed by `public_key`, its top-level fields are the signed
    ones, it is the decision for this model/version/target, and it is not older than `max_age` seconds
    (0 = no limit). Returns the verified key id."""
    _check_shape(decision)
    stage = "verify"
    key_id = signing.key_id(public_key)
    signed: dict[str, Any] = decision["signed_document"]
    if decision["key_id"] != key_id or signed.get("key_id") != key_id:
        raise GateCliError(
            "KEY_ID_MISMATCH",
            f"the decision was signed with key {decision['key_id']!r}, not the trusted key {key_id!r}",
            stage=stage,
        )
    if not signing.verify(public_key, signed, decision["signature"]):
        raise GateCliError(
            "SIGNATURE_INVALID",
            f"the decision signature does not verify with key {key_id}; do not deploy",
            stage=stage,
        )
    # Compared as canonical JSON, so that true and 1 (or 1 and 1.0) are not taken for each other.
    differing = [
        name
        for name in _SIGNED_FIELDS
        if signing.canonical_json(decision.get(name)) != signing.canonical_json(signed.get(name))
    ]
    signed_at = _parse_time(signed.get("evaluated_at"))
    if signed_at is None or _parse_time(decision.get("evaluated_at")) != signed_at:
        differing.append("evaluated_at")
    if differing:
        raise GateCliError(
            "DECISION_MISMATCH",
            f"the response differs from the signed document in: {', '.join(differing)}",
            stage=stage,
        )
    requested = {"model": model, "version": version, "target": target}
    other = {
        name: signed.get(name)
        for name, value in requested.items()
        if signing.canonical_json(signed.get(name)) != signing.canonical_json(value)
    }
    if other:
        raise GateCliError(
            "DECISION_MISMATCH",
            f"the signed decision is for {json.dumps(other, sort_keys=True)}, not what was asked",
            stage=stage,
        )
    assert signed_at is not None
    age = ((now or datetime.now(UTC)) - signed_at).total_seconds()
    if max_age > 0 and age > max_age:
        raise GateCliError(
            "DECISION_STALE",
            f"the signed decision is {int(age)} s old (limit {max_age:g} s): possibly replayed",
            stage=stage,
        )
    return key_id


# ------------------------------------------------------------------------------------------------ gate


@dataclass(frozen=True)
class GateArgs:
    url: str
    api_key: str
    model: str
    version: int
    target: str
    promote: bool
    timeout: float
    public_key_file: str | None
    max_age: float


def run_gate(args: GateArgs) -> Outcome:
    outcome = Outcome()
    try:
        public_key = _pinned_key(args.public_key_file) if args.public_key_file else None
        stage = "evaluate"
        response = _request(
            "POST",
            args.url + EVALUATE_PATH,
            stage=stage,
            timeout=args.timeout,
            api_key=args.api_key,
            body={"model": args.model, "version": args.version, "target": args.target},
        )
        decision = _expect(response, 200, stage=stage)
        outcome.decision = decision
        if public_key is None:
            public_key = _server_key(args.url, timeout=args.timeout)
            outcome.verification.key_source = "server"
        else:
            outcome.verification.key_source = f"pinned:{args.public_key_file}"
        outcome.verification.key_id = verify_decision(
            decision,
            public_key,
            model=args.model,
            version=args.version,
            target=args.target,
            max_age=args.max_age,
        )
        outcome.verification.verified = True
        if decision["signed_document"]["allow"] is not True:
            outcome.exit_code = EXIT_DENY
            return outcome
        if args.promote:
            outcome.deployment = _promote(args, decision)
        outcome.exit_code = EXIT_ALLOW
    except GateCliError as exc:
        outcome.error = exc
        outcome.exit_code = EXIT_ERROR
    return outcome


def _promote(args: GateArgs, decision: dict[str, Any]) -> dict[str, Any]:
    stage = "promote"
    response = _request(
        "POST",
        args.url + PROMOTE_PATH,
        stage=stage,
        timeout=args.timeout,
        api_key=args.api_key,
        body={"decision_id": decision["decision_id"]},
    )
    deployment = _expect(response, 201, stage=stage)
    expected = {
        "decision_id": decision["decision_id"],
        "model": args.model,
        "version": args.version,
        "target": args.target,
    }
    if any(deployment.get(name) != value for name, value in expected.items()) or not isinstance(
        deployment.get("alias"), str
    ):
        raise GateCliError(
            "BAD_RESPONSE",
            f"the promotion answer does not match the decision: {json.dumps(deployment, sort_keys=True)}",
            stage=stage,
            status=response.status_code,
        )
    return deployment


# ------------------------------------------------------------------------------------------------ output


def _signoff_line(status: dict[str, Any]) -> str:
    received, needed = status.get("received", "?"), status.get("count", "?")
    mark = "ok" if isinstance(received, int) and isinstance(needed, int) and received >= needed else "MISSING"
    independent = " (must be independent)" if status.get("independent") else ""
    return f"  {status.get('role', '?')}: {received}/{needed} {mark}{independent}"


def print_human(outcome: Outcome, args: GateArgs, out: TextIO, err: TextIO) -> None:
    decision = outcome.decision
    if outcome.verification.verified and decision is not None:
        signed: dict[str, Any] = decision["signed_document"]  # verified: print what was signed
        verdict = "ALLOW" if signed["allow"] else "DENY"
        print(
            f"{verdict} {signed['model']} v{signed['version']} -> {signed['target']} "
            f"(risk tier: {signed['risk_tier']}) decision {signed['decision_id']}",
            file=out,
        )
        for reason in signed["reasons"]:
            if isinstance(reason, dict):
                print(f"  {reason.get('code', '?')}: {reason.get('message', '')}", file=out)
        if signed["required_signoffs"]:
            print("required sign-offs (received/needed):", file=out)
            for status in signed["required_signoffs"]:
                if isinstance(status, dict):
                    print(_signoff_line(status), file=out)
        source = outcome.verification.key_source or ""
        pin_hint = (
            "" if source.startswith("pinned:") else ", fetched from the platform; pin it with --public-key"
        )
        print(f"signature verified (key {outcome.verification.key_id}{pin_hint})", file=out)
    if outcome.deployment is not None:
        deployment = outcome.deployment
        previous = deployment.get("previous_version")
        print(
            f"PROMOTED {deployment['model']} v{deployment['version']}: alias {deployment['alias']!r} "
            f"({deployment['target']}) now points to v{deployment['version']}"
            + (f", was v{previous}" if previous is not None else "")
            + f" (deployment {deployment.get('deployment_id')})",
            file=out,
        )
    elif args.promote and outcome.exit_code == EXIT_DENY:
        print("not promoted: the gate denied", file=out)
    if outcome.error is not None:
        error = outcome.error
        status = f" (HTTP {error.status})" if error.status else ""
        prefix = "promotion refused" if error.stage == "promote" else "gate error"
        print(f"ERROR {prefix}{status}: {error.code}: {error.message}", file=err)
        print("failing closed: do not deploy", file=err)


def json_document(outcome: Outcome) -> dict[str, Any]:
    """`decision` is set only once the signature verified; an unverified answer is kept apart, so a consumer
    reading `.decision.allow` can never see an unverified allow."""
    result = {EXIT_ALLOW: "allow", EXIT_DENY: "deny"}.get(outcome.exit_code, "error")
    verified = outcome.verification.verified
    return {
        "result": result,
        "exit_code": outcome.exit_code,
        "decision": outcome.decision if verified else None,
        "unverified_response": None if verified else outcome.decision,
        "verification": outcome.verification.as_dict(),
        "deployment": outcome.deployment,
        "error": outcome.error.as_dict() if outcome.error else None,
    }


# ------------------------------------------------------------------------------------------------ main


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive number of seconds: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"version numbers start at 1: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlgov",
        description="mlgov approval-gate client for CI pipelines.",
        epilog="Environment: MLGOV_URL, MLGOV_API_KEY (required, never a flag), MLGOV_PUBLIC_KEY_FILE.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    gate = commands.add_parser(
        "gate",
        help="evaluate the deployment gate for a model version (and optionally promote it)",
        description=(
            "Evaluate the deployment gate, verify the signed decision and exit 0 (allow), 1 (deny) or "
            "2 (error: fail closed). Requests are not retried."
        ),
    )
    gate.add_argument("--model", required=True, help="registered model name in MLflow")
    gate.add_argument("--version", required=True, type=_positive_int, help="model version number")
    gate.add_argument("--target", required=True, choices=TARGETS, help="deployment target")
    gate.add_argument(
        "--promote",
        action="store_true",
        help="after an allow, have the platform set the target's MLflow alias (needs the promote scope)",
    )
    gate.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    gate.add_argument("--url", help="platform base URL (default: $MLGOV_URL)")
    gate.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for each connect and each read (default {DEFAULT_TIMEOUT:g})",
    )
    gate.add_argument(
        "--public-key",
        metavar="FILE",
        help="pinned PEM public key of the gate (default: $MLGOV_PUBLIC_KEY_FILE, else fetched from the platform)",
    )
    gate.add_argument(
        "--max-age",
        type=_non_negative_float,
        default=DEFAULT_MAX_AGE,
        help=f"refuse signed decisions older than this many seconds, 0 = no limit (default {DEFAULT_MAX_AGE:g})",
    )
    return parser


def _warn_plain_http(url: str, err: TextIO) -> None:
    parts = urlsplit(url)
    if parts.scheme != "http":
        return
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        print(f"warning: {url} is plain http; the API key travels unencrypted. Use https.", file=err)


def _config_error(message: str, as_json: bool, out: TextIO, err: TextIO) -> int:
    outcome = Outcome(error=GateCliError("CONFIG_ERROR", message, stage="config"))
    if as_json:
        print(json.dumps(json_document(outcome), sort_keys=True), file=out)
    else:
        print(f"ERROR gate error: CONFIG_ERROR: {message}", file=err)
        print("failing closed: do not deploy", file=err)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 allow, 1 deny, 2 error)."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        options = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if options.command != "gate":
        parser.print_help(err)
        return EXIT_ERROR

    as_json: bool = options.json
    url = (options.url or os.environ.get("MLGOV_URL") or "").strip().rstrip("/")
    api_key = os.environ.get("MLGOV_API_KEY", "").strip()
    public_key_file = options.public_key or os.environ.get("MLGOV_PUBLIC_KEY_FILE") or None
    if not url:
        return _config_error("set MLGOV_URL or pass --url", as_json, out, err)
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc:
        return _config_error(f"the platform URL must be http(s)://host[:port]: {url!r}", as_json, out, err)
    if not api_key:
        return _config_error("set MLGOV_API_KEY (a CI secret) in the environment", as_json, out, err)
    _warn_plain_http(url, err)

    args = GateArgs(
        url=url,
        api_key=api_key,
        model=options.model,
        version=options.version,
        target=options.target,
        promote=options.promote,
        timeout=options.timeout,
        public_key_file=public_key_file,
        max_age=options.max_age,
    )
    outcome = run_gate(args)
    if as_json:
        print(json.dumps(json_document(outcome), sort_keys=True), file=out)
    else:
        print_human(outcome, args, out, err)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
