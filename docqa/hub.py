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
    parameter: str = "model",
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of ``model`` (hub id or local directory) loaded with ``auto_class`` (e.g.
    ``transformers.AutoModelForMaskedLM``): the local directory or cache first, the hub only when reachable;
    no progress bars and no transformers load report on stderr.

    Raises :class:`ModelLoadError` in one line naming ``model`` (``what`` says what it was for, e.g.
    ``"fill-mask model"``): no directory at a path, nothing loadable, ``head`` given and its weights missing
    from the checkpoint, or ``fast_tokenizer`` and the tokenizer is not a fast one (no character offsets).
    ``parameter`` is the name the caller's users pass ``model`` as (``base`` for training), for the message.
    """

    def load(name_or_path: str, local_files_only: bool) -> tuple[Any, Any, set[str]]:
        return _load_quietly(auto_class, name_or_path, local_files_only)

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


def _load_quietly(auto_class: Any, name_or_path: str, local_files_only: bool) -> tuple[Any, Any, set[str]]:
    from transformers import AutoTokenizer

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_files_only)
        loaded, info = auto_class.from_pretrained(
            name_or_path, local_files_only=local_files_only, output_loading_info=True
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
