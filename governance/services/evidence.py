"""Evidence documents (stored with SHA-256, size-limited, content-type checked) and review comments."""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from governance.models import ApprovalRequest, Comment, EvidenceDocument, EvidenceKind
from governance.notifications import notify_comment
from governance.permissions import ModelAction, model_action_require
from governance.services.audit import audit_event_record
from governance.services.gate import GateError
from registry_sync.models import ModelVersion

# Accepted types: the declared type must agree with what the bytes are.
ALLOWED_TYPES = {
    "application/pdf": {".pdf"},
    "text/markdown": {".md", ".markdown"},
    "text/plain": {".txt", ".md"},
    "text/csv": {".csv"},
    "application/json": {".json"},
    "text/html": {".html", ".htm"},
}


def _sniff(head: bytes, content_type: str) -> bool:
    if content_type == "application/pdf":
        return head.startswith(b"%PDF-")
    if b"\x00" in head:
        return False  # binary content declared as text
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character may be cut at the end of the sniffed window.
        if exc.start < len(head) - 4:
            return False
    return True


@transaction.atomic
def evidence_upload(
    *, model_version: ModelVersion, kind: str, upload: UploadedFile, actor: User
) -> EvidenceDocument:
    model_action_require(
        user=actor, action=ModelAction.UPLOAD_EVIDENCE, registered_model=model_version.registered_model
    )
    if kind not in EvidenceKind.values:
        raise GateError("EVIDENCE_KIND_INVALID", f"kind must be one of {EvidenceKind.values}.", status=400)
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise GateError("EVIDENCE_TOO_LARGE", f"Documents may be at most {limit} bytes.", status=413)
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    suffix = PurePath(upload.name or "").suffix.lower()
    if content_type not in ALLOWED_TYPES or suffix not in ALLOWED_TYPES[content_type]:
        raise GateError(
            "EVIDENCE_TYPE_REFUSED",
            f"{content_type or 'unknown type'} with extension {suffix or 'none'} is not accepted; "
            f"use one of {sorted(ALLOWED_TYPES)}.",
            status=415,
        )
    digest = hashlib.sha256()
    head = b""
    for chunk in upload.chunks():
        if len(head) < 2048:
            head += chunk[: 2048 - len(head)]
        digest.update(chunk)
    if not _sniff(head, content_type):
        raise GateError("EVIDENCE_TYPE_MISMATCH", f"The content is not {content_type}.", status=415)
    if content_type == "application/json":
        upload.seek(0)
        try:
            json.loads(upload.read())
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: thousands of levels deep
            raise GateError("EVIDENCE_TYPE_MISMATCH", "The content is not valid JSON.", status=415) from None
    upload.seek(0)
    document = EvidenceDocument.objects.create(
        model_version=model_version,
        kind=kind,
        file=upload,
        filename=PurePath(upload.name or "document").name[:255],
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
    )
    audit_event_record(
        action="evidence.uploaded",
        actor=actor,
        target=document,
        data={
            "model": model_version.registered_model.name,
            "version": model_version.version,
            "kind": kind,
            "sha256": document.sha256,
            "size": document.size,
            "filename": document.filename,
        },
    )
    return document


@transaction.atomic
def comment_add(*, approval_request: ApprovalRequest, author: User, body: str) -> Comment:
    text = body.strip()
    if not text:
        raise GateError("COMMENT_EMPTY", "A comment needs some text.", status=400)
    comment = Comment.objects.create(approval_request=approval_request, author=author, body=text[:10000])
    audit_event_record(
        action="approval.commented", actor=author, target=approval_request, data={"comment_id": comment.pk}
    )
    transaction.on_commit(lambda: notify_comment(comment_id=comment.pk))
    return comment
