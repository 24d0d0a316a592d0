"""Models by hub id or local directory, and the device they run on: the one place docqa loads models.

The local copy first, the network only when it can answer.

Without these checks, a model id on a machine without network costs about a minute of retries inside
huggingface_hub before the inevitable failure; with them it fails in seconds, in one line.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from docqa.errors import ComponentError, ModelLoadError

T = TypeVar("T")

_TRUTHY = {"1", "true", "yes", "on"}


def offline_requested() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUTHY


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub's host accepts a TCP connection (``HF_ENDPOINT`` respected)."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # a direct connection says nothing about the proxy: let the hub client try
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_local_first(
    model: str, load: Callable[[str, bool], T], failure: Callable[[str], ModelLoadError], parameter: str = "model"
) -> T:
    """``load(name_or_path, local_files_only)`` for ``model``: a local directory as is; a hub id from the cache,
    else from the hub when it is reachable and ``HF_HUB_OFFLINE`` is not set. ``failure(reason)`` builds the
    error raised when neither can serve (other errors of ``load`` propagate); a ``model`` that can only be a
    path (see :func:`looks_like_path`) but is no directory is a :class:`ModelLoadError` at once (naming
    ``parameter``, the one that took the path)."""
    directory = Path(model).expanduser()
    if directory.is_dir():
        return load(str(directory), True)
    if looks_like_path(model):
        remedy = "pass a directory holding config.json and the weights ({how})"
        raise ModelLoadError(f"no model directory at {model}", model=model, parameter=parameter, remedy=remedy)
    try:
        return load(model, True)
    except Exception as cached_error:
        if offline_requested():
            raise failure("HF_HUB_OFFLINE is set and no complete cached copy was found") from cached_error
        if not hub_reachable():
            raise failure("the Hugging Face Hub is unreachable and no cached copy was found") from cached_error
    return load(model, False)


# --- devices -------------------------------------------------------------------------------------------

_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def resolve_device(device: str = "auto") -> str:
    """The torch device name for ``device``: ``"auto"`` picks CUDA, else Apple's MPS, else the CPU; ``"cpu"``,
    ``"cuda"``, ``"cuda:N"`` and ``"mps"`` are checked to exist on this machine.

    Raises :class:`ComponentError` (one message for every component) for anything else or a device this machine
    lacks. Example: ``torch.device(resolve_device("auto"))``.
    """
    if not isinstance(device, str) or _DEVICE_PATTERN.fullmatch(device) is None:
        raise ComponentError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    if device == "cpu":
        return device
    import torch

    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if device == "auto":
        return "cuda" if cuda_count else "mps" if has_mps else "cpu"
    index = int(device.partition(":")[2] or 0)
    if (device == "mps" and not has_mps) or (device.startswith("cuda") and index >= cuda_count):
        found = f"{cuda_count} CUDA device(s)" + (", MPS" if has_mps else "")
        raise ComponentError(f"device {device!r} is not available on this machine ({found}); use 'auto' or 'cpu'")
    return device


# --- precision -----------------------------------------------------------------------------------------

#: What ``dtype=`` accepts on every model component: ``"auto"`` or the name of a floating-point torch dtype.
DTYPES = ("auto", "float32", "bfloat16", "float16")
#: Processor features that run each half precision natively (matrix units or dot-product instructions); without
#: them PyTorch emulates the type, more slowly than float32.
_CPU_HALF_FEATURES = {"bfloat16": ("amx_bf16", "avx512_bf16"), "float16": ("amx_fp16", "avx512_fp16")}


def check_dtype(owner: str, dtype: object) -> str:
    """``dtype`` if it is one of :data:`DTYPES`, else a one-line :class:`ComponentError` naming them."""
    if not isinstance(dtype, str) or dtype not in DTYPES:
        allowed = ", ".join(repr(name) for name in DTYPES)
        raise ComponentError(f"{owner}: dtype must be one of {allowed}, got {dtype!r}")
    return dtype


def cpu_features() -> frozenset[str]:
    """The half-precision features of this processor (``amx_bf16``, ``avx512_bf16``, ``amx_fp16``,
    ``avx512_fp16``), detected at run time: PyTorch's cpuinfo where it reports them, else ``/proc/cpuinfo``."""
    wanted = {flag for flags in _CPU_HALF_FEATURES.values() for flag in flags}
    import torch

    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        capabilities = get_capabilities()
        return frozenset(flag for flag in wanted if capabilities.get(flag))
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return frozenset(wanted.intersection(flags))


def device_dtypes(device: str) -> tuple[str, ...]:
    """The dtypes that run natively on ``device`` (a resolved torch device name), float32 first."""
    import torch

    kind = device.partition(":")[0]
    if kind == "cuda":
        bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        return ("float32", *(["bfloat16"] if bf16 else []), "float16")
    if kind == "mps":
        return ("float32", "bfloat16", "float16")
    features = cpu_features()
    return ("float32", *(name for name, flags in _CPU_HALF_FEATURES.items() if features.intersection(flags)))


