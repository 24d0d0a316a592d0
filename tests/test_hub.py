"""The local-first loading policy, with a recording loader; the hub is a socket on loopback or a closed port."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from docqa import hub
from docqa.errors import ComponentError, ModelLoadError
from docqa.hub import (
    QA_HEAD,
    check_dtype,
    cpu_features,
    hub_reachable,
    load_local_first,
    load_transformers_model,
    resolve_device,
    resolve_dtype,
)


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


def test_a_missing_path_is_no_model_directory_without_asking_anything(tmp_path: Path) -> None:
    loader = RecordingLoader(cached=True)
    for path in (str(tmp_path / "absent"), "./absent-model", "models/qa/absent", "~/absent-model"):
        with pytest.raises(ModelLoadError, match=f"^no model directory at {re.escape(path)}; "):
            load_local_first(path, loader, failure)
    assert loader.calls == []


def test_resolve_device_validates_in_one_message() -> None:
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device() == ("cuda" if torch.cuda.is_available() else "cpu" if not _has_mps() else "mps")
    for bad in ("nonsense", "", "cuda:x", "CPU", 3, None):
        with pytest.raises(ComponentError, match="device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got"):
            resolve_device(bad)  # type: ignore[arg-type]
    absent = f"cuda:{torch.cuda.device_count()}"  # one past the last CUDA device, whatever the machine
    with pytest.raises(ComponentError, match=f"device '{absent}' is not available on this machine"):
        resolve_device(absent)


def _has_mps() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def test_transformers_loader_refuses_a_checkpoint_without_the_head(
    minilm_model: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    with pytest.raises(ModelLoadError) as caught:
        load_transformers_model(minilm_model, AutoModelForQuestionAnswering, "question-answering model", head=QA_HEAD)
    assert str(caught.value) == (
        f"{minilm_model} has no question-answering head (qa_outputs missing); train one with docqa train"
    )
    captured = capfd.readouterr()
    assert "LOAD REPORT" not in captured.err + captured.out + caplog.text
    assert "Loading weights" not in captured.err
    assert hf_logging.get_verbosity() == verbosity  # the quiet settings are undone


def test_transformers_loader_loads_with_and_without_a_required_head(minilm_model: str, tiny_bert_qa_dir: Path) -> None:
    from transformers import AutoModel, AutoModelForQuestionAnswering

    qa_model, tokenizer = load_transformers_model(
        str(tiny_bert_qa_dir), AutoModelForQuestionAnswering, "question-answering model", head=QA_HEAD
    )
    assert type(qa_model).__name__ == "BertForQuestionAnswering" and tokenizer.is_fast
    encoder, _ = load_transformers_model(minilm_model, AutoModel, "encoder")  # no head asked for: no refusal
    assert type(encoder).__name__ == "BertModel"


def test_transformers_loader_wraps_unusable_directories(tmp_path: Path) -> None:
    from transformers import AutoModel

    with pytest.raises(ModelLoadError, match=r"^could not load fill-mask model '.*' \(.*\); pass a local directory"):
        load_transformers_model(str(tmp_path), AutoModel, "fill-mask model")


# --- precision -------------------------------------------------------------------------------------------------


def test_dtype_names_are_checked_in_one_line() -> None:
    assert check_dtype("FillMask", "bfloat16") == "bfloat16"
    for bad in ("half", "fp16", "torch.float16", None, 16):
        with pytest.raises(ComponentError) as caught:
            check_dtype("FillMask", bad)
        assert str(caught.value) == (
            f"FillMask: dtype must be one of 'auto', 'float32', 'bfloat16', 'float16', got {bad!r}"
        )


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="the kernel's CPU flags are read on Linux")
def test_cpu_features_are_the_kernels_flags() -> None:
    # two independent readings of the processor: PyTorch's cpuinfo (CPUID) and the kernel's flags
    flags = set(
        next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    )
    assert cpu_features() == {"amx_bf16", "avx512_bf16", "amx_fp16", "avx512_fp16"} & flags


@pytest.mark.parametrize(
    "features,native",
    [
        (set(), ["float32"]),
        ({"avx512_bf16"}, ["float32", "bfloat16"]),
        ({"amx_bf16", "amx_fp16"}, ["float32", "bfloat16", "float16"]),
        ({"avx512_fp16"}, ["float32", "float16"]),
    ],
)
def test_cpu_half_precision_needs_native_units(
    monkeypatch: pytest.MonkeyPatch, features: set[str], native: list[str]
) -> None:
    import torch

    monkeypatch.delenv("DOCQA_DTYPE", raising=False)
    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset(features))
    assert resolve_dtype("X", "auto", "cpu") is torch.float32  # auto: float32 unless the component allows half
    has_bf16 = "bfloat16" in native
    assert resolve_dtype("X", "auto", "cpu", half_on_cpu=True) is (torch.bfloat16 if has_bf16 else torch.float32)
    for name in ("float32", "bfloat16", "float16"):
        if name in native:
            assert resolve_dtype("X", name, "cpu") is getattr(torch, name)
            continue
        with pytest.raises(ComponentError) as caught:
            resolve_dtype("X", name, "cpu")
        allowed = ", ".join(repr(n) for n in ["auto", *native])
        assert str(caught.value).startswith(f"X: dtype={name!r} does not run natively on this CPU (")
        assert str(caught.value).endswith(f"); use {allowed}")


@pytest.mark.parametrize("bf16", [True, False])
def test_cuda_auto_is_bfloat16_where_the_gpu_runs_it(monkeypatch: pytest.MonkeyPatch, bf16: bool) -> None:
    import torch

    asked = []

    def is_bf16_supported(including_emulation: bool = True) -> bool:
        asked.append(including_emulation)
        return bf16

    monkeypatch.delenv("DOCQA_DTYPE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert resolve_dtype("X", "auto", "cuda:1") is (torch.bfloat16 if bf16 else torch.float32)
    assert resolve_dtype("X", "float16", "cuda") is torch.float16
    assert asked and not any(asked)  # emulated bfloat16 (before Ampere) does not count
    if not bf16:
        with pytest.raises(ComponentError, match=r"^X: dtype='bfloat16' does not run natively on device 'cuda'; use"):
            resolve_dtype("X", "bfloat16", "cuda")


def test_docqa_dtype_replaces_auto_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(hub, "cpu_features", lambda: frozenset({"avx512_bf16"}))
    monkeypatch.setenv("DOCQA_DTYPE", "float32")
    assert resolve_dtype("X", "auto", "cpu", half_on_cpu=True) is torch.float32
    assert resolve_dtype("X", "bfloat16", "cpu") is torch.bfloat16  # an explicit precision stays
    monkeypatch.setenv("DOCQA_DTYPE", "bfloat16")
    assert resolve_dtype("X", "auto", "cpu") is torch.bfloat16
    monkeypatch.setenv("DOCQA_DTYPE", "float16")  # still checked against the device
    with pytest.raises(ComponentError, match="dtype='float16' does not run natively on this CPU"):
        resolve_dtype("X", "auto", "cpu")
    monkeypatch.setenv("DOCQA_DTYPE", "half")
    with pytest.raises(ComponentError) as caught:
        resolve_dtype("X", "auto", "cpu")
    assert str(caught.value) == (
        "X (environment variable DOCQA_DTYPE): dtype must be one of 'auto', 'float32', 'bfloat16', 'float16', "
        "got 'half'"
    )
