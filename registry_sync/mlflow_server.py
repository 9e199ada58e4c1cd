"""Starts a local MLflow tracking server (sqlite backend) for the demo, the tests and the benchmarks.

Production points MLFLOW_TRACKING_URI at its own MLflow; this module is only for local, embedded use.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.fernet import Fernet


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mlflow_is_healthy(url: str, *, timeout: float = 2.0) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class MlflowServer:
    url: str
    workdir: Path
    process: subprocess.Popen[bytes] | None
    log_path: Path

    def kill(self) -> None:
        """Crash the server (SIGKILL to its whole process group), as an outage would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # The server runs in its own process group (gunicorn/uvicorn spawn workers): stop them all.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_mlflow_server(
    *,
    workdir: Path,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    startup_timeout: float = 120.0,
) -> MlflowServer:
    """Start `mlflow server` with a sqlite backend under workdir and wait until /health answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    mlflow_bin = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")
    if mlflow_bin is None:
        raise RuntimeError("the mlflow executable is not installed in this environment")
    env = {**os.environ, **(extra_env or {})}
    # MLflow encrypts stored webhook secrets with this key; a random per-process key would make the
    # webhooks unreadable after a restart, so keep one beside the data.
    key_file = workdir / "webhook-encryption.key"
    if not key_file.exists():
        key_file.write_bytes(Fernet.generate_key())
        key_file.chmod(0o600)
    env.setdefault("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY", key_file.read_text().strip())
    # MLflow 3's background job runner makes every request several times slower on a small machine.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    log_path = workdir / "mlflow-server.log"
    command = [
        mlflow_bin,
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True
        )
    server = MlflowServer(url=f"http://127.0.0.1:{port}", workdir=workdir, process=process, log_path=log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited early; see {log_path}:\n{log_path.read_text()[-3000:]}")
        if mlflow_is_healthy(server.url, timeout=1.0):
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server did not become healthy in {startup_timeout:.0f}s; see {log_path}")
