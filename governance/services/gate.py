"""The deployment gate: build the policy input from the inventory (never from the caller), evaluate it
fail-closed, store and sign the decision; and promotion, the only path that moves protected MLflow aliases."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import ServiceError
from config.observability import record_gate_decision
from config.rows import aware_datetime, instance_from_row, json_value
from governance import signing
from governance.models import (
    ApiKey,
    ApprovalRequest,
    ApprovalState,
    Deployment,
    EvidenceKind,
    GateDecision,
    ModelGovernance,
    RiskTier,
)
from governance.permissions import api_key_project_require
from governance.services.audit import audit_event_record
from policies.engine import POLICY_ENGINE_ERROR, gate_decision
from registry_sync.mlflow_adapter import MlflowRegistry, RegistryNotFound, RegistryUnavailable
from registry_sync.models import MirrorState, ModelAlias, ModelVersion, RegisteredModel, Run
from registry_sync.services import sync_targeted

logger = logging.getLogger(__name__)

MIRROR_STALE = "MIRROR_STALE"
VERSION_ARCHIVED = "VERSION_ARCHIVED"


class GateError(ServiceError):
    """A request the governance services refuse; carries the API status and a stable code."""

    def __init__(self, code: str, message: str, *, status: int) -> None:
        super().__init__(message, code=code, status=status)


# ------------------------------------------------------------------------------------------------ signing


@lru_cache(maxsize=1)
def signing_key() -> Ed25519PrivateKey:
    """The gate's Ed25519 key: GATE_SIGNING_KEY (PEM), else the key file, created on first use in development."""
    pem = settings.GATE_SIGNING_KEY.encode() if settings.GATE_SIGNING_KEY else None
    path = settings.GATE_SIGNING_KEY_FILE
    if pem is None and path.exists():
        pem = path.read_bytes()
    if pem is None:
        if settings.PRODUCTION:
            raise ImproperlyConfigured("Set GATE_SIGNING_KEY (PEM) or GATE_SIGNING_KEY_FILE in production")
        generated = Ed25519PrivateKey.generate()
        pem = generated.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pem)
        path.chmod(0o600)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("GATE_SIGNING_KEY is not an Ed25519 private key")
    return key


@lru_cache(maxsize=1)
def signing_key_id() -> str:
    """The id of the signing key's public half, which every decision names (derived once per process)."""
    return signing.key_id(signing_key().public_key())


def gate_public_key() -> dict[str, str]:
    public = signing_key().public_key()
    return {
        "algorithm": signing.ALGORITHM,
        "key_id": signing_key_id(),
        "public_key_pem": signing.public_key_pem(public),
    }


# ------------------------------------------------------------------------------------------------ evaluate


