"""What a running server holds: the store and its write-ahead log, the served pipeline, the models loading in the
background, one micro-batcher per model, and the periodic checkpoint.

Consistency is the store's: each of its reads and writes is atomic to the others (see
:class:`~docqa.document_stores.InMemoryDocumentStore`), so the server holds no lock around a read, and none around
any model call. ``write_lock`` only keeps writes, deletes and checkpoints one at a time (a delete by filter is a
search then a delete; a checkpoint saves the store and starts a new log): a write waits for at most another
write, a delete or a checkpoint, never for a model or a query.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docqa.errors import DocqaError
from docqa.readers.settings import ReaderSettings
from docqa.schema import Document
from docqa.server.batching import BatchedComponent, BatchJob, MicroBatcher, run_jobs
from docqa.server.config import ServerConfig
from docqa.server.cores import CoreShare
from docqa.server.metrics import ServerMetrics

logger = logging.getLogger("docqa.server")

#: The models the server loads besides the served pipeline's components (named after them).
READER, FILL_MASK, DOCUMENT_EMBEDDER = "reader", "fill-mask", "document-embedder"
_READER_VIEWS = 64  #: reader views (distinct request settings) kept at once


class NotReady(DocqaError):
    """A model or the store is still loading (HTTP 503 with Retry-After)."""


class LoadFailed(DocqaError):
    """A model or the store failed to load (HTTP 503, naming the error; retrying will not help)."""


class Unavailable(DocqaError):
    """The server was started without what this request needs (HTTP 400), e.g. no store for /query."""


class ServerState:
    """The server's resources; :meth:`start` loads them on a background thread so the server listens at once."""

    def __init__(self, config: ServerConfig, metrics: ServerMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.store: Any = None
        self.qa: Any = None  #: the served ExtractiveQAPipeline, run whole by /query
        self.reader_name = READER
        self.models: dict[str, Any] = {}  #: loaded models by name: pipeline components, fill-mask, embedder
        self.batchers: dict[str, MicroBatcher] = {}
        self.overrides: dict[str, BatchedComponent] = {}  #: the pipeline's batched components
        self.cores: CoreShare | None = None  #: the CPU's cores, shared by the batches of the CPU models
        self._reader_views: Callable[[ReaderSettings], Any] = lambda settings: None
        self.wal: Any = None
        self.write_lock = threading.Lock()
        self._changes = threading.Lock()  # guards loading and errors
        self.loading: list[str] = self._planned()
        self.errors: dict[str, str] = {}
        self._dirty_since: float | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _planned(self) -> list[str]:
        config, planned = self.config, []
        if config.store is not None or config.pipeline is not None:
            planned.append("store")  # its pipeline's components are planned once the pipeline is read
        elif config.model is not None:
            planned.append(READER)
        if config.fill_mask_model is not None:
            planned.append(FILL_MASK)
        return planned

    # ---------------------------------------------------------------------------------------- loading
    def start(self) -> None:
        self._spawn("docqa-loader", self._load_all)
        self._spawn("docqa-checkpointer", self._checkpoint_loop)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _load_all(self) -> None:
        if "store" in self.loading:
            self._step("store", self._load_store)
        if READER in self.loading and self.qa is None:
            self._step(READER, self._load_reader)
        for name in self._pipeline_names():
            self._step(name, functools.partial(self._warm_component, name))
        if DOCUMENT_EMBEDDER in self.loading:
            self._step(DOCUMENT_EMBEDDER, self._load_document_embedder)
        if FILL_MASK in self.loading:
            self._step(FILL_MASK, self._load_fill_mask)

    def _step(self, name: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as error:  # reported by /ready, /health and the endpoints needing it
            message = str(error) if isinstance(error, DocqaError) else f"{type(error).__name__}: {error}"
            with self._changes:
                self.errors[name] = message.splitlines()[0] if message else type(error).__name__
            logger.error("docqa serve: loading the %s failed: %s", name, self.errors[name])
        finally:
            with self._changes:
                self.loading.remove(name)

    def _pipeline_names(self) -> list[str]:
        return list(self.qa.pipeline.components) if self.qa is not None else []

    def _load_store(self) -> None:
        from docqa.core.pipeline import Pipeline
        from docqa.pipelines import ExtractiveQAPipeline

        config = self.config
        if config.pipeline is not None:
            reader = {key: value for key, value in (("model", config.model), ("dtype", config.dtype)) if value}
            overrides = {"reader": reader} if reader else None
            pipeline = Pipeline.load(config.pipeline, overrides=overrides, allowed_modules=config.allowed_modules)
            qa = ExtractiveQAPipeline.from_pipeline(pipeline)
            stores = list(pipeline.document_stores.values())
            store = stores[0] if stores else None
        else:
            assert config.store is not None
            store = open_served_store(config.store)
            model = config.model or _default_reader()
            qa = ExtractiveQAPipeline.bm25(
                store,
                model=model,
                retriever_top_k=config.retriever_top_k,
                reader_parameters={"dtype": config.dtype or "auto"},
            )
        if store is not None:
            self._attach_log(store)
        self.store, self.qa, self.reader_name = store, qa, qa.reader
        extra = [DOCUMENT_EMBEDDER] if getattr(store, "embedding_model", None) is not None else []
        with self._changes:  # planned before "store" is done: /ready never flickers to 200
            after = self.loading.index("store") + 1
            self.loading[after:after] = [*qa.pipeline.components, *extra]

    def _attach_log(self, store: Any) -> None:
        """Give an in-memory store with a path its write-ahead log (saving it first if it was never saved). Other
        stores (PostgreSQL) are durable themselves: writes go straight to them, with no log and no checkpoint."""
        from docqa.document_stores.in_memory import InMemoryDocumentStore
        from docqa.document_stores.wal import WriteAheadLog

        if not isinstance(store, InMemoryDocumentStore) or store.path is None or self.config.read_only:
            return
        if not (Path(store.path) / "manifest.json").is_file():
            store.save()
        self.wal = WriteAheadLog.attach(store, holder=f"docqa serve (pid {os.getpid()})")

    def _warm_component(self, name: str) -> None:
        """Load one component of the served pipeline; one with ``run_batch`` gets a micro-batcher."""
        component = self.qa.pipeline.get_component(name)
        component.warm_up()
        if callable(getattr(component, "run_batch", None)):
            self._serve_model(name, component)
            self.overrides[name] = BatchedComponent(component, self.batchers[name])

    def _load_reader(self) -> None:
        from docqa.readers.extractive_reader import ExtractiveReader

        reader = ExtractiveReader(model=self.config.model or _default_reader(), dtype=self.config.dtype or "auto")
        reader.warm_up()
        self._serve_model(READER, reader)

    def _load_fill_mask(self) -> None:
        from docqa.fill_mask import FillMask

        fill_mask = FillMask(model=str(self.config.fill_mask_model), dtype=self.config.dtype or "auto")
        fill_mask.warm_up()
        self._serve_model(FILL_MASK, fill_mask)

    def _load_document_embedder(self) -> None:
        from docqa.embedders import SentenceTransformersDocumentEmbedder

        embedder = SentenceTransformersDocumentEmbedder(model=self.store.embedding_model, progress_bar=False)
        embedder.warm_up()
        self._serve_model(DOCUMENT_EMBEDDER, embedder)

    def _serve_model(self, name: str, model: Any) -> None:
        """Make ``model`` servable: its micro-batcher (and its queue depth in the metrics)."""
        batching = self.config.batching
        batcher = MicroBatcher(
            name,
            run_jobs,
            max_batch=batching.batch_limit(_device_type(model)),
            max_wait_ms=batching.max_wait_ms,
            max_queue=batching.max_queue,
            on_batch=self.metrics.observe_batch,
            cores=self._cpu_cores() if _torch_on_cpu(model) else None,
        )
        self.metrics.track_queue(name, lambda: batcher.depth)
        self.batchers[name] = batcher
        self.models[name] = model
        if name == self.reader_name:
            self._reader_views = functools.lru_cache(maxsize=_READER_VIEWS)(model.with_settings)

    def _cpu_cores(self) -> CoreShare:
        """The cores PyTorch's CPU models share (as many as its intra-op threads: every core, unless
        ``OMP_NUM_THREADS`` or ``torch.set_num_threads`` said fewer)."""
        if self.cores is None:
            import torch

            self.cores = CoreShare(torch.get_num_threads())
        return self.cores

    # ------------------------------------------------------------------------------------------ access
    @property
    def ready(self) -> bool:
        return not self.loading and not self.errors

    def need(self, *names: str) -> None:
        """Raise unless every one of ``names`` (the store, a model) is loaded."""
        with self._changes:
            loading, errors = set(self.loading), dict(self.errors)
        for name in names:
            known = self.store is not None if name == "store" else name in self.models or name in self._pipeline_names()
            if not known and name not in loading and name not in errors and "store" in loading | errors.keys():
                name = "store"  # the pipeline's models are known once the store's pipeline is read
            if name in loading:
                raise NotReady(f"the {name} is still loading: retry shortly (see GET /ready)")
            if name in errors:
                raise LoadFailed(f"the {name} failed to load: {errors[name]}")
            if not known:
                raise Unavailable(_MISSING.get(name, f"this server has no {name}"))

    def need_pipeline(self) -> None:
        """Raise unless the served pipeline, its store and every one of its components are loaded."""
        self.need("store")
        self.need(*self._pipeline_names())

    def reader(self, settings: ReaderSettings) -> BatchedComponent:
        """The served reader with a request's ``settings`` (a view sharing the loaded model, one per distinct
        settings, so that requests asking for the same settings share batches), through its micro-batcher."""
        name = self.reader_name
        self.need(name)
        view = self._reader_views(settings)
        return BatchedComponent(view, self.batchers[name])

    def pipeline_batchers(self) -> list[MicroBatcher]:
        return [self.batchers[name] for name in self.overrides]

    @property
    def writes_allowed(self) -> bool:
        """Whether this server takes writes: not ``--read-only``, and a store that keeps them (not an in-memory
        store without a directory, whose writes would be lost at exit)."""
        from docqa.document_stores.in_memory import InMemoryDocumentStore

        volatile = isinstance(self.store, InMemoryDocumentStore) and self.store.path is None
        return self.config.writes_possible and not volatile

    async def answer(
        self, queries: list[str], *, top_k: int | None, filters: dict[str, Any] | None, group_by: str | None
    ) -> list[dict[str, Any]]:
        """The served pipeline run whole for ``queries``: ``{"answers", "documents"}`` per query; ``top_k`` and
        ``group_by`` (``None``: the served pipeline's) are asked of the reader."""
        overrides = {name: proxy.run_batch for name, proxy in self.overrides.items()}
        return await self.qa.run_batch_async(
            queries, top_k_reader=top_k, filters=filters, group_by=group_by, overrides=overrides
        )

    async def write(self, documents: list[Document], policy: str) -> int:
        """Embed ``documents`` when the store has an embedding model (batched, holding no lock), then write them."""
        if self.store.embedding_model is not None and documents:
            self.need(DOCUMENT_EMBEDDER)
            embedder = self.models[DOCUMENT_EMBEDDER]
            job = BatchJob(embedder.run, {"documents": documents})
            documents = (await self.batchers[DOCUMENT_EMBEDDER].run(job, job.size))["documents"]
        return await asyncio.to_thread(self._write, documents, policy)

    def _write(self, documents: list[Document], policy: str) -> int:
        with self.write_lock:
            written = int(self.store.write_documents(documents, policy=policy))
            self._touched()
        return written

    def delete(self, ids: list[str] | None, filters: dict[str, Any] | None) -> int:
        """Delete by ``ids``, by ``filters``, or everything when both are None; how many were deleted."""
        with self.write_lock:
            before = self.store.count_documents()
            if ids is None:
                ids = [doc.id for doc in self.store.filter_documents(filters, return_embedding=False)]
            self.store.delete_documents(ids)
            self._touched()
            return int(before - self.store.count_documents())

    def _touched(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = time.monotonic()

    # ------------------------------------------------------------------------------------- checkpoints
    def _checkpoint_loop(self) -> None:
        while not self._stop.wait(0.5):
            if self._checkpoint_due():
                self.checkpoint()

    def _checkpoint_due(self) -> bool:
        if self.wal is None or self._dirty_since is None:
            return False
        too_old = time.monotonic() - self._dirty_since >= self.config.checkpoint_seconds
        return too_old or self.wal.size_bytes >= self.config.checkpoint_bytes

    def checkpoint(self) -> None:
        """Fold the write-ahead log into a new snapshot; writes wait meanwhile, queries do not (the store's own
        lock is held only while it compacts; saving then only reads the store)."""
        if self.wal is None:
            return
        with self.write_lock:
            self.store.compact()
            try:
                self.wal.checkpoint(self.store)
                self._dirty_since = None
            except (DocqaError, OSError) as error:  # the log still holds every change: nothing is lost
                logger.error("docqa serve: checkpoint failed: %s", error)

    def close(self) -> None:
        self._stop.set()
        if self._dirty_since is not None:
            self.checkpoint()
        for batcher in self.batchers.values():
            batcher.close()
        if self.cores is not None:
            self.cores.close()
        if self.wal is not None:
            with self.write_lock:
                self.wal.close()  # releases the store's writer lock
        close_store = getattr(self.store, "close", None)
        if callable(close_store):  # a PostgreSQL store's connection pool
            close_store()


def _torch_on_cpu(model: Any) -> bool:
    """Whether ``model`` runs PyTorch on the CPU (not an ONNX Runtime reader, which keeps its own threads)."""
    return getattr(model, "backend", "torch") != "onnx" and _device_type(model) == "cpu"


def _device_type(model: Any) -> str:
    """The type of device ``model`` runs on (``"cpu"``, ``"cuda"``, ``"mps"``): its ``device`` setting resolved
    (``"auto"`` is the best device present), the CPU for an ONNX reader and for a model without one."""
    from docqa.hub import resolve_device

    if getattr(model, "backend", "torch") == "onnx" or not isinstance(getattr(model, "device", None), str):
        return "cpu"
    return resolve_device(model.device).partition(":")[0]


_MISSING = {
    "store": "this server has no document store: start docqa serve with --store DIR|DSN or --pipeline FILE",
    READER: "this server has no reader: start docqa serve with --model M",
    FILL_MASK: "this server has no fill-mask model: start docqa serve with --fill-mask-model M",
    DOCUMENT_EMBEDDER: "the store has no embedding model",
}


def open_served_store(spec: str) -> Any:
    """The store ``docqa serve --store`` names: a PostgreSQL DSN (``postgresql://...``, ``env:VAR``) opened as
    every command opens one (:func:`~docqa.document_stores.opening.open_document_store`), or a store directory,
    loaded, or created where there is none yet."""
    from docqa.document_stores.in_memory import InMemoryDocumentStore
    from docqa.document_stores.opening import open_document_store
    from docqa.document_stores.postgres import is_postgres_spec

    if is_postgres_spec(spec):
        return open_document_store(spec)
    return InMemoryDocumentStore(path=spec)


def _default_reader() -> str:
    from docqa.readers.extractive_reader import DEFAULT_READER_MODEL

    return DEFAULT_READER_MODEL
