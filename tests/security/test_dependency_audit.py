"""scripts/dependency_audit.sh end to end: the real pip-audit over requirements/base.lock, against a local
OSV-compatible advisory endpoint (what AUDIT_OSV_URL points a mirror at): a finding fails the build, a clean
answer passes, an unreachable service is a loud SKIPPED that passes."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "dependency_audit.sh"

DJANGO_ADVISORY = {
    "id": "GHSA-test-0000-0000",
    "aliases": ["CVE-2099-0001"],
    "summary": "A made-up advisory for the pinned Django",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
        }
    ],
}


class FakeOsv(BaseHTTPRequestHandler):
    vulnerable: set[str] = set()

    def do_POST(self) -> None:
        query: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        body = json.dumps({"vulns": [DJANGO_ADVISORY]} if name in self.vulnerable else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def osv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()


def _audit(osv_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The script as `make lint` runs it; HOME is private so pip-audit's cache stays out of the checkout."""
    return subprocess.run(
        [str(SCRIPT)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(home), "AUDIT_OSV_URL": osv_url, "AUDIT_TIMEOUT": "5"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.parametrize(
    ("vulnerable", "exit_code", "expected_line"),
    [
        pytest.param(set(), 0, "OK: ", id="clean-passes"),
        pytest.param({"django"}, 1, "VULNERABLE: django ", id="finding-fails"),
    ],
)
def test_audit_verdict(
    osv_url: str, tmp_path: Path, vulnerable: set[str], exit_code: int, expected_line: str
) -> None:
    FakeOsv.vulnerable = vulnerable
    result = _audit(osv_url, tmp_path)
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert any(line.startswith(expected_line) for line in result.stdout.splitlines()), result.stdout


def test_unreachable_service_is_a_loud_skip_that_passes(tmp_path: Path) -> None:
    result = _audit("http://127.0.0.1:9/v1/query", tmp_path)  # discard port: nothing listens
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SKIPPED: advisory service unreachable (offline)" in result.stdout
    assert "NOT audited" in result.stdout