# The version with its model, governance record and run, and every governance record the policy input needs, in
# one round trip (the gate is on CI's critical path; compiling the ORM queries cost more than running them). Each
# row is (kind, then the version columns, or the record's values in the positions of columns of the same type); the
# first branch has a typed column in every position, so PostgreSQL types the NULLs of the others. Portable SQL
# (PostgreSQL and SQLite); every value is a bound parameter. Instances are built with Model.from_db, so a column
# not read here would cost a query (tests/gate/test_gate_input.py pins the count).
_VERSION_AND_RECORDS_SQL = """
    WITH v AS (
        SELECT mv.id AS version_id, mv.registered_model_id AS model_id
          FROM registry_sync_modelversion mv
          JOIN registry_sync_registeredmodel rm ON rm.id = mv.registered_model_id
         WHERE rm.name = %(model)s AND mv.version = %(version)s
    )
    SELECT 'version', mv.id, mv.version, mv.state, mv.mlflow_run_id, mv.user_id, mv.last_synced_at,
           rm.id, rm.name, rm.tags,
           g.id, g.team, g.risk_tier, g.override_tier, g.override_approved_by_id, g.committee_quorum,
           r.id, r.user_id, r.metrics
      FROM v
      JOIN registry_sync_modelversion mv ON mv.id = v.version_id
      JOIN registry_sync_registeredmodel rm ON rm.id = v.model_id
      LEFT JOIN governance_modelgovernance g ON g.registered_model_id = rm.id
      LEFT JOIN registry_sync_run r ON r.id = mv.run_id
    UNION ALL
    SELECT 'bias_report', NULL, NULL, CAST(e.id AS TEXT), e.sha256, e.filename, e.uploaded_at,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM v JOIN governance_evidencedocument e ON e.model_version_id = v.version_id
     WHERE e.kind = %(bias_report)s
    UNION ALL
    SELECT 'raci', NULL, NULL, r.role, u.username, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM v
      JOIN governance_raciassignment r ON r.registered_model_id = v.model_id
      JOIN auth_user u ON u.id = r.user_id
    UNION ALL
    SELECT 'raci', NULL, NULL, r.role, u.username, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM v
      JOIN governance_raciassignment r ON r.registered_model_id = v.model_id
      JOIN auth_user_groups ug ON ug.group_id = r.group_id
      JOIN auth_user u ON u.id = ug.user_id
    UNION ALL
    SELECT 'signoff', NULL, NULL, s.role, u.username, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM v
      JOIN governance_signoff s ON s.model_version_id = v.version_id
      JOIN auth_user u ON u.id = s.user_id
     WHERE s.target_stage = %(target)s AND s.valid = %(valid)s
    UNION ALL
    SELECT 'submitter', NULL, NULL, u.username, NULL, NULL, a.created_at,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM v
      JOIN governance_approvalrequest a ON a.model_version_id = v.version_id
      JOIN auth_user u ON u.id = a.submitted_by_id
     WHERE a.target_stage = %(target)s AND a.state <> %(withdrawn)s
"""

# A record row: (kind, first, second, third, at), from the positions the branches above put them in.
GateRecord = tuple[str, Any, Any, Any, Any]


def _find_version(model_name: str, version: int, target: str) -> tuple[ModelVersion, list[GateRecord]] | None:
    """The version (with its model, governance record and run) and the governance records for the target."""
    params: dict[str, str | int | bool] = {
        "model": model_name,
        "version": version,
        "bias_report": EvidenceKind.BIAS_REPORT.value,
        "target": target,
        "valid": True,
        "withdrawn": ApprovalState.WITHDRAWN.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_AND_RECORDS_SQL, params)
        rows = cursor.fetchall()
    found: ModelVersion | None = None
    records: list[GateRecord] = []
    for row in rows:
        if row[0] == "version":
            found = _version_from_row(row[1:])
        else:
            records.append((row[0], row[3], row[4], row[5], row[6]))
    return None if found is None else (found, records)


def _version_from_row(row: tuple[Any, ...]) -> ModelVersion:
    (version_id, number, state, run_uid, user_id, synced_at, model_id, name, tags) = row[:9]
    (governance_id, team, tier, override_tier, override_approver, quorum, run_pk, run_user, metrics) = row[9:]
    model = instance_from_row(RegisteredModel, id=model_id, name=name, tags=json_value(tags))
    if governance_id is None:
        RegisteredModel.governance.related.set_cached_value(
            model, None
        )  # no record: reading it raises, no query
    else:
        model.governance = instance_from_row(
            ModelGovernance,
            id=governance_id,
            registered_model_id=model_id,
            team=team,
            risk_tier=tier,
            override_tier=override_tier,
            override_approved_by_id=override_approver,
            committee_quorum=quorum,
        )
    found = instance_from_row(
        ModelVersion,
        id=version_id,
        registered_model_id=model_id,
        version=number,
        state=state,
        mlflow_run_id=run_uid,
        user_id=user_id,
        last_synced_at=aware_datetime(synced_at),
        run_id=run_pk,
    )
    found.registered_model = model
    found.run = (
        None
        if run_pk is None
        else instance_from_row(Run, id=run_pk, user_id=run_user, metrics=json_value(metrics))
    )
    return found