def resolve_dtype(owner: str, dtype: str, device: str, *, half_on_cpu: bool = False) -> Any:
    """The ``torch.dtype`` to load a model with for ``dtype`` (checked by :func:`check_dtype`) on ``device``.

    ``"auto"``: bfloat16 on a CUDA device that runs it natively (compute capability 8.0 and later), and on a CPU
    with native bfloat16 (AMX or AVX512-BF16) when ``half_on_cpu`` (the component's benchmark showed that its
    answers hold there); float32 everywhere else. The environment variable ``DOCQA_DTYPE`` (one of
    :data:`DTYPES`) replaces ``"auto"`` everywhere, e.g. ``DOCQA_DTYPE=float32`` for the same numbers on every
    machine. A half precision the device cannot run natively (float16 on a CPU without AVX512-FP16 or AMX-FP16,
    bfloat16 on a GPU before Ampere) is a one-line :class:`ComponentError` naming the dtypes that it can run.
    """
    import torch

    check_dtype(owner, dtype)
    if dtype == "auto":
        dtype = check_dtype(f"{owner} (environment variable DOCQA_DTYPE)", os.environ.get("DOCQA_DTYPE", "auto"))
    native = device_dtypes(device)
    if dtype == "auto":
        kind = device.partition(":")[0]
        half = "bfloat16" in native and (kind == "cuda" or (kind == "cpu" and half_on_cpu))
        return torch.bfloat16 if half else torch.float32
    if dtype not in native:
        allowed = ", ".join(repr(name) for name in ("auto", *native))
        where = f"this CPU ({_cpu_name()})" if device == "cpu" else f"device {device!r}"
        raise ComponentError(f"{owner}: dtype={dtype!r} does not run natively on {where}; use {allowed}")
    return getattr(torch, dtype)


def _cpu_name() -> str:
    import torch

    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    name = get_capabilities().get("cpu_name") if get_capabilities is not None else None
    return str(name or "no native half-precision units")


# --- transformers models -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredHead:
    """Weights a checkpoint must carry for a task; without them transformers would add a randomly initialized
    head and answer nonsense. ``weights``: prefixes of the parameter names (``"qa_outputs"``); empty: every
    weight outside the base model (``model.base_model_prefix``), for heads named differently by each family."""

    name: str
    weights: tuple[str, ...]
    hint: str


QA_HEAD = RequiredHead("question-answering head", ("qa_outputs",), "train one with docqa train")
#: BERT's ``cls.predictions``, RoBERTa's ``lm_head``, DistilBERT's ``vocab_*``: whatever is not the encoder.
MASKED_LM_HEAD = RequiredHead(
    "masked-LM head", (), "give a masked language model, such as distilbert-base-uncased or bert-base-uncased"
)


def looks_like_path(model: str) -> bool:
    """Whether ``model`` can only be a local path, not a hub id (``name`` or ``org/name``)."""
    return (
        Path(model).expanduser().is_absolute()
        or model.startswith((".", "~"))
        or "\\" in model
        or model.count("/") > 1
        or Path(model).exists()
    )


def load_transformers_model(
    model: str,
    auto_class: Any,
    what: str,
    *,
    head: RequiredHead | None = None,
    fast_tokenizer: bool = False,
    dtype: Any = None,
    parameter: str = "model",
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of ``model`` (hub id or local directory) loaded with ``auto_class`` (e.g.
    ``transformers.AutoModelForMaskedLM``): the local directory or cache first, the hub only when reachable;
    no progress bars and no transformers load report on stderr.

    Raises :class:`ModelLoadError` in one line naming ``model`` (``what`` says what it was for, e.g.
    ``"fill-mask model"``): no directory at a path, nothing loadable, ``head`` given and its weights missing
    from the checkpoint, or ``fast_tokenizer`` and the tokenizer is not a fast one (no character offsets).
    ``dtype`` (a ``torch.dtype``, see :func:`resolve_dtype`) loads the weights in that precision through
    transformers' own ``dtype=``, so attention masks and fused attention follow it (casting after loading does
    not: measured 3x slower on a GPU); ``None`` keeps transformers' default, float32.
    ``parameter`` is the name the caller's users pass ``model`` as (``base`` for training), for the message.
    """

    def load(name_or_path: str, local_files_only: bool) -> tuple[Any, Any, set[str]]:
        return _load_quietly(auto_class, name_or_path, local_files_only, dtype)

    def failure(reason: str) -> ModelLoadError:
        reason = " ".join(reason.split())[:300]
        return ModelLoadError(f"could not load {what} {model!r} ({reason})", model=model, parameter=parameter)

    try:
        loaded, tokenizer, missing = load_local_first(model, load, failure, parameter)
    except (ModelLoadError, ComponentError):
        raise
    except Exception as error:  # transformers raises OSError, ValueError, KeyError... for unusable models
        raise failure(f"{type(error).__name__}: {error}") from error
    _check_head(model, head, missing, getattr(loaded, "base_model_prefix", ""))
    if fast_tokenizer and not getattr(tokenizer, "is_fast", False):
        raise failure("its tokenizer is not a fast tokenizer, which character offsets need")
    return loaded, tokenizer


def _check_head(model: str, head: RequiredHead | None, missing: set[str], base_prefix: str) -> None:
    if head is None:
        return
    if head.weights:
        absent = [p for p in head.weights if any(k == p or k.startswith(f"{p}.") for k in missing)]
    else:
        absent = sorted({k.split(".")[0] for k in missing if not (base_prefix and k.startswith(f"{base_prefix}."))})
    if absent:
        raise ModelLoadError(f"{model} has no {head.name} ({', '.join(absent)} missing); {head.hint}")


def _load_quietly(
    auto_class: Any, name_or_path: str, local_files_only: bool, dtype: Any = None
) -> tuple[Any, Any, set[str]]:
    from transformers import AutoTokenizer

    precision = {} if dtype is None else {"dtype": dtype}
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_files_only)
        loaded, info = auto_class.from_pretrained(
            name_or_path, local_files_only=local_files_only, output_loading_info=True, **precision
        )
    return loaded, tokenizer, set(info.get("missing_keys", ()))


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers draws a "Loading weights" bar and logs a LOAD REPORT table on stderr: noise in a CLI's output
    (docqa checks the missing weights itself). Both settings are restored on exit."""
    from transformers.utils import logging as hf_logging

    bars_were_enabled = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars_were_enabled:
            hf_logging.enable_progress_bar()
