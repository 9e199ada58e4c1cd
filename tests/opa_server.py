"""A small server speaking OPA's Data API on 127.0.0.1, for testing the `opa` backend over real HTTP.
Its normal answers come from the embedded engine on the same bundle; modes inject the failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from policies.loader import build_engine, read_bundle

TIMEOUT_SECONDS = 0.3


@dataclass
class FakeOpa:
    url: str
    mode: str = "normal"  # normal | undefined | error | slow | not_json | not_a_decision
    requests: list[tuple[str, Any]] = field(default_factory=list)


class DataApiHandler(BaseHTTPRequestHandler):
    server: OpaServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake = self.server.fake
        fake.requests.append((self.path, body))
        if fake.mode == "error":
            self.reply(500, {"code": "internal_error", "message": "boom"})
        elif fake.mode == "undefined":
            self.reply(200, {})
        elif fake.mode == "not_json":
            self.reply(200, None, raw=b"<html>proxy error</html>")
        elif fake.mode == "not_a_decision":
            self.reply(200, {"result": "allow"})
        else:
            if fake.mode == "slow":
                time.sleep(TIMEOUT_SECONDS * 3)
            self.reply(200, evaluate_like_opa(self.path, body["input"]))

    def reply(self, status: int, document: Any, *, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output clean."""


class OpaServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpa


_handler_engines = threading.local()


def evaluate_like_opa(path: str, input: Any) -> dict[str, Any]:
    """POST /v1/data/<path> answered by regorus on the same bundle: {"result": value}, or {} when undefined."""
    engine = getattr(_handler_engines, "engine", None)
    if engine is None:
        engine = _handler_engines.engine = build_engine(files=read_bundle(), include_tests=False)
    engine.set_input_json(json.dumps(input))
    query = "data." + path.removeprefix("/v1/data/").replace("/", ".")
    rows = json.loads(engine.eval_query_as_json(query)).get("result") or []
    return {"result": rows[0]["expressions"][0]["value"]} if rows else {}


@pytest.fixture
def opa(settings: Any) -> Iterator[FakeOpa]:
    server = OpaServer(("127.0.0.1", 0), DataApiHandler)
    server.fake = FakeOpa(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    settings.POLICY_ENGINE = "opa"
    settings.OPA_URL = server.fake.url
    settings.POLICY_TIMEOUT_SECONDS = TIMEOUT_SECONDS
    yield server.fake
    server.shutdown()
    server.server_close()