def _fresh_version(
    *, model_name: str, version: int, target: str
) -> tuple[ModelVersion, list[GateRecord], bool]:
    """The mirrored version and its records, re-synced from MLflow unless fresh; the last value says whether the
    mirror is current."""
    current = _find_version(model_name, version, target)
    max_age = timedelta(seconds=settings.GATE_MIRROR_MAX_AGE_SECONDS)
    if current is not None and timezone.now() - current[0].last_synced_at <= max_age:
        return *current, True
    try:
        sync_targeted(model_name=model_name, version=version)
    except RegistryUnavailable:
        if current is None:
            raise GateError(
                "VERSION_NOT_FOUND",
                f"{model_name} v{version} is not in the inventory and MLflow is unreachable to look it up.",
                status=404,
            ) from None
        return *current, False
    refreshed = _find_version(model_name, version, target)
    if refreshed is None:
        raise GateError("VERSION_NOT_FOUND", f"{model_name} v{version} does not exist in MLflow.", status=404)
    return *refreshed, True


def gate_input_build(
    *, model_version: ModelVersion, records: list[GateRecord], target: str, requested_at: str
) -> dict[str, Any]:
    """The policy input document, entirely from the inventory and governance records (_find_version reads the
    RACI with group entries expanded to their members, the valid sign-offs for the target, the submitted approval
    requests and the bias reports)."""
    model = model_version.registered_model
    try:
        governance: ModelGovernance | None = model.governance  # joined by _find_version
    except ModelGovernance.DoesNotExist:
        governance = None
    # A set per role: someone both named and in an assigned group is listed once.
    raci: dict[str, set[str]] = {
        "responsible": set(),
        "accountable": set(),
        "consulted": set(),
        "informed": set(),
    }
    signoffs: list[dict[str, Any]] = []
    submitter: tuple[Any, str] | None = None
    bias_report: tuple[Any, dict[str, str]] | None = None
    for kind, first, second, third, at in records:
        if kind == "raci":
            raci[first].add(second)
        elif kind == "signoff":
            signoffs.append({"role": first, "user": second, "version": model_version.version, "valid": True})
        elif kind == "submitter" and (submitter is None or at > submitter[0]):
            submitter = (at, first)
        elif kind == "bias_report" and (bias_report is None or at > bias_report[0]):
            report = {"uri": f"mlgov:evidence/{first}", "sha256": second, "filename": third}
            bias_report = (at, report)
    run = model_version.run
    submitted_by = submitter[1] if submitter else model_version.user_id or (run.user_id if run else "")
    return {
        "request": {"target_stage": target, "requested_at": requested_at},
        "model": {
            "name": model.name,
            "risk_tier": governance.effective_tier if governance else RiskTier.UNASSESSED.value,
            "raci": {role: sorted(users) for role, users in raci.items()},
        },
        "version": {
            "version": model_version.version,
            "run_id": model_version.mlflow_run_id,
            "submitted_by": submitted_by,
            "bias_metrics": run.bias_metrics if run else {},
            "bias_report": bias_report[1] if bias_report else None,
        },
        "signoffs": sorted(signoffs, key=lambda s: (s["role"], s["user"])),
        "committee": {"quorum": governance.committee_quorum if governance else 2},
    }


def _platform_denials(model_version: ModelVersion, mirror_current: bool) -> list[dict[str, str]]:
    reasons = []
    if model_version.state == MirrorState.ARCHIVED:
        reasons.append({"code": VERSION_ARCHIVED, "message": "this version was deleted in MLflow"})
    if not mirror_current:
        reasons.append(
            {
                "code": MIRROR_STALE,
                "message": "MLflow is unreachable and the mirrored data is older than "
                f"{settings.GATE_MIRROR_MAX_AGE_SECONDS} s; the gate does not decide on stale evidence",
            }
        )
    return reasons


