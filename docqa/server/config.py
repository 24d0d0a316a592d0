"""The settings of ``docqa serve``: what to load, where to listen, the limits, batching and auth."""

from __future__ import annotations

from dataclasses import dataclass, field

from docqa.server.limits import Limits

__all__ = ["Batching", "Limits", "ServerConfig"]


@dataclass(frozen=True)
class Batching:
    """Micro-batching of model calls: up to ``max_batch`` items gathered for at most ``max_wait_ms``."""

    max_batch: int = 16
    max_wait_ms: float = 5.0
    max_queue: int = 64  #: outstanding requests per model; beyond it, 503 with Retry-After


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
