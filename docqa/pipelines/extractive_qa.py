"""Retrieval + extractive reading, ready made: question in, answers (and the passages read) out.

>>> from docqa import Document, InMemoryDocumentStore
>>> store = InMemoryDocumentStore()
>>> store.write_documents([Document("Paris is the capital of France.")])
1
>>> qa = ExtractiveQAPipeline.bm25(store, model="deepset/minilm-uncased-squad2")
>>> sorted(qa.pipeline.components)
['reader', 'retriever']

(``qa.run("What is the capital of France?")`` then downloads the model on first use.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from docqa.core.pipeline import AsyncRunBatch, Pipeline
from docqa.errors import PipelineError
from docqa.readers.extractive_reader import DEFAULT_READER_MODEL
from docqa.schema import Answer, Document

#: How questions asked through :meth:`ExtractiveQAPipeline.bm25` (``docqa ask``, ``docqa batch --store``) group the
#: reader's answers: by SQuAD-normalized text, asked per call, so that the reader itself keeps one answer per place
#: (``"span"``, as span decoders and the model cards answer, for ``/score``). Measured by bench/answer_ranking.py:
#: better answers open-domain and on gold paragraphs (see the README's "Answers").
QA_GROUP_BY = "text"

#: The reader's ``retriever_weight`` over docqa's BM25: answer score + 0.5 x (passage's BM25 score - the best
#: passage's). Chosen by bench/answer_ranking.py on articles 13-14 of the SQuAD 2.0 dev half and checked on 15-16
#: (always answering, answerable F1 41.9 against 29.6 without it; see the README's "Answers"). A weight is in the
#: units of one retriever's scores: other retrievers (dense, hybrid, a ranker) are not fused by default.
BM25_RETRIEVER_WEIGHT = 0.5


def build_extractive_qa_pipeline(
    retriever: Any, reader: Any, *, retriever_name: str = "retriever", reader_name: str = "reader"
) -> Pipeline:
    """A pipeline ``retriever.documents -> reader.documents``; ``query`` (flat input) reaches both."""
    pipeline = Pipeline()
    pipeline.add_component(retriever_name, retriever)
    pipeline.add_component(reader_name, reader)
    pipeline.connect(f"{retriever_name}.documents", f"{reader_name}.documents")
    return pipeline


def build_bm25_qa_pipeline(
    store: Any,
    *,
    model: str = DEFAULT_READER_MODEL,
    retriever_top_k: int = 10,
    reader_top_k: int = 5,
    reader_parameters: Mapping[str, Any] | None = None,
    store_name: str = "store",
) -> Pipeline:
    """BM25 over ``store`` feeding an :class:`~docqa.readers.ExtractiveReader` of ``model``: ``retriever_top_k``
    passages read, ``reader_top_k`` answers (and the no-answer entry) returned, the BM25 scores fused into the
    answers' (``retriever_weight`` :data:`BM25_RETRIEVER_WEIGHT`).

    ``reader_parameters`` passes further reader options (``no_answer``, ``group_by``, ``retriever_weight``,
    ``device``...).
    """
    from docqa.readers.extractive_reader import ExtractiveReader
    from docqa.retrievers.bm25_retriever import BM25Retriever

    parameters = {"retriever_weight": BM25_RETRIEVER_WEIGHT, **dict(reader_parameters or {})}
    reader = ExtractiveReader(model=model, top_k=reader_top_k, **parameters)
    pipeline = build_extractive_qa_pipeline(BM25Retriever(document_store=store, top_k=retriever_top_k), reader)
    pipeline.add_document_store(store_name, store)
    return pipeline


class ExtractiveQAPipeline:
    """A question-answering view of a pipeline whose reader ``reader`` outputs ``answers``.

    The query goes to every unconnected ``query`` input and to the ``text`` input of every query embedder
    (a component whose class name ends in ``TextEmbedder``), as in ``examples/hybrid_qa.yaml``.
    ``retrievers`` are the components that ``top_k_retriever`` and ``filters`` go to (default: every
    component whose class name ends in ``Retriever``). The documents returned are those the reader read.
    ``group_by`` (``"span"``, ``"text"``; ``None``: the reader's own setting) is asked of the reader with every
    question unless a call says otherwise.
    """

    def __init__(self, retriever: Any, reader: Any, *, group_by: str | None = None) -> None:
        self.pipeline = build_extractive_qa_pipeline(retriever, reader)
        self.reader = "reader"
        self.retrievers: list[str] = ["retriever"]
        self.query_embedders: list[str] = []
        self.group_by = group_by

    @classmethod
    def from_pipeline(
        cls,
        pipeline: Pipeline,
        *,
        reader: str = "reader",
        retrievers: Sequence[str] | None = None,
        group_by: str | None = None,
    ) -> ExtractiveQAPipeline:
        instance = cls.__new__(cls)
        instance.pipeline = pipeline
        instance.reader = reader
        instance.group_by = group_by
        pipeline.get_component(reader)
        if retrievers is None:
            retrievers = [n for n, c in pipeline.components.items() if type(c).__name__.endswith("Retriever")]
        for name in retrievers:
            pipeline.get_component(name)
        instance.retrievers = list(retrievers)
        free = pipeline.inputs()
        instance.query_embedders = [
            name
            for name, component in pipeline.components.items()
            if type(component).__name__.endswith("TextEmbedder") and "text" in free.get(name, {})
        ]
        return instance

    @classmethod
    def bm25(cls, store: Any, *, group_by: str | None = QA_GROUP_BY, **options: Any) -> ExtractiveQAPipeline:
        """BM25 + reader over ``store``, answers grouped by ``group_by`` (:data:`QA_GROUP_BY`); ``options`` as for
        :func:`build_bm25_qa_pipeline`."""
        return cls.from_pipeline(build_bm25_qa_pipeline(store, **options), group_by=group_by)

    @classmethod
    def load(
        cls, path: str | Path, *, reader: str = "reader", allowed_modules: Collection[str] = ()
    ) -> ExtractiveQAPipeline:
        """Wrap a pipeline file (see ``examples/bm25_qa.yaml``) whose reader component is named ``reader``."""
        return cls.from_pipeline(Pipeline.load(path, allowed_modules=allowed_modules), reader=reader)

    def _data(
        self,
        query: str,
        top_k_retriever: int | None,
        top_k_reader: int | None,
        filters: dict[str, Any] | None,
        group_by: str | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"query": query}
        for name in self.retrievers:
            options = {"top_k": top_k_retriever, "filters": filters}
            data[name] = {key: value for key, value in options.items() if value is not None}
        for name in self.query_embedders:
            data[name] = {"text": query}
        reader = {"top_k": top_k_reader, "group_by": self.group_by if group_by is None else group_by}
        if any(value is not None for value in reader.values()):
            data[self.reader] = {key: value for key, value in reader.items() if value is not None}
        return data

    def _feeder(self) -> tuple[str, str]:
        for connection in self.pipeline.connections:
            if connection.receiver == self.reader and connection.receiver_socket == "documents":
                return connection.sender, connection.sender_socket
        raise PipelineError(f"component '{self.reader}' has no connected 'documents' input")

    def _included(self, feeder: tuple[str, str]) -> set[str]:
        """The components whose outputs a run keeps: the one feeding the reader its passages, and the reader."""
        return {feeder[0], self.reader}

    def _answers(self, result: dict[str, Any], feeder: tuple[str, str]) -> dict[str, Any]:
        answers: list[Answer] = result[self.reader]["answers"]
        documents: list[Document] = result[feeder[0]][feeder[1]]
        return {"answers": answers, "documents": documents}

    def run(
        self,
        query: str,
        *,
        top_k_retriever: int | None = None,
        top_k_reader: int | None = None,
        filters: dict[str, Any] | None = None,
        group_by: str | None = None,
    ) -> dict[str, Any]:
        """``{"answers": list[Answer], "documents": list[Document]}`` for ``query``: ``top_k_reader`` answers
        (and the no-answer entry) from ``top_k_retriever`` passages; ``group_by`` (``"span"`` or ``"text"``)
        overrides the reader's."""
        feeder = self._feeder()
        data = self._data(query, top_k_retriever, top_k_reader, filters, group_by)
        return self._answers(self.pipeline.run(data, include_outputs_from=self._included(feeder)), feeder)

    def retrieve(
        self, query: str, *, top_k_retriever: int | None = None, filters: dict[str, Any] | None = None
    ) -> list[Document]:
        """The passages the reader would read for ``query``, without running (or loading) the reader."""
        sender, socket = self._feeder()
        data = self._data(query, top_k_retriever, None, filters)
        data.pop(self.reader, None)
        upstream = self.pipeline.upstream_of(sender)
        free_inputs = {socket for sockets in upstream.inputs().values() for socket in sockets}
        usable = {
            key: value
            for key, value in data.items()
            if key in upstream.components or (key not in self.pipeline.components and key in free_inputs)
        }
        return upstream.run(usable, include_outputs_from={sender})[sender][socket]

    def run_batch(
        self,
        queries: Sequence[str],
        *,
        top_k_retriever: int | None = None,
        top_k_reader: int | None = None,
        filters: dict[str, Any] | None = None,
        group_by: str | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`run` for many queries; the reader reads them in one batch."""
        feeder = self._feeder()
        data = [self._data(q, top_k_retriever, top_k_reader, filters, group_by) for q in queries]
        results = self.pipeline.run_batch(data, include_outputs_from=self._included(feeder))
        return [self._answers(result, feeder) for result in results]

    async def run_batch_async(
        self,
        queries: Sequence[str],
        *,
        top_k_retriever: int | None = None,
        top_k_reader: int | None = None,
        filters: dict[str, Any] | None = None,
        group_by: str | None = None,
        overrides: Mapping[str, AsyncRunBatch] | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`run_batch` on an event loop: the whole pipeline, the components named in ``overrides`` awaited
        through them (see :meth:`Pipeline.run_batch_async`), the others in worker threads."""
        feeder = self._feeder()
        data = [self._data(q, top_k_retriever, top_k_reader, filters, group_by) for q in queries]
        included = self._included(feeder)
        results = await self.pipeline.run_batch_async(data, include_outputs_from=included, overrides=overrides)
        return [self._answers(result, feeder) for result in results]

    def dumps(self) -> str:
        return self.pipeline.dumps()

    def dump(self, path: str | Path) -> None:
        self.pipeline.dump(path)
