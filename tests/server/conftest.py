"""Fixtures that start a real ``docqa serve`` (a subprocess on a free loopback port) and talk to it over HTTP.

- ``serve(*cli_args, env=None, wait_ready=True) -> Server``: a factory; every server it starts is stopped at teardown.
- ``qa_store``: a saved store with a few short documents (among them the model card's "John ... Hyderabad" one).
- ``live_server``: one server for the session over a copy of ``qa_store`` with the real small reader and a tiny
  fill-mask model, ready (tests that write to it count relative to what they find).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from shared_assets import build_masked_lm

from docqa.document_stores.in_memory import InMemoryDocumentStore
from docqa.schema import Document

READER = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "minilm-l6-squad2-half12"
JOHN = "My name is John and I live in Hyderabad."
DOCUMENTS = [
    Document(JOHN, {"file_name": "john.txt"}),
    Document("Paris is the capital and largest city of France.", {"file_name": "paris.txt"}),
    Document("The Amazon river flows through Brazil, Peru and Colombia.", {"file_name": "amazon.txt"}),
]
_START_TIMEOUT_S = 300.0  # generous: a loaded CI machine loads models slowly


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **options: object) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=60.0, **options)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def wait(self, path: str, timeout: float = _START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"docqa serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                response = httpx.get(self.url + path, timeout=2.0)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return
            if "failed to load" in response.text:  # final: the server says retrying will not help
                raise AssertionError(f"docqa serve: {path} {response.text}\n{self.log.read_text()}")
            time.sleep(0.1)
        raise AssertionError(f"docqa serve: {path} not 200 within {timeout} s:\n{self.log.read_text()}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(log_dir: Path, *args: str, env: dict[str, str] | None = None, wait_ready: bool = True) -> Server:
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    command = [sys.executable, "-c", "from docqa.cli import main; main()", "serve", "--port", str(port), *args]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    if "DOCQA_API_KEY" not in (env or {}):
        environment.pop("DOCQA_API_KEY", None)
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=environment)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    server.wait("/health")
    if wait_ready:
        server.wait("/ready")
    return server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def factory(*args: str, env: dict[str, str] | None = None, wait_ready: bool = True) -> Server:
        server = start_server(tmp_path, *args, env=env, wait_ready=wait_ready)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def qa_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("qa-store") / "store"
    store = InMemoryDocumentStore(path=str(folder))
    store.write_documents(DOCUMENTS)
    store.save()
    return folder


def store_copy(qa_store: Path, target: Path) -> Path:
    shutil.copytree(qa_store, target)
    return target


@pytest.fixture(scope="session")
def masked_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT masked LM with random weights (for /score fill-mask requests)."""
    return build_masked_lm("bert", tmp_path_factory.mktemp("masked-lm"))


@pytest.fixture(scope="session")
def live_server(qa_store: Path, masked_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("live")
    store = str(store_copy(qa_store, folder / "store"))
    server = start_server(folder, "--store", store, "--model", str(READER), "--fill-mask-model", str(masked_lm_dir))
    yield server
    server.stop()