def gate_evaluate(
    *, model_name: str, version: int, target: str, caller: User, api_key: ApiKey | None = None
) -> GateDecision:
    """Evaluate the deployment gate for one version and target; the decision is stored, signed and audited."""
    started = time.perf_counter()
    model_version, records, mirror_current = _fresh_version(
        model_name=model_name, version=version, target=target
    )
    api_key_project_require(key=api_key, registered_model=model_version.registered_model)
    evaluated_at = timezone.now()
    document = gate_input_build(
        model_version=model_version, records=records, target=target, requested_at=evaluated_at.isoformat()
    )
    # The canonical input is digested and handed to the engine as it is: serialized once.
    canonical_input = signing.canonical_json(document)
    outcome = gate_decision(document, input_json=canonical_input.decode())
    reasons: list[dict[str, str]] = [{"code": r["code"], "message": r["message"]} for r in outcome.deny]
    platform_reasons = _platform_denials(model_version, mirror_current)
    allow = outcome.allow and not platform_reasons
    reasons = sorted(reasons + platform_reasons, key=lambda r: (r["code"], r["message"]))
    decision_id = uuid.uuid4()
    input_digest = hashlib.sha256(canonical_input).hexdigest()
    auto_deploy = outcome.auto_deploy and allow
    key_id = signing_key_id()
    signed: dict[str, Any] = {
        "decision_id": str(decision_id),
        "model": model_version.registered_model.name,
        "version": model_version.version,
        "target": target,
        "allow": allow,
        "risk_tier": outcome.risk_tier,
        "reasons": reasons,
        "required_signoffs": list(outcome.required_signoffs),
        "auto_deploy": auto_deploy,
        "bundle_digest": outcome.policy.bundle_digest,
        "input_digest": input_digest,
        "engine": outcome.policy.engine,
        "evaluated_at": evaluated_at.isoformat(),
        "key_id": key_id,
    }
    engine_error = ""
    if outcome.policy.error_code or any(r["code"] == POLICY_ENGINE_ERROR for r in reasons):
        engine_error = f"{outcome.policy.error_code or 'UNDEFINED'}: {outcome.policy.error or ''}"[:300]
    caller_name = f"apikey:{api_key.prefix}:{api_key.name}" if api_key else caller.get_username()
    decision = GateDecision(
        id=decision_id,
        model_version=model_version,
        target_stage=target,
        allow=allow,
        risk_tier=outcome.risk_tier,
        reasons=reasons,
        required_signoffs=list(outcome.required_signoffs),
        auto_deploy=auto_deploy,
        input_document=document,
        input_digest=input_digest,
        bundle_digest=outcome.policy.bundle_digest,
        engine=outcome.policy.engine,
        engine_error=engine_error,
        latency_ms=outcome.policy.latency_ms,
        caller=caller_name[:256],
        api_key=api_key,
        evaluated_at=evaluated_at,
        signed_document=signed,
        signature=signing.sign(signing_key(), signed),
        key_id=key_id,
    )
    # The decision row goes in with its audit event, atomically (one statement on PostgreSQL).
    audit_event_record(
        action="gate.decision",
        actor=caller,
        target=decision,
        insert_target=True,
        data={
            "model": signed["model"],
            "version": signed["version"],
            "target": target,
            "allow": allow,
            "codes": sorted({r["code"] for r in reasons}),
            "input_digest": input_digest,
            "bundle_digest": signed["bundle_digest"],
            "via": caller_name,
        },
    )
    codes = sorted({r["code"] for r in reasons})
    record_gate_decision(
        allow=allow,
        target=target,
        codes=codes,
        seconds=time.perf_counter() - started,
        policy_seconds=outcome.policy.latency_ms / 1000,
        engine=outcome.policy.engine,
    )
    # One line per decision, with its fields as JSON keys when LOG_FORMAT=json (ready for shipping).
    logger.info(
        "gate decision %s %s v%s -> %s: %s %s",
        decision.id,
        signed["model"],
        signed["version"],
        target,
        "allow" if allow else "deny",
        ",".join(codes),
        extra={
            "event": "gate.decision",
            "decision_id": str(decision.id),
            "model": signed["model"],
            "version": signed["version"],
            "target": target,
            "allow": allow,
            "reason_codes": codes,
            "risk_tier": outcome.risk_tier,
            "engine": outcome.policy.engine,
            "policy_latency_ms": round(outcome.policy.latency_ms, 3),
            "caller": caller_name,
        },
    )
    return decision


# ------------------------------------------------------------------------------------------------ promote


