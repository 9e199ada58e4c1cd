"""The evidence bundle of a model version: a zip an auditor verifies offline (signatures, audit hashes,
file digests) with the verify.py it contains."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from governance import signing
from governance.lineage import model_version_lineage
from governance.models import EvidenceDocument, GateDecision, SignOff
from governance.services.gate import signing_key
from registry_sync.models import ModelVersion

VERIFY_SCRIPT = Path(__file__).parent / "bundle_files" / "verify.py"


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")


def evidence_bundle_build(*, model_version: ModelVersion) -> bytes:
    lineage = model_version_lineage(model_version=model_version)
    decisions = [
        {"signed_document": d.signed_document, "signature": d.signature, "key_id": d.key_id}
        for d in GateDecision.objects.filter(model_version=model_version).order_by("evaluated_at")
    ]
    signoffs = [
        {
            "role": s.role,
            "user": s.user.get_username(),
            "target": s.target_stage,
            "valid": s.valid,
            "comment": s.comment,
            "evidence": s.evidence,
            "created_at": s.created_at.isoformat(),
        }
        for s in SignOff.objects.filter(model_version=model_version)
        .select_related("user")
        .order_by("created_at")
    ]
    documents = [
        {
            "kind": d.kind,
            "filename": d.filename,
            "sha256": d.sha256,
            "size": d.size,
            "content_type": d.content_type,
        }
        for d in EvidenceDocument.objects.filter(model_version=model_version).order_by("uploaded_at")
    ]
    files: dict[str, bytes] = {
        "lineage.json": _json({k: v for k, v in lineage.items() if k != "audit_events"}),
        "decisions.json": _json(decisions),
        "signoffs.json": _json(signoffs),
        "documents.json": _json(documents),
        "audit_events.json": _json(lineage["audit_events"]),
        "public_key.pem": signing.public_key_pem(signing_key().public_key()).encode("ascii"),
        "verify.py": VERIFY_SCRIPT.read_bytes(),
    }
    manifest = {
        "model": model_version.registered_model.name,
        "version": model_version.version,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.writestr("MANIFEST.json", _json(manifest))
    return buffer.getvalue()
