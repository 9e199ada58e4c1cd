"""Lineage of one model version as a graph: datasets → training run → model version → gate decisions →
sign-offs → deployments and alias moves. Read-only; a fixed number of queries whatever the history size."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from governance.models import ApprovalRequest, AuditEvent, Deployment, EvidenceDocument, GateDecision, SignOff
from registry_sync.models import ModelAlias, ModelVersion


def _node(kind: str, key: str, label: str, **attrs: Any) -> dict[str, Any]:
    return {"id": f"{kind}:{key}", "kind": kind, "label": label, "attributes": attrs}


def _edge(source: str, target: str, relation: str) -> dict[str, str]:
    return {"source": source, "target": target, "relation": relation}


def model_version_lineage(*, model_version: ModelVersion) -> dict[str, Any]:
    """Nodes and edges for one version; every node id is "<kind>:<key>" and stable across exports."""
    model = model_version.registered_model
    version_id = f"model_version:{model.name}/{model_version.version}"
    nodes = [
        _node(
            "model_version",
            f"{model.name}/{model_version.version}",
            f"{model.name} v{model_version.version}",
            source=model_version.source,
            mlflow_status=model_version.mlflow_status,
            state=model_version.state,
            created_at=model_version.mlflow_created_at.isoformat()
            if model_version.mlflow_created_at
            else None,
        )
    ]
    edges: list[dict[str, str]] = []
    run = model_version.run
    if run is not None:
        run_id = f"run:{run.run_id}"
        nodes.append(
            _node(
                "run",
                run.run_id,
                run.run_name or run.run_id,
                experiment_id=run.experiment_id,
                user=run.user_id,
                params=run.params,
                metrics=run.metrics,
                bias_metrics=run.bias_metrics,
            )
        )
        edges.append(_edge(run_id, version_id, "produced"))
        for dataset in run.datasets:
            key = f"{dataset['name']}@{dataset['digest']}"
            dataset_id = f"dataset:{key}"
            if not any(n["id"] == dataset_id for n in nodes):
                nodes.append(_node("dataset", key, dataset["name"], **dataset))
            edges.append(_edge(dataset_id, run_id, dataset.get("context") or "input"))

    decisions = list(GateDecision.objects.filter(model_version=model_version).order_by("evaluated_at"))
    for decision in decisions:
        decision_id = f"gate_decision:{decision.pk}"
        nodes.append(
            _node(
                "gate_decision",
                str(decision.pk),
                f"{'ALLOW' if decision.allow else 'DENY'} → {decision.target_stage}",
                allow=decision.allow,
                target=decision.target_stage,
                risk_tier=decision.risk_tier,
                reasons=decision.reasons,
                evaluated_at=decision.evaluated_at.isoformat(),
                input_digest=decision.input_digest,
                bundle_digest=decision.bundle_digest,
                signature=decision.signature,
                key_id=decision.key_id,
                signed_document=decision.signed_document,
            )
        )
        edges.append(_edge(version_id, decision_id, "evaluated"))

    for signoff in (
        SignOff.objects.filter(model_version=model_version).select_related("user").order_by("created_at")
    ):
        signoff_id = f"signoff:{signoff.pk}"
        nodes.append(
            _node(
                "signoff",
                str(signoff.pk),
                f"{signoff.role} by {signoff.user.get_username()}",
                role=signoff.role,
                user=signoff.user.get_username(),
                target=signoff.target_stage,
                valid=signoff.valid,
                evidence=signoff.evidence,
                created_at=signoff.created_at.isoformat(),
            )
        )
        edges.append(_edge(signoff_id, version_id, "signed"))
        # A sign-off informs every later decision for the same target.
        edges.extend(
            _edge(signoff_id, f"gate_decision:{d.pk}", "considered_by")
            for d in decisions
            if d.target_stage == signoff.target_stage and d.evaluated_at >= signoff.created_at
        )

    for deployment in Deployment.objects.filter(model_version=model_version).order_by("deployed_at"):
        deployment_id = f"deployment:{deployment.pk}"
        nodes.append(
            _node(
                "deployment",
                str(deployment.pk),
                f"@{deployment.alias} → v{model_version.version}",
                alias=deployment.alias,
                target=deployment.target_stage,
                previous_version=deployment.previous_version,
                deployed_by=deployment.deployed_by,
                deployed_at=deployment.deployed_at.isoformat(),
            )
        )
        edges.append(_edge(f"gate_decision:{deployment.gate_decision_id}", deployment_id, "promoted"))

    for alias in ModelAlias.objects.filter(model_version=model_version, outside_platform=True):
        alias_id = f"alias_move:{model.name}@{alias.alias}"
        nodes.append(
            _node(
                "alias_move",
                f"{model.name}@{alias.alias}",
                f"@{alias.alias} set outside the platform",
                alias=alias.alias,
            )
        )
        edges.append(_edge(alias_id, version_id, "points_to"))

    for document in EvidenceDocument.objects.filter(model_version=model_version).order_by("uploaded_at"):
        document_id = f"evidence:{document.pk}"
        nodes.append(
            _node(
                "evidence",
                str(document.pk),
                f"{document.get_kind_display()}: {document.filename}",
                document_kind=document.kind,
                filename=document.filename,
                sha256=document.sha256,
                size=document.size,
                uploaded_at=document.uploaded_at.isoformat(),
            )
        )
        edges.append(_edge(document_id, version_id, "documents"))

    for request in ApprovalRequest.objects.filter(model_version=model_version).order_by("created_at"):
        request_id = f"approval_request:{request.pk}"
        nodes.append(
            _node(
                "approval_request",
                str(request.pk),
                f"approval → {request.target_stage}: {request.state}",
                target=request.target_stage,
                state=request.state,
                created_at=request.created_at.isoformat(),
            )
        )
        edges.append(_edge(request_id, version_id, "requests_deployment_of"))
        if request.gate_decision_id:
            edges.append(_edge(f"gate_decision:{request.gate_decision_id}", request_id, "justified"))

    ids_by_type = {
        "governance.gatedecision": [str(d.pk) for d in decisions],
        "governance.signoff": [n["id"].split(":", 1)[1] for n in nodes if n["kind"] == "signoff"],
        "governance.deployment": [n["id"].split(":", 1)[1] for n in nodes if n["kind"] == "deployment"],
        "governance.evidencedocument": [n["id"].split(":", 1)[1] for n in nodes if n["kind"] == "evidence"],
        "governance.approvalrequest": [
            n["id"].split(":", 1)[1] for n in nodes if n["kind"] == "approval_request"
        ],
    }
    scope = Q(pk__in=[])
    for object_type, object_ids in ids_by_type.items():
        scope |= Q(object_type=object_type, object_id__in=object_ids)
    audit = list(
        AuditEvent.objects.filter(scope)
        .order_by("sequence")
        .values(
            "sequence",
            "occurred_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "data",
            "request_id",
            "prev_hash",
            "hash",
        )
    )
    return {
        "model": model.name,
        "version": model_version.version,
        "nodes": nodes,
        "edges": edges,
        "audit_events": [{**event, "occurred_at": event["occurred_at"].isoformat()} for event in audit],
    }