def gate_promote(*, decision_id: uuid.UUID, caller: User, api_key: ApiKey | None = None) -> Deployment:
    """Set the target's alias in MLflow for an allowing, unexpired, unused decision; record the Deployment."""
    caller_name = f"apikey:{api_key.prefix}:{api_key.name}" if api_key else caller.get_username()
    try:
        with transaction.atomic():
            decision = (
                GateDecision.objects.select_for_update()
                .select_related("model_version__registered_model")
                .filter(pk=decision_id)
                .first()
            )
            if decision is None:
                raise GateError("DECISION_NOT_FOUND", f"No gate decision {decision_id}.", status=404)
            _check_promotable(decision)
            version = decision.model_version
            model = version.registered_model
            alias = settings.PROMOTION_ALIASES[decision.target_stage]
            current = (
                ModelAlias.objects.filter(registered_model=model, alias=alias)
                .select_related("model_version")
                .first()
            )
            previous = current.model_version.version if current else None
            deployment = Deployment.objects.create(
                gate_decision=decision,
                model_version=version,
                target_stage=decision.target_stage,
                alias=alias,
                previous_version=previous,
                deployed_by=caller_name[:256],
            )
            ModelAlias.objects.update_or_create(
                registered_model=model,
                alias=alias,
                defaults={"model_version": version, "outside_platform": False},
            )
            audit_event_record(
                action="gate.promoted",
                actor=caller,
                target=deployment,
                data={
                    "decision_id": str(decision.pk),
                    "model": model.name,
                    "version": version.version,
                    "alias": alias,
                    "previous_version": previous,
                    "via": caller_name,
                },
            )
            approval_request_mark_deployed(deployment=deployment, actor=caller)
            # Last, inside the transaction: if MLflow refuses, nothing above is committed.
            _set_mlflow_alias(model.name, alias, version.version)
    except IntegrityError:
        raise GateError(
            "ALREADY_PROMOTED", f"Decision {decision_id} was already promoted.", status=409
        ) from None
    return deployment


def _check_promotable(decision: GateDecision) -> None:
    if not decision.allow:
        codes = ", ".join(sorted({str(r["code"]) for r in decision.reasons})) or "deny"
        raise GateError(
            "DECISION_DENIED", f"Decision {decision.pk} denied the deployment ({codes}).", status=409
        )
    if Deployment.objects.filter(gate_decision=decision).exists():
        raise GateError("ALREADY_PROMOTED", f"Decision {decision.pk} was already promoted.", status=409)
    age = (timezone.now() - decision.evaluated_at).total_seconds()
    if age > settings.GATE_DECISION_TTL_SECONDS:
        raise GateError(
            "DECISION_EXPIRED",
            f"Decision {decision.pk} is {int(age)} s old; evaluate again (limit {settings.GATE_DECISION_TTL_SECONDS} s).",
            status=409,
        )
    if decision.model_version.state == MirrorState.ARCHIVED:
        raise GateError(
            "VERSION_ARCHIVED", "The version was deleted in MLflow after the decision.", status=409
        )


def _set_mlflow_alias(model_name: str, alias: str, version: int) -> None:
    try:
        MlflowRegistry().set_alias(model_name, alias, version)
    except RegistryNotFound as exc:
        raise GateError(
            "VERSION_NOT_FOUND", f"MLflow no longer has {model_name} v{version}.", status=409
        ) from exc
    except RegistryUnavailable as exc:
        raise GateError(
            "MLFLOW_UNAVAILABLE", f"Could not set the alias in MLflow: {exc}", status=503
        ) from exc


def approval_request_mark_deployed(*, deployment: Deployment, actor: User | str) -> ApprovalRequest | None:
    """Called by the gate's promote inside its transaction: the approved request for that target is deployed."""
    request = ApprovalRequest.objects.filter(
        model_version=deployment.model_version,
        target_stage=deployment.target_stage,
        state=ApprovalState.APPROVED,
    ).first()
    if request is None:
        return None
    updated = ApprovalRequest.objects.filter(pk=request.pk, state=ApprovalState.APPROVED).update(
        state=ApprovalState.DEPLOYED, updated_at=timezone.now()
    )
    if updated == 1:
        audit_event_record(
            action="approval.deployed",
            actor=actor,
            target=request,
            data={"from": ApprovalState.APPROVED, "to": ApprovalState.DEPLOYED, "deployment": deployment.pk},
        )
    return request
