"""Verify an mlgov evidence bundle offline: python verify.py [bundle_dir]

Checks every file against MANIFEST.json, every gate decision's Ed25519 signature against public_key.pem
(needs the `cryptography` package), and every audit event's hash (sha256 of prev_hash + canonical event JSON).
Exit code 0 when everything verifies, 1 otherwise.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def main(root):
    problems = []
    manifest = json.loads((root / "MANIFEST.json").read_text())
    for name, digest in manifest["files"].items():
        actual = hashlib.sha256((root / name).read_bytes()).hexdigest()
        if actual != digest:
            problems.append(f"{name}: sha256 {actual} != manifest {digest}")

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public_key = load_pem_public_key((root / "public_key.pem").read_bytes())
    decisions = json.loads((root / "decisions.json").read_text())
    for decision in decisions:
        try:
            public_key.verify(
                base64.b64decode(decision["signature"]),
                canonical(decision["signed_document"]).encode("utf-8"),
            )
        except InvalidSignature:
            problems.append(f"decision {decision['signed_document'].get('decision_id')}: bad signature")

    events = json.loads((root / "audit_events.json").read_text())
    for event in events:
        fields = {
            "sequence": event["sequence"],
            "occurred_at": event["occurred_at"],
            "actor": event["actor"],
            "action": event["action"],
            "object_type": event["object_type"],
            "object_id": event["object_id"],
            "data": event["data"],
        }
        if event.get("request_id"):
            fields["request_id"] = event["request_id"]
        body = canonical(fields)
        if hashlib.sha256((event["prev_hash"] + body).encode("utf-8")).hexdigest() != event["hash"]:
            problems.append(f"audit event #{event['sequence']}: hash does not match its content")

    for problem in problems:
        print("FAIL", problem)
    print(
        f"{len(decisions)} decisions, {len(events)} audit events, {len(manifest['files'])} files checked:",
        "OK" if not problems else f"{len(problems)} problem(s)",
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)))
