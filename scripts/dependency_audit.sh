#!/usr/bin/env bash
# Audit the pinned runtime dependencies (requirements/base.lock, hash-checked) for known vulnerabilities.
# Fails on any finding. When the advisory service cannot be reached (an offline machine) it prints a loud
# SKIPPED line and passes: the build cannot prove anything either way there. See docs/operations.md.
#
# AUDIT_SERVICE=osv (default: OSV, which carries the PyPA and GitHub advisories) or pypi (PyPI's JSON API);
# AUDIT_OSV_URL points the osv service at a mirror (an OSV-compatible /v1/query endpoint) for air-gapped sites.
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
LOCK=${1:-requirements/base.lock}
SERVICE=${AUDIT_SERVICE:-osv}
OSV_URL=${AUDIT_OSV_URL:-https://api.osv.dev/v1/query}
TIMEOUT=${AUDIT_TIMEOUT:-15}

skipped() {
    echo "=================================================================================="
    echo "SKIPPED: advisory service unreachable (offline) -- $1"
    echo "         $LOCK was NOT audited. Run 'make lint' on a networked machine (CI) to audit."
    echo "=================================================================================="
    exit 0
}

# Probe the exact kind of request pip-audit makes, so "unreachable" is told apart from a broken audit.
if ! "$BIN/python" - "$SERVICE" "$OSV_URL" "$TIMEOUT" <<'PY'
import json
import sys
import urllib.request

service, osv_url, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
if service == "osv":
    body = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "24.0"}).encode()
    request = urllib.request.Request(osv_url, data=body, headers={"Content-Type": "application/json"})
else:
    request = urllib.request.Request("https://pypi.org/pypi/pip/24.0/json")
try:
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the configured service
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure to get an answer means: not reachable from here
    print(f"{request.full_url}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
    skipped "the $SERVICE vulnerability service did not answer"
fi

report=$(mktemp)
trap 'rm -f "$report"' EXIT
"$BIN/pip-audit" --requirement "$LOCK" --require-hashes --disable-pip --vulnerability-service "$SERVICE" \
    --osv-url "$OSV_URL" --timeout "$TIMEOUT" --progress-spinner off --format json --output "$report"
status=$?
if [[ ! -s $report ]]; then
    echo "FAILED: pip-audit ended with status $status and wrote no report." >&2
    exit 1
fi

# Exit 0: clean; 1: findings; 3: every dependency was skipped (the service answered the probe only).
"$BIN/python" - "$report" "$LOCK" <<'PY'
import json
import sys

report, lock = sys.argv[1], sys.argv[2]
dependencies = json.load(open(report))["dependencies"]
skipped = [d for d in dependencies if "skip_reason" in d]
findings = [(d, v) for d in dependencies for v in d.get("vulns", [])]
for dependency, vuln in findings:
    fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
    aliases = ", ".join(vuln.get("aliases", []))
    print(f"VULNERABLE: {dependency['name']} {dependency['version']}: {vuln['id']} ({aliases}); fixed in {fixes}")
if findings:
    print(f"FAILED: {len(findings)} known vulnerabilities in {lock}.")
    sys.exit(1)
if skipped and len(skipped) == len(dependencies):
    sys.exit(3)
for dependency in skipped:
    print(f"WARNING: not audited: {dependency['name']}: {dependency['skip_reason']}")
audited = len(dependencies) - len(skipped)
print(f"OK: {audited} pinned dependencies of {lock} audited, no known vulnerabilities.")
PY
case $? in
    0) exit 0 ;;
    3) skipped "every dependency was skipped (the service answered no version queries)" ;;
    *) exit 1 ;;
esac
