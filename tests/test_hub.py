"""The local-first loading policy, with a recording loader; the hub is a socket on loopback or a closed port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from docqa.errors import ModelLoadError
from docqa.hub import hub_reachable, load_local_first


class RecordingLoader:
    def __init__(self, cached: bool) -> None:
        self.cached = cached
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, name: str, local_files_only: bool) -> str:
        self.calls.append((name, local_files_only))
        if local_files_only and not self.cached:
            raise OSError("not in the cache")
        return f"model from {'cache' if local_files_only else 'hub'}"


def failure(reason: str) -> ModelLoadError:
    return ModelLoadError(f"could not load: {reason}")


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def online_with_hub_at(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """Offline mode off, no proxy, and the hub's address on loopback ``port``."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)


def test_a_local_directory_is_loaded_as_is(tmp_path: Path) -> None:
    loader = RecordingLoader(cached=True)
    assert load_local_first(str(tmp_path), loader, failure) == "model from cache"
    assert loader.calls == [(str(tmp_path), True)]


def test_a_cached_hub_model_never_touches_the_network(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    loader = RecordingLoader(cached=True)
    assert load_local_first("org/model", loader, failure) == "model from cache"
    assert loader.calls == [("org/model", True)]


def test_offline_mode_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loader = RecordingLoader(cached=False)
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        load_local_first("org/model", loader, failure)
    assert loader.calls == [("org/model", True)]


def test_an_unreachable_hub_fails_without_trying_it(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    online_with_hub_at(monkeypatch, closed_port)
    loader = RecordingLoader(cached=False)
    with pytest.raises(ModelLoadError, match="unreachable"):
        load_local_first("org/model", loader, failure)
    assert loader.calls == [("org/model", True)]


def test_a_reachable_hub_is_asked_after_the_cache(monkeypatch: pytest.MonkeyPatch, listening_port: int) -> None:
    online_with_hub_at(monkeypatch, listening_port)
    assert hub_reachable()
    loader = RecordingLoader(cached=False)
    assert load_local_first("org/model", loader, failure) == "model from hub"
    assert loader.calls == [("org/model", True), ("org/model", False)]
