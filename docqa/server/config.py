"""The settings of ``docqa serve``: what to load, where to listen, the limits, batching and auth."""

from __future__ import annotations

from dataclasses import dataclass, field

from docqa.server.limits import Limits

__all__ = ["Batching", "Limits", "ServerConfig"]


#: Items per micro-batch when ``max_batch`` is not given: on the CPU a batch's windows already fill the cores; an
#: accelerator runs a few hundred windows in about the time of one, so it gathers more.
DEFAULT_MAX_BATCH = {"cpu": 16, "accelerator": 128}


@dataclass(frozen=True)
class Batching:
    """Micro-batching of model calls: up to ``max_batch`` items gathered for at most ``max_wait_ms``
    (``max_batch=None``: the device's default, :data:`DEFAULT_MAX_BATCH`).

    >>> Batching().batch_limit("cuda"), Batching().batch_limit("cpu"), Batching(max_batch=4).batch_limit("cuda")
    (128, 16, 4)
    """

    max_batch: int | None = None
    max_wait_ms: float = 5.0
    max_queue: int = 64  #: outstanding requests per model; beyond it, 503 with Retry-After

    def batch_limit(self, device_type: str) -> int:
        """The most items per batch for a model on ``device_type`` (``"cpu"``, ``"cuda"``, ``"mps"``)."""
        if self.max_batch is not None:
            return self.max_batch
        return DEFAULT_MAX_BATCH["cpu" if device_type == "cpu" else "accelerator"]


@dataclass(frozen=True)
class ServerConfig:
    """Everything :func:`docqa.server.create_app` needs; ``docqa serve`` builds it from its options.

    >>> ServerConfig(store="store/").writes_possible
    True
    """

    store: str | None = None
    pipeline: str | None = None
    model: str | None = None
    fill_mask_model: str | None = None
    dtype: str | None = None  #: the models' precision (docqa.hub.resolve_dtype); None: "auto", or the pipeline's
    retriever_top_k: int = 10
    allowed_modules: tuple[str, ...] = ()
    api_key: str | None = None
    api_key_for_reads: bool = False
    read_only: bool = False
    cors_origins: tuple[str, ...] = ()
    checkpoint_bytes: int = 64 * 1024 * 1024  #: fold the write-ahead log into the snapshot past this size
    checkpoint_seconds: float = 300.0  #: ... or this long after the first unsaved change
    retry_after_seconds: int = 1
    limits: Limits = field(default_factory=Limits)
    batching: Batching = field(default_factory=Batching)

    @property
    def writes_possible(self) -> bool:
        return not self.read_only and (self.store is not None or self.pipeline is not None)
