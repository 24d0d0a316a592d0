"""What a running server holds: the store (behind one lock, with its write-ahead log), the models loading in the
background, their batchers, and the periodic checkpoint."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docqa.errors import DocqaError
from docqa.schema import Document
from docqa.server.batching import FillMaskRunner, MicroBatcher, ReaderRunner
from docqa.server.config import ServerConfig
from docqa.server.metrics import ServerMetrics

logger = logging.getLogger("docqa.server")


class NotReady(DocqaError):
    """A model or the store is still loading, or failed to load (HTTP 503)."""


class Unavailable(DocqaError):
    """The server was started without what this request needs (HTTP 400), e.g. no store for /query."""


class ServerState:
    """The server's resources; :meth:`start` loads them on a background thread so the server listens at once.

    Store access (retrieval, writes, deletes) is serialized by ``store_lock``: a query never sees a half-applied
    write. Writes, deletes and checkpoints also take ``write_lock``, one at a time: a checkpoint holds
    ``store_lock`` only to compact the store, and queries go on while it writes the snapshot (saving only reads
    the store). Model calls run outside both, on each model's batcher thread.
    """

    def __init__(self, config: ServerConfig, metrics: ServerMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.store: Any = None
        self.qa: Any = None
        self.reader: Any = None
        self.fill_mask: Any = None
        self.embedder: Any = None
        self.reader_batcher: MicroBatcher | None = None
        self.fill_mask_batcher: MicroBatcher | None = None
        self.wal: Any = None
        self.store_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.embed_lock = threading.Lock()
        self.loading: list[str] = self._planned()
        self.errors: dict[str, str] = {}
        self._dirty_since: float | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _planned(self) -> list[str]:
        planned = []
        if self.config.store is not None or self.config.pipeline is not None:
            planned.append("store")
        if self.config.model is not None or self.config.store is not None or self.config.pipeline is not None:
            planned.append("reader")
        if self.config.fill_mask_model is not None:
            planned.append("fill_mask")
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
        steps: list[tuple[str, Callable[[], None]]] = [
            ("store", self._load_store),
            ("reader", self._load_reader),
            ("fill_mask", self._load_fill_mask),
        ]
        for name, step in steps:
            if name in self.loading:
                self._step(name, step)
            if name == "store" and self.store is not None and self.store.embedding_model is not None:
                self.loading.append("embedder")  # planned before the reader is done: /ready never flickers to 200
        if "embedder" in self.loading:
            self._step("embedder", self._load_embedder)

    def _step(self, name: str, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as error:  # reported by /ready and the endpoints needing it
            message = str(error) if isinstance(error, DocqaError) else f"{type(error).__name__}: {error}"
            self.errors[name] = message.splitlines()[0] if message else type(error).__name__
            logger.error("docqa serve: loading the %s failed: %s", name, self.errors[name])
        finally:
            self.loading.remove(name)

    def _load_store(self) -> None:
        if self.config.pipeline is not None:
            self._load_pipeline()
            return
        from docqa.document_stores.in_memory import InMemoryDocumentStore
        from docqa.pipelines import ExtractiveQAPipeline

        assert self.config.store is not None
        directory = Path(self.config.store)
        store = InMemoryDocumentStore(path=str(directory))
        self._attach_log(store)
        self.qa = ExtractiveQAPipeline.bm25(
            store,
            model=self.config.model or _default_reader(),
            retriever_top_k=self.config.retriever_top_k,
            reader_parameters={"dtype": self.config.dtype or "auto"},
        )
        self.store = store

    def _load_pipeline(self) -> None:
        from docqa.core.pipeline import Pipeline
        from docqa.pipelines import ExtractiveQAPipeline

        assert self.config.pipeline is not None
        reader = {key: value for key, value in (("model", self.config.model), ("dtype", self.config.dtype)) if value}
        overrides = {"reader": reader} if reader else None
        pipeline = Pipeline.load(self.config.pipeline, overrides=overrides, allowed_modules=self.config.allowed_modules)
        self.qa = ExtractiveQAPipeline.from_pipeline(pipeline)
        stores = list(pipeline.document_stores.values())
        if stores:
            self._attach_log(stores[0])
            self.store = stores[0]

    def _attach_log(self, store: Any) -> None:
        """Give a store with a path its write-ahead log (saving it first if it was never saved)."""
        from docqa.document_stores.wal import WriteAheadLog

        if getattr(store, "path", None) is None or self.config.read_only or not hasattr(store, "wal"):
            return
        if not (Path(store.path) / "manifest.json").is_file():
            store.save()
        self.wal = WriteAheadLog.attach(store, holder=f"docqa serve (pid {os.getpid()})")

    def _load_reader(self) -> None:
        if self.qa is not None:
            reader = self.qa.pipeline.get_component(self.qa.reader)
        else:
            from docqa.readers.extractive_reader import ExtractiveReader

            reader = ExtractiveReader(model=self.config.model or _default_reader(), dtype=self.config.dtype or "auto")
        reader.warm_up()
        self.reader = reader
        self.reader_batcher = self._batcher("reader", ReaderRunner(reader))

    def _load_fill_mask(self) -> None:
        from docqa.fill_mask import FillMask

        fill_mask = FillMask(model=str(self.config.fill_mask_model), dtype=self.config.dtype or "auto")
        fill_mask.warm_up()
        self.fill_mask = fill_mask
        self.fill_mask_batcher = self._batcher("fill_mask", FillMaskRunner(fill_mask))

    def _load_embedder(self) -> None:
        from docqa.embedders import SentenceTransformersDocumentEmbedder

        embedder = SentenceTransformersDocumentEmbedder(model=self.store.embedding_model)
        embedder.warm_up()
        self.embedder = embedder

    def _batcher(self, name: str, runner: Callable[[list[Any]], list[Any]]) -> MicroBatcher:
        batching = self.config.batching
        batcher = MicroBatcher(
            name,
            runner,
            max_batch=batching.max_batch,
            max_wait_ms=batching.max_wait_ms,
            max_queue=batching.max_queue,
            on_batch=self.metrics.observe_batch,
        )
        self.metrics.track_queue(name, lambda: batcher.depth)
        return batcher

    # ------------------------------------------------------------------------------------------ access
    @property
    def ready(self) -> bool:
        return not self.loading and not self.errors

    def need(self, *names: str) -> None:
        """Raise unless every one of ``names`` (store, reader, fill_mask, embedder) is loaded."""
        for name in names:
            if name in self.loading:
                raise NotReady(f"the {name.replace('_', '-')} is still loading: retry shortly (see GET /ready)")
            if name in self.errors:
                raise NotReady(f"the {name.replace('_', '-')} failed to load: {self.errors[name]}")
            if getattr(self, name) is None:
                raise Unavailable(_MISSING[name])

    @property
    def writes_allowed(self) -> bool:
        return self.config.writes_possible and (self.store is None or getattr(self.store, "path", None) is not None)

    def retrieve(self, queries: list[str], top_k: int | None, filters: dict[str, Any] | None) -> list[list[Document]]:
        """The passages the reader reads for each query, retrieved under the store lock."""
        with self.store_lock:
            return [self.qa.retrieve(query, top_k_retriever=top_k, filters=filters) for query in queries]

    def write(self, documents: list[Document], policy: str) -> int:
        if self.store.embedding_model is not None and documents:
            documents = self._embedded(documents)
        with self.write_lock, self.store_lock:
            written = int(self.store.write_documents(documents, policy=policy))
            self._touched()
        return written

    def _embedded(self, documents: list[Document]) -> list[Document]:
        self.need("embedder")
        with self.embed_lock:
            return list(self.embedder.run(documents=documents)["documents"])

    def delete(self, ids: list[str] | None, filters: dict[str, Any] | None) -> int:
        with self.write_lock, self.store_lock:
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
        """Fold the write-ahead log into a new snapshot; writes wait meanwhile, queries do not."""
        if self.wal is None:
            return
        with self.write_lock:
            with self.store_lock:
                self.store.compact()  # the one step of a save that changes the store
            try:
                self.wal.checkpoint(self.store)
                self._dirty_since = None
            except (DocqaError, OSError) as error:  # the log still holds every change: nothing is lost
                logger.error("docqa serve: checkpoint failed: %s", error)

    def close(self) -> None:
        self._stop.set()
        if self._dirty_since is not None:
            self.checkpoint()
        for batcher in (self.reader_batcher, self.fill_mask_batcher):
            if batcher is not None:
                batcher.close()
        if self.wal is not None:
            with self.write_lock:
                self.wal.close()  # releases the store's writer lock


_MISSING = {
    "store": "this server has no document store: start docqa serve with --store DIR or --pipeline FILE",
    "reader": "this server has no reader: start docqa serve with --model M",
    "fill_mask": "this server has no fill-mask model: start docqa serve with --fill-mask-model M",
    "embedder": "the store has no embedding model",
}


def _default_reader() -> str:
    from docqa.readers.extractive_reader import DEFAULT_READER_MODEL

    return DEFAULT_READER_MODEL
