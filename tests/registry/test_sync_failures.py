"""MLflow going away in the middle of a pass: the error is recorded, partial progress is kept, the watermark
does not move, and the next pass completes with nothing lost and nothing duplicated."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from mlflow import MlflowClient

from governance.services.audit import audit_chain_verify
from registry_sync import services
from registry_sync.mlflow_adapter import MlflowRegistry, RegistryUnavailable
from registry_sync.mlflow_server import MlflowServer, free_port
from registry_sync.models import ModelVersion, SyncRun, SyncStatus
from tests.mlflow_factory import experiment_id, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow]


class TcpRelay:
    """A loopback TCP relay in front of the real MLflow server that can be cut and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop open ones, as a crashed server would."""
        with self._lock:
            if self._listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would leave it listening.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                downstream, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets.update({downstream, upstream})
            threading.Thread(target=self._pump, args=(downstream, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(mlflow_server: MlflowServer) -> Iterator[TcpRelay]:
    proxy = TcpRelay(int(mlflow_server.url.rsplit(":", 1)[1]))
    proxy.start()
    yield proxy
    proxy.cut()


def test_mlflow_down_mid_sync_keeps_progress_and_next_pass_completes(
    mlflow: MlflowClient, relay: TcpRelay
) -> None:
    exp = experiment_id(mlflow)
    for index in range(12):
        make_version(mlflow, model=f"flaky-{index % 3}", experiment=exp, metrics={"auc": 0.5 + index / 100})

    pages_written = []

    def cut_after_first_versions_page(step: services.SyncProgress) -> None:
        if step.phase == "versions":
            pages_written.append(step.items)
            relay.cut()

    with pytest.raises(RegistryUnavailable):
        services.sync_incremental(
            registry=MlflowRegistry(relay.url), page_size=5, progress=cut_after_first_versions_page
        )

    failed = SyncRun.objects.get()
    assert failed.status == SyncStatus.FAILED
    assert "MLflow unavailable" in failed.error and failed.finished_at is not None
    kept = ModelVersion.objects.count()
    assert pages_written == [5] and kept == 5  # the first page stays; nothing half-written beyond it
    assert services.sync_watermark() == 0  # the watermark did not move past unprocessed versions

    relay.start()
    resumed = services.sync_incremental(registry=MlflowRegistry(relay.url), page_size=5)
    assert resumed.status == SyncStatus.SUCCEEDED
    assert resumed.versions_created == 12 - kept
    pairs = list(ModelVersion.objects.values_list("registered_model__name", "version"))
    assert len(pairs) == len(set(pairs)) == 12
    assert all(mv.run is not None for mv in ModelVersion.objects.select_related("run"))
    assert services.sync_watermark() == max(
        v.last_updated_timestamp or 0 for v in mlflow.search_model_versions()
    )
    assert audit_chain_verify().ok


def test_sync_command_reports_an_unreachable_mlflow(mlflow: MlflowClient) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match="failed: MLflow unavailable"):
        call_command("sync_registry", "--tracking-uri", closed, "--no-progress")
    assert SyncRun.objects.get().status == SyncStatus.FAILED
